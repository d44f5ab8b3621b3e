// The gateway's presence reporter against a real etcd, over the gateway's own gRPC client: a
// gateway applying changes all the time keeps its lease (a put does not extend it), and a lease
// that ends behind its back is replaced, the record written again.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Etcd3 } from "etcd3";
import { silentLogger } from "../../common/log.ts";
import { cleanup, testEtcd, uniqueName } from "../../e2e/harness.ts";
import { waitFor } from "../../e2e/proc.ts";
import { decodePresence, type GatewayPresence } from "../../registry/heartbeat/presence.ts";
import { presenceKey } from "../../registry/keys.ts";
import { grpcRegistryClient } from "../../registry/watcher/clients/grpc/index.ts";
import { createPresence } from "./presence.ts";

const url = await testEtcd();
const etcd = new Etcd3({ hosts: url });
const client = grpcRegistryClient({ endpoints: [url] });
cleanup(async () => {
  await client.close();
  etcd.close();
});

/** A reporter for a fresh key whose applied revision the test sets; runs until the test ends. */
const reporter = (ttlSeconds: number) => {
  const cluster = uniqueName("presence");
  const key = presenceKey(cluster, "gw-1");
  let appliedRevision = 1;
  const current = (): GatewayPresence => ({
    id: "gw-1",
    cluster,
    version: "test",
    appliedRevision,
    appliedAt: "2026-11-30T00:00:00.000Z",
    startedAt: "2026-11-30T00:00:00.000Z",
  });
  const presence = createPresence({
    client,
    key,
    ttlSeconds,
    current,
    log: silentLogger(),
    minIntervalMs: 50,
  });
  const abort = new AbortController();
  const running = presence.run(abort.signal);
  cleanup(async () => {
    abort.abort();
    await running;
  });
  const stored = async (): Promise<{ revision: number; lease: string } | undefined> => {
    const [kv] = (await etcd.get(key).exec()).kvs;
    return kv ? { revision: decodePresence(kv.value, "gw-1").appliedRevision, lease: kv.lease } : undefined;
  };
  const apply = (revision: number): void => {
    appliedRevision = revision;
    presence.changed();
  };
  return { key, stored, apply };
};

test("a gateway applying changes all the time keeps its record past the lease's TTL", async () => {
  const r = reporter(3);
  await waitFor("the first record", async () => ((await r.stored()) ? true : undefined));
  const deletions: string[] = [];
  const watcher = await etcd.watch().key(r.key).create();
  cleanup(() => watcher.cancel());
  watcher.on("delete", () => deletions.push("delete"));
  // Five seconds of a change every 20 ms, more often than the reporter writes (every 50 ms):
  // longer than the 3 s lease, with a put at every pass.
  for (let revision = 2; revision <= 250; revision++) {
    r.apply(revision);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await waitFor("the last revision to be written", async () =>
    (await r.stored())?.revision === 250 ? true : undefined,
  );
  assert.deepEqual(deletions, [], "the record never expired");
});

test("a lease that ends behind the gateway's back is replaced and the record written again", async () => {
  const r = reporter(30);
  await waitFor("the first record", async () => ((await r.stored()) ? true : undefined));
  const first = await r.stored();
  await client.revokeLease(BigInt(first?.lease ?? "0"), 5_000);
  assert.equal(await r.stored(), undefined, "revoking the lease deleted the record");
  r.apply(7);
  const again = await waitFor("the record to be written again", async () => {
    const s = await r.stored();
    return s?.revision === 7 ? s : undefined;
  });
  assert.notEqual(again.lease, first?.lease, "under a new lease");
});
