// The phases of a gateway's full resync, run one by one in this process with the product's own
// functions, to show which dominates: the paged list (at the watcher's page size and at a larger
// one: etcd counts the rest of the range for every page, so small pages cost more than their
// bytes), the first decode of every record, the diff of a re-list against the last snapshot
// (unchanged values reused, as after a watch failure), and the routing table build.
import { REGISTRY_PREFIX } from "../registry/keys.ts";
import type { RegistryClient } from "../registry/watcher/client.ts";
import { listPrefix } from "../registry/watcher/list.ts";
import { createRecordStore } from "../registry/watcher/store.ts";
import { buildRoutingTable } from "../sidecar/routing/index.ts";

export interface Phases {
  /** Seconds of each try, in order. */
  listSeconds: number[];
  listLargePagesSeconds: number[];
  largePageSize: number;
  decodeSeconds: number;
  diffSeconds: number[];
  buildSeconds: number[];
  keys: number;
}

const seconds = async (fn: () => unknown): Promise<number> => {
  const started = performance.now();
  await fn();
  return (performance.now() - started) / 1000;
};

const times = async (n: number, fn: () => unknown): Promise<number[]> => {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await seconds(fn));
  return out;
};

/** Times each resync phase over everything under the registry prefix, `tries` times (the first decode once); throws the client's errors. */
export const resyncPhases = async (
  client: RegistryClient,
  tries = 3,
  largePageSize = 5000,
): Promise<Phases> => {
  const listSeconds = await times(tries, () => listPrefix(client, REGISTRY_PREFIX));
  const listLargePagesSeconds = await times(tries, () =>
    listPrefix(client, REGISTRY_PREFIX, { pageSize: largePageSize }),
  );
  const listing = await listPrefix(client, REGISTRY_PREFIX, { pageSize: largePageSize });
  const store = createRecordStore({ onInvalid: () => {} });
  const decodeSeconds = await seconds(() => store.resync(listing));
  // A re-list finding one change (one key more than the last snapshot), as the bench's marker makes.
  const diffSeconds: number[] = [];
  for (let i = 0; i < tries; i++) {
    store.resync({ ...listing, kvs: listing.kvs.slice(1) });
    diffSeconds.push(await seconds(() => store.resync(listing)));
  }
  const snapshot = store.snapshot();
  const buildSeconds = snapshot ? await times(tries, () => buildRoutingTable(snapshot)) : [];
  return {
    listSeconds,
    listLargePagesSeconds,
    largePageSize,
    decodeSeconds,
    diffSeconds,
    buildSeconds,
    keys: listing.kvs.length,
  };
};
