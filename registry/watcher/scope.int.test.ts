// A watcher scoped to one VPN (a sidecar's) against an etcd of this file's own, so that what it
// reads can be counted exactly: its VPN's records of every cluster and every cluster's heartbeat,
// nothing of another VPN (not even one whose name starts with its own), clusters that appear
// later, a re-list after etcd was replaced that stays in scope, and an etcd restart after which
// each range's watch resumes from the revision it applied last, without a re-list.
import assert from "node:assert/strict";
import { test } from "node:test";
import { silentLogger } from "../../common/log.ts";
import { cleanup } from "../../e2e/harness.ts";
import { encodeHeartbeat, encodeRecord } from "../codec.ts";
import { heartbeatKey, leaderKey, recordKey } from "../keys.ts";
import { ownEtcd, startTcpProxy } from "../testing/faults.ts";
import { sampleFunction, sampleHeartbeat, sampleSubscription, sampleVpn } from "../testing/records.ts";
import { clientOf, holds, registryClientOf, view, waitForSnapshot } from "../testing/watcher.ts";
import type { RegistryRecord } from "../types.ts";
import type { RangeRequest, RegistryClient } from "./client.ts";
import { createRegistryWatcher } from "./index.ts";
import { scopeFilter } from "./scope.ts";

const etcd = await ownEtcd();
await etcd.start();
const admin = clientOf(etcd.url);

const write = async (...records: RegistryRecord[]): Promise<number> => {
  let revision = 0;
  for (const record of records)
    revision = Number(
      (await admin.put(recordKey(record)).value(encodeRecord(record)).exec()).header.revision,
    );
  return revision;
};

/** The registry client, with every range request and the keys it answered kept, and the keys of every watch event. */
const counting = (client: RegistryClient) => {
  const reads: { request: RangeRequest; keys: string[] }[] = [];
  const watched: string[] = [];
  const wrapped: RegistryClient = {
    range: async (request) => {
      const page = await client.range(request);
      reads.push({ request, keys: page.kvs.map((kv) => kv.key) });
      return page;
    },
    read: (key, timeoutMs) => client.read(key, timeoutMs),
    watch: (request, handlers) =>
      client.watch(request, {
        ...handlers,
        onResponse: (events, revision) => {
          watched.push(...events.map((event) => event.key));
          handlers.onResponse(events, revision);
        },
      }),
  };
  return { client: wrapped, reads, watched };
};

const scoped = (vpn: string, url = etcd.url) => {
  const { client, reads, watched } = counting(registryClientOf(url));
  const restarts: string[] = [];
  const resumes: string[] = [];
  const watcher = createRegistryWatcher({
    client,
    log: silentLogger(),
    scope: { vpn },
    onRestart: (end) => restarts.push(end.detail),
    onResumed: (end) => resumes.push(end.detail),
    clusterCheckMs: 200,
    baseBackoffMs: 50,
    maxBackoffMs: 500,
    probeIntervalMs: 250,
    requestTimeoutMs: 3_000,
  });
  const abort = new AbortController();
  const done = watcher.run(abort.signal);
  cleanup(async () => {
    abort.abort();
    await done;
  });
  return { watcher, reads, watched, restarts, resumes };
};

const byKey = (records: Iterable<[string, RegistryRecord]>): Record<string, RegistryRecord> =>
  Object.fromEntries(records);

test("a scoped watcher lists only its VPN's records of every cluster and the clusters' heartbeats", async () => {
  const vpn = "payments";
  const mine = [
    sampleVpn({ cluster: "east", vpn }),
    sampleFunction({ cluster: "east", vpn }),
    sampleSubscription({ cluster: "west", vpn }),
    sampleVpn({ cluster: "west", vpn }),
  ];
  // Another VPN, and one whose name starts with this one's: neither is in scope.
  const others = ["orders", "payments-2"].flatMap((other) => [
    sampleVpn({ cluster: "east", vpn: other }),
    sampleFunction({ cluster: "east", vpn: other }),
    sampleSubscription({ cluster: "west", vpn: other }),
  ]);
  await write(...others, ...mine);
  for (const cluster of ["east", "west"])
    await admin.put(heartbeatKey(cluster)).value(encodeHeartbeat(sampleHeartbeat({ cluster })));
  await admin.put(leaderKey("east")).value("{}");

  const { watcher, reads } = scoped(vpn);
  await watcher.ready;
  const snapshot = watcher.current();
  assert.deepEqual(byKey(snapshot?.records ?? []), view(...mine));
  assert.deepEqual([...(snapshot?.clusters.keys() ?? [])].sort(), ["east", "west"]);

  // What etcd sent: one key per cluster to find the clusters, then only keys in scope.
  const inScope = scopeFilter({ vpn });
  const discovery = reads.filter((r) => r.request.limit === 1);
  const ranges = reads.filter((r) => r.request.limit !== 1);
  assert.equal(discovery.filter((r) => r.keys.length === 1).length, 2, "one read per cluster");
  assert.deepEqual(
    ranges.flatMap((r) => r.keys).filter((key) => !inScope(key)),
    [],
    "no key outside the scope listed",
  );
  assert.equal(ranges.flatMap((r) => r.keys).length, mine.length + 2, "its records and two heartbeats");
  const revisions = new Set(reads.map((r) => r.request.revision).filter((r) => r !== undefined));
  assert.equal(revisions.size, 1, "every read after the first at the first one's revision");
});

test("a scoped watcher is sent its VPN's changes alone, follows them, and finds clusters that appear later", async () => {
  const vpn = "ledger";
  const vpnRecord = sampleVpn({ cluster: "east", vpn });
  await write(vpnRecord);
  const { watcher, watched } = scoped(vpn);
  await watcher.ready;

  // Changes in its VPN arrive through its watches; another VPN's (one whose name starts with its
  // own included) are never sent to it.
  await write(
    sampleSubscription({ cluster: "east", vpn: "ledger-archive" }),
    sampleVpn({ cluster: "east", vpn: "ledger-2" }),
  );
  const mine = sampleSubscription({ cluster: "east", vpn });
  await write(mine);
  await waitForSnapshot(watcher, (s) => s.records.has(recordKey(mine)));
  await admin.delete().key(recordKey(mine));
  await waitForSnapshot(watcher, (s) => !s.records.has(recordKey(mine)));
  const inScope = scopeFilter({ vpn });
  assert.deepEqual(
    watched.filter((key) => !inScope(key)),
    [],
    "no event outside the scope sent",
  );
  assert.deepEqual(watched, [recordKey(mine), recordKey(mine)], "the put and the delete");

  // A cluster that did not exist at the listing: found by the periodic check, then listed.
  const fromNewCluster = sampleSubscription({ cluster: "north", vpn });
  await admin.put(heartbeatKey("north")).value(encodeHeartbeat(sampleHeartbeat({ cluster: "north" })));
  await write(fromNewCluster);
  const seen = await waitForSnapshot(watcher, (s) => s.records.has(recordKey(fromNewCluster)));
  assert.equal(seen.clusters.has("north"), true, "the new cluster's heartbeat arrives too");
  assert.deepEqual(
    byKey([...seen.records].filter(([, r]) => r.vpn !== vpn)),
    {},
    "no other VPN's record held",
  );

  // And then watched like the others.
  const later = sampleFunction({ cluster: "north", vpn });
  await write(later);
  await waitForSnapshot(watcher, (s) => s.records.has(recordKey(later)));
  assert.ok(watched.includes(recordKey(later)), "through the watch of the new cluster's range");
});

test("a re-list after etcd was replaced reads the scope alone, with what the new etcd holds", async () => {
  const vpn = "refunds";
  const fn = sampleFunction({ cluster: "east", vpn });
  await write(fn);
  const proxy = await startTcpProxy(Number(new URL(etcd.url).port));
  cleanup(() => proxy.close());
  const { watcher, reads } = scoped(vpn, proxy.url);
  await watcher.ready;
  const listed = reads.length;

  // The watcher cut off while etcd is replaced by an empty one and written again: when it gets
  // through, it must re-list (lower revision, another cluster id), and read only its scope.
  proxy.block();
  await etcd.kill();
  await etcd.start(true);
  const fresh = clientOf(etcd.url);
  const sub = sampleSubscription({ cluster: "west", vpn });
  const other = sampleSubscription({ cluster: "west", vpn: "other" });
  for (const record of [sub, other]) await fresh.put(recordKey(record)).value(encodeRecord(record));
  proxy.unblock();
  await waitForSnapshot(watcher, holds(view(sub)));
  const relisted = reads.slice(listed).filter((r) => r.request.limit !== 1);
  assert.deepEqual(
    relisted.flatMap((r) => r.keys),
    [recordKey(sub)],
    "the re-list read the scope of the one cluster left",
  );
});

test("after an etcd restart each range resumes where it stopped: what changed meanwhile arrives, nothing is listed", async () => {
  const vpn = "settlements";
  const writer = clientOf(etcd.url);
  const put = (record: RegistryRecord) => writer.put(recordKey(record)).value(encodeRecord(record));
  const fn = sampleFunction({ cluster: "east", vpn });
  const early = sampleSubscription({ cluster: "east", vpn, name: "early" });
  await put(fn);
  await put(early);
  const { watcher, reads, restarts, resumes } = scoped(vpn);
  await watcher.ready;
  // One range moves on (a later subscription), the other stays at the listing: each must resume
  // from its own revision.
  const moved = sampleSubscription({ cluster: "east", vpn, name: "moved" });
  await put(moved);
  await waitForSnapshot(watcher, (s) => s.records.has(recordKey(moved)));
  const listed = reads.length;

  await etcd.kill();
  await etcd.start();
  const after = clientOf(etcd.url);
  const late = sampleSubscription({ cluster: "east", vpn, name: "late" });
  await after.put(recordKey(late)).value(encodeRecord(late));
  await after.delete().key(recordKey(fn));
  await waitForSnapshot(watcher, holds(view(early, moved, late)));
  assert.ok(resumes.length >= 1, "watched again");
  assert.deepEqual(restarts, [], "no re-list");
  assert.deepEqual(
    reads.slice(listed).filter((r) => r.request.limit !== 1),
    [],
    "no range listed (the cluster checks read one key each)",
  );
});
