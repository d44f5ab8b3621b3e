// The registry client contract (registry/watcher/client.ts), one suite for every implementation,
// against real etcd servers: paged ranges at one revision, watches replaying past events and
// following live ones, compaction, an etcd killed and restarted, TLS with client certificates
// (etcd's auth off: ../watcher/clients/clients.int.test.ts shows why), and cancellation.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { Etcd3 } from "etcd3";
import { cleanup, testEtcd, uniqueName } from "../../e2e/harness.ts";
import { waitFor } from "../../e2e/proc.ts";
import { REGISTRY_ROOT, startSecureEtcd } from "../../e2e/secure-etcd.ts";
import { repoRoot } from "../../e2e/tools.ts";
import { REGISTRY_PREFIX } from "../keys.ts";
import { keyRange, prefixRange, type RegistryClient, type WatchStreamEnd } from "../watcher/client.ts";
import { listPrefix } from "../watcher/list.ts";
import type { WatchEvent } from "../watcher/store.ts";
import { ownEtcd } from "./faults.ts";
import { clientOf } from "./watcher.ts";

export interface ClientSettings {
  endpoints: string[];
  tls?: { ca: string; cert?: string; key?: string };
}

/** Makes a client of one implementation; the suite closes nothing itself: the factory registers its cleanup. */
export type ClientFactory = (settings: ClientSettings) => RegistryClient;

interface Recorded {
  created: number[];
  events: WatchEvent[];
  revisions: number[];
  ends: WatchStreamEnd[];
}

const record = (client: RegistryClient, prefix: string, fromRevision: number) => {
  const seen: Recorded = { created: [], events: [], revisions: [], ends: [] };
  const stream = client.watch(
    { range: prefixRange(prefix), fromRevision },
    {
      onCreated: (revision) => seen.created.push(revision),
      onResponse: (events, revision) => {
        seen.events.push(...events);
        seen.revisions.push(revision);
      },
      onEnd: (end) => seen.ends.push(end),
    },
  );
  cleanup(() => void stream.cancel());
  return { seen, stream };
};

const until = <T>(what: string, check: () => T | undefined, timeoutMs = 15_000): Promise<T> =>
  waitFor(what, async () => check(), { timeoutMs, intervalMs: 20 });

const put = async (etcd: Etcd3, key: string, value: string): Promise<number> =>
  Number((await etcd.put(key).value(value).exec()).header.revision);

const del = async (etcd: Etcd3, key: string): Promise<number> =>
  Number((await etcd.delete().key(key).exec()).header.revision);

const brief = (events: WatchEvent[]) =>
  events.map((e) => `${e.type} ${e.key.split("/").at(-1)}=${e.value.toString()}@${e.modRevision}`);

/** Registers the contract's tests for the client `make` creates, named after `name`. */
export const registryClientContract = (name: string, make: ClientFactory): void => {
  const opts = { timeout: 60_000 };

  test(
    `${name}: a paged range reads one revision, with its header revision and cluster id`,
    opts,
    async () => {
      const url = await testEtcd();
      const etcd = clientOf(url);
      const prefix = `${REGISTRY_PREFIX}contract/${uniqueName("range")}/`;
      cleanup(async () => void (await etcd.delete().prefix(prefix)));
      for (let i = 1; i <= 5; i++) await put(etcd, `${prefix}k${i}`, `v${i}`);
      const client = make({ endpoints: [url] });
      const at = await listPrefix(client, prefix, { pageSize: 2 });
      // etcd is shared with tests running beside this one: revisions are compared as bounds.
      await put(etcd, `${prefix}k6`, "v6");
      const deleted = await del(etcd, `${prefix}k1`);
      const again = await client.range({
        ...prefixRange(prefix),
        limit: 2,
        revision: at.revision,
        timeoutMs: 5_000,
      });
      const { header } = await etcd.get(prefix).exec();
      assert.deepEqual(
        at.kvs.map((kv) => `${kv.key.slice(prefix.length)}=${kv.value.toString()}`),
        ["k1=v1", "k2=v2", "k3=v3", "k4=v4", "k5=v5"],
      );
      assert.equal(at.clusterId, header.cluster_id);
      assert.deepEqual(
        { keys: again.kvs.map((kv) => kv.key.slice(prefix.length)), more: again.more },
        { keys: ["k1", "k2"], more: true },
        "the old revision's keys",
      );
      assert.ok(
        again.revision >= deleted && again.revision <= Number(header.revision),
        `the header says etcd's current revision: ${again.revision} within [${deleted}, ${header.revision}]`,
      );
      const empty = await listPrefix(client, `${prefix}none/`);
      assert.deepEqual(empty.kvs, []);
      assert.ok(empty.revision > at.revision);
      const read = await client.read(`${prefix}k3`, 5_000);
      const after = (await etcd.get(prefix).exec()).header;
      assert.equal(read.clusterId, header.cluster_id);
      assert.ok(
        read.revision >= Number(header.revision) && read.revision <= Number(after.revision),
        `read answers etcd's current revision: ${read.revision} within [${header.revision}, ${after.revision}]`,
      );
    },
  );

  test(
    `${name}: a page of 2 MiB (over a hundred HTTP/2 frames, for gRPC) arrives whole and byte for byte`,
    opts,
    async () => {
      const url = await testEtcd();
      const etcd = clientOf(url);
      const prefix = `${REGISTRY_PREFIX}contract/${uniqueName("big")}/`;
      cleanup(async () => void (await etcd.delete().prefix(prefix)));
      // Values differ in every byte position, so that a chunk joined out of place shows.
      const value = (i: number) =>
        Buffer.from(Array.from({ length: 64 * 1024 }, (_, j) => (i * 31 + j) % 251));
      for (let i = 0; i < 32; i++) await etcd.put(`${prefix}k${String(i).padStart(2, "0")}`).value(value(i));
      const client = make({ endpoints: [url] });
      const page = await client.range({
        ...prefixRange(prefix),
        limit: 100,
        timeoutMs: 10_000,
      });
      assert.equal(page.kvs.length, 32);
      page.kvs.forEach((kv, i) => {
        assert.equal(kv.key, `${prefix}k${String(i).padStart(2, "0")}`);
        assert.ok(kv.value.equals(value(i)), `value ${i}`);
      });
    },
  );

  test(`${name}: a watch of one key's range sees that key alone, not the keys it begins`, opts, async () => {
    const url = await testEtcd();
    const etcd = clientOf(url);
    const prefix = `${REGISTRY_PREFIX}contract/${uniqueName("one-key")}/`;
    cleanup(async () => void (await etcd.delete().prefix(prefix)));
    const from = await put(etcd, `${prefix}vpn-2`, "longer");
    const client = make({ endpoints: [url] });
    const seen: WatchEvent[] = [];
    const stream = client.watch(
      { range: keyRange(`${prefix}vpn`), fromRevision: from },
      { onCreated: () => {}, onResponse: (events) => seen.push(...events), onEnd: () => {} },
    );
    cleanup(() => void stream.cancel());
    await put(etcd, `${prefix}vpn/child`, "below");
    await put(etcd, `${prefix}vpn`, "mine");
    await until("the key's put", () => (seen.length > 0 ? true : undefined));
    assert.deepEqual(
      seen.map((e) => `${e.key.slice(prefix.length)}=${e.value.toString()}`),
      ["vpn=mine"],
    );
  });

  test(
    `${name}: a watch replays past puts and deletes from its revision, then follows; cancel stops it`,
    opts,
    async () => {
      const url = await testEtcd();
      const etcd = clientOf(url);
      const prefix = `${REGISTRY_PREFIX}contract/${uniqueName("watch")}/`;
      cleanup(async () => void (await etcd.delete().prefix(prefix)));
      await put(etcd, `${prefix}before`, "x");
      const from = await put(etcd, `${prefix}a`, "1");
      const putB = await put(etcd, `${prefix}b`, "2");
      const deleteA = await del(etcd, `${prefix}a`);
      await put(etcd, `${REGISTRY_PREFIX}contract/elsewhere`, "not mine");
      const client = make({ endpoints: [url] });
      const { seen, stream } = record(client, prefix, from);
      await until("created", () => seen.created[0]);
      const live = await put(etcd, `${prefix}c`, "3");
      await until("four events", () => (seen.events.length >= 4 ? true : undefined));
      assert.deepEqual(brief(seen.events), [
        `put a=1@${from}`,
        `put b=2@${putB}`,
        `delete a=@${deleteA}`,
        `put c=3@${live}`,
      ]);
      assert.ok((seen.revisions.at(-1) ?? 0) >= live, "header revisions reach the events'");
      assert.equal(await stream.cancel(), "");
      await put(etcd, `${prefix}d`, "4");
      await etcd.get(prefix).exec();
      await new Promise((r) => setTimeout(r, 300)); // what a cancelled watch would have delivered by now
      assert.equal(seen.events.length, 4, "nothing after cancel");
      assert.deepEqual(seen.ends, [], "cancel is not an end");
    },
  );

  test(`${name}: a watch from a compacted revision ends as canceled; a range there fails`, opts, async () => {
    // An etcd of its own: compacting the shared one could cut other tests' watches.
    const own = await ownEtcd();
    await own.start();
    const url = own.url;
    const etcd = clientOf(url);
    const prefix = `${REGISTRY_PREFIX}contract/${uniqueName("compact")}/`;
    cleanup(async () => void (await etcd.delete().prefix(prefix)));
    const old = await put(etcd, `${prefix}a`, "1");
    const now = await put(etcd, `${prefix}a`, "2");
    await etcd.kv.compact({ revision: String(now) });
    const client = make({ endpoints: [url] });
    const { seen } = record(client, prefix, old);
    const [end] = await until("the watch to end", () => (seen.ends.length > 0 ? seen.ends : undefined));
    assert.equal(end?.reason, "watch_canceled", "only a re-list recovers");
    assert.match(end?.detail ?? "", /watcher error: Watcher canceled/);
    assert.deepEqual(seen.events, []);
    await assert.rejects(
      client.range({
        ...prefixRange(prefix),
        limit: 1,
        revision: old,
        timeoutMs: 5_000,
      }),
      /compacted/,
    );
  });

  test(
    `${name}: an etcd killed ends the watch and fails reads; restarted, it answers again`,
    opts,
    async () => {
      const own = await ownEtcd();
      await own.start();
      const client = make({ endpoints: [own.url] });
      const first = await client.read(REGISTRY_PREFIX, 5_000);
      const { seen } = record(client, REGISTRY_PREFIX, first.revision + 1);
      await until("created", () => seen.created[0]);
      await own.kill();
      const [end] = await until("the watch to end", () => (seen.ends.length > 0 ? seen.ends : undefined));
      assert.equal(end?.reason, "watch_error");
      await assert.rejects(client.read(REGISTRY_PREFIX, 2_000));
      await own.start();
      // etcd3 refuses requests for 5 s after failures (its circuit breaker): retried until then.
      const again = await waitFor(
        "a read after the restart",
        () => client.read(REGISTRY_PREFIX, 2_000).catch(() => undefined),
        { timeoutMs: 20_000, intervalMs: 200 },
      );
      assert.equal(again.clusterId, first.clusterId);
    },
  );

  test(`${name}: TLS with a client certificate (etcd auth off) lists and watches`, opts, async () => {
    mkdirSync(join(repoRoot, ".work"), { recursive: true });
    const dir = mkdtempSync(join(repoRoot, ".work", "contract-tls-"));
    const secure = await startSecureEtcd(dir, ["east"], { auth: false });
    cleanup(() => secure.stop());
    const writer = secure.client("east");
    cleanup(() => writer.close());
    const key = `${REGISTRY_ROOT}clusters/east/vpns/one`;
    const revision = await put(writer, key, "v");
    const pair = await secure.credentials("gateway");
    const client = make({
      endpoints: [secure.url],
      tls: { ca: secure.ca.cert, cert: pair.cert, key: pair.key },
    });
    const listing = await listPrefix(client, REGISTRY_ROOT);
    assert.deepEqual(
      listing.kvs.map((kv) => kv.key),
      [key],
    );
    const { seen } = record(client, REGISTRY_ROOT, revision);
    await until("the replayed put", () => (seen.events.length > 0 ? true : undefined));
    assert.deepEqual(brief(seen.events), [`put one=v@${revision}`]);
    const anonymous = make({ endpoints: [secure.url], tls: { ca: secure.ca.cert } });
    await assert.rejects(anonymous.read(REGISTRY_ROOT, 5_000));
  });
};
