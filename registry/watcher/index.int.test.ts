// The registry watcher against the shared test etcd. Other test files write there too, so each
// test looks only at the records of its own fresh cluster names.
import assert from "node:assert/strict";
import { test } from "node:test";
import { isDeepStrictEqual } from "node:util";
import { silentLogger } from "../../common/log.ts";
import { cleanup, testEtcd, uniqueName } from "../../e2e/harness.ts";
import { encodeHeartbeat, encodeRecord } from "../codec.ts";
import { runHeartbeat } from "../heartbeat/index.ts";
import { collectionPrefix, gatewayKey, heartbeatKey, keyRole, leaderKey, recordKey } from "../keys.ts";
import type { RegistrySnapshot } from "../snapshot.ts";
import { client, freshCluster } from "../testing/etcd.ts";
import { ownEtcd, startTcpProxy } from "../testing/faults.ts";
import { sampleFunction, sampleHeartbeat, sampleSubscription, sampleVpn } from "../testing/records.ts";
import { clientOf, holds, ownedBy, runWatcher, view, waitForSnapshot } from "../testing/watcher.ts";
import type { RegistryRecord } from "../types.ts";

const etcdUrl = await testEtcd();

const write = async (record: RegistryRecord): Promise<number> =>
  Number((await client.put(recordKey(record)).value(encodeRecord(record)).exec()).header.revision);
const writeRaw = async (key: string, value: string): Promise<void> => {
  await client.put(key).value(value);
  cleanup(async () => void (await client.delete().key(key)));
};
test("the first snapshot lists every cluster's records and heartbeats, across pages, and no leader or gateway key", async () => {
  const [east, west] = [freshCluster(), freshCluster()];
  const mine = [
    sampleVpn({ cluster: east }),
    sampleFunction({ cluster: east }),
    sampleSubscription({ cluster: east }),
  ];
  for (const record of [...mine, sampleFunction({ cluster: west })]) await write(record);
  await writeRaw(heartbeatKey(east), encodeHeartbeat(sampleHeartbeat({ cluster: east })));
  await writeRaw(gatewayKey(east, "gw-1"), "{}");
  await writeRaw(leaderKey(east), "{}");
  const last = await write(sampleVpn({ cluster: west }));

  const { watcher, invalid } = runWatcher({ url: etcdUrl, log: silentLogger(), pageSize: 2 });
  assert.equal(watcher.current(), undefined, "no snapshot before the first full listing");
  await watcher.ready;
  const snapshot = watcher.current();
  assert.ok(snapshot !== undefined && snapshot.revision >= last);
  assert.deepEqual(ownedBy(snapshot, east), view(...mine));
  assert.deepEqual(
    ownedBy(snapshot, west),
    view(sampleFunction({ cluster: west }), sampleVpn({ cluster: west })),
  );
  const notRecords = [...snapshot.records.keys()].filter((k) => keyRole(k) !== "record");
  assert.deepEqual(notRecords, []);
  assert.deepEqual(snapshot.clusters.get(east), sampleHeartbeat({ cluster: east }));
  assert.equal(snapshot.clusters.has(west), false, "no heartbeat, not alive");
  assert.deepEqual(
    invalid.filter((key) => key.includes(east)),
    [],
    "ignored keys are not invalid values",
  );
});

test("puts and deletes after the listing reach the snapshot in order", async () => {
  const cluster = freshCluster();
  const fn1 = sampleFunction({ cluster, name: "one" });
  await write(fn1);
  const { watcher } = runWatcher({ url: etcdUrl, log: silentLogger() });
  await watcher.ready;
  const seen: { revision: number; mine: Record<string, RegistryRecord> }[] = [];
  watcher.onSnapshot((s) => seen.push({ revision: s.revision, mine: ownedBy(s, cluster) }));

  const fn2 = sampleFunction({ cluster, name: "two" });
  const fn1b = sampleFunction({ cluster, name: "one", generation: 2 });
  const sub = sampleSubscription({ cluster });
  const vpn = sampleVpn({ cluster });
  const states = [
    view(fn1),
    view(fn1, fn2),
    view(fn1b, fn2),
    view(fn1b),
    view(fn1b, sub),
    view(fn1b, sub, vpn),
  ];
  await write(fn2);
  await write(fn1b);
  await client.delete().key(recordKey(fn2));
  await write(sub);
  await write(vpn);
  const final = await waitForSnapshot(watcher, holds(view(fn1b, sub, vpn), cluster));
  assert.deepEqual(ownedBy(final, cluster), view(fn1b, sub, vpn));

  // Each observed state of this cluster is one of the expected ones, in order (batches may merge some).
  let at = 0;
  for (const { mine } of seen) {
    const index = states.findIndex((state, i) => i >= at && isDeepStrictEqual(state, mine));
    assert.ok(index >= at, `state ${JSON.stringify(Object.keys(mine))} is out of order`);
    at = index;
  }
  assert.equal(at, states.length - 1);
  for (const [i, { revision }] of seen.entries())
    if (i > 0) assert.ok(revision > (seen[i - 1]?.revision ?? 0));
  assert.ok(watcher.status().lastAppliedModRevision >= final.revision);
});

test("invalid values are skipped, counted and reported once; garbage over a record removes it", async () => {
  const cluster = freshCluster();
  const good = sampleFunction({ cluster, name: "good" });
  await write(good);
  const garbage = recordKey(sampleFunction({ cluster, name: "garbage" }));
  const foreign = recordKey(sampleFunction({ cluster, name: "foreign" }));
  const future = recordKey(sampleFunction({ cluster, name: "future" }));
  const badKey = `${collectionPrefix(cluster, "function")}too-short`;
  await client.put(garbage).value("{not json");
  await client.put(foreign).value(encodeRecord(sampleFunction({ cluster: `${cluster}-x`, name: "foreign" })));
  await client.put(future).value(JSON.stringify({ ...good, schema: 2 }));
  await writeRaw(badKey, encodeRecord(good));

  const { watcher, invalid } = runWatcher({ url: etcdUrl, log: silentLogger() });
  await watcher.ready;
  const mine = () => invalid.filter((key) => key.includes(cluster)).sort();
  assert.deepEqual(ownedBy(watcher.current(), cluster), view(good));
  assert.deepEqual(mine(), [badKey, foreign, future, garbage].sort());

  await client.put(recordKey(good)).value("[]");
  await waitForSnapshot(watcher, (s) => !s.records.has(recordKey(good)));
  const other = sampleFunction({ cluster, name: "other" });
  await write(other);
  await waitForSnapshot(watcher, holds(view(other), cluster));
  assert.deepEqual(mine(), [badKey, foreign, future, garbage, recordKey(good)].sort(), "each reported once");
  assert.ok(watcher.status().invalidRecords >= 5);
});

test("a published snapshot never changes: later events make new ones", async () => {
  const cluster = freshCluster();
  const fn = sampleFunction({ cluster });
  await write(fn);
  const { watcher } = runWatcher({ url: etcdUrl, log: silentLogger() });
  await watcher.ready;
  const old = watcher.current();
  assert.ok(old !== undefined);
  const before = { revision: old.revision, size: old.records.size, mine: ownedBy(old, cluster) };
  assert.ok(Object.isFrozen(old));
  assert.equal(Reflect.set(old, "revision", 1), false);

  const sub = sampleSubscription({ cluster });
  await write(sub);
  await client.delete().key(recordKey(fn));
  const next = await waitForSnapshot(watcher, holds(view(sub), cluster));
  assert.notEqual(next, old);
  assert.notEqual(next.records, old.records);
  assert.deepEqual({ revision: old.revision, size: old.records.size, mine: ownedBy(old, cluster) }, before);
});

test("a narrower prefix lists and watches only its own keys", async () => {
  const cluster = freshCluster();
  const vpn = uniqueName("vpn");
  const inside = sampleFunction({ cluster, vpn, name: "inside" });
  await write(inside);
  await write(sampleSubscription({ cluster, vpn }));
  const prefix = `${collectionPrefix(cluster, "function")}${vpn}/`;
  const { watcher } = runWatcher({ url: etcdUrl, log: silentLogger(), prefix });
  await watcher.ready;
  assert.deepEqual([...(watcher.current()?.records.keys() ?? [])], [recordKey(inside)]);
  const later = sampleFunction({ cluster, vpn, name: "later" });
  await write(sampleVpn({ cluster, vpn }));
  await write(later);
  const snapshot = await waitForSnapshot(watcher, (s) => s.records.has(recordKey(later)));
  assert.deepEqual([...snapshot.records.keys()].sort(), [recordKey(inside), recordKey(later)].sort());
});

test("a cluster is in the snapshots while its heartbeat runs, and leaves them when it stops", async () => {
  const cluster = freshCluster();
  const { watcher } = runWatcher({ url: etcdUrl, log: silentLogger() });
  await watcher.ready;
  const abort = new AbortController();
  const options = { client, cluster, identity: "op-1", version: "1.2.3", ttlSeconds: 2, log: silentLogger() };
  const heartbeat = runHeartbeat(options, abort.signal);
  const stop = async (): Promise<void> => {
    abort.abort();
    await heartbeat;
  };
  cleanup(stop);
  const alive = await waitForSnapshot(watcher, (s) => s.clusters.has(cluster));
  assert.deepEqual(
    { ...alive.clusters.get(cluster), startedAt: "" },
    {
      cluster,
      identity: "op-1",
      version: "1.2.3",
      startedAt: "",
    },
  );
  await stop();
  const gone = await waitForSnapshot(watcher, (s) => !s.clusters.has(cluster));
  assert.ok(gone.revision > alive.revision);
});

test("onListed tells when each full listing started, before its snapshot is published: the first and a resync", async () => {
  // An etcd of this test's own: the test compacts its history.
  const etcd = await ownEtcd();
  await etcd.start();
  const own = clientOf(etcd.url);
  const cluster = freshCluster();
  const fn = sampleFunction({ cluster });
  await own.put(recordKey(fn)).value(encodeRecord(fn));
  const proxy = await startTcpProxy(Number(new URL(etcd.url).port));
  cleanup(() => proxy.close());
  const listed: { startedAt: number; current: RegistrySnapshot | undefined }[] = [];
  const begun = performance.now();
  const { watcher } = runWatcher({
    url: proxy.url,
    log: silentLogger(),
    onListed: (startedAt) => listed.push({ startedAt, current: watcher.current() }),
  });
  await watcher.ready;
  const [first] = listed;
  assert.ok(first !== undefined && first.startedAt >= begun && first.startedAt <= performance.now());
  assert.equal(first.current, undefined, "called before the first snapshot is published");

  // Every connection cut: the watch fails; the subscription is written meanwhile and etcd compacts
  // its history, so a new watch from the revision applied last is canceled: it comes with the re-list.
  const cut = performance.now();
  proxy.block();
  const sub = sampleSubscription({ cluster });
  const { header } = await own.put(recordKey(sub)).value(encodeRecord(sub)).exec();
  await own.kv.compact({ revision: header.revision, physical: true });
  proxy.unblock();
  await waitForSnapshot(watcher, holds(view(fn, sub), cluster));
  assert.equal(listed.length, 2, "once more for the resync");
  assert.ok((listed[1]?.startedAt ?? 0) >= cut);
  assert.deepEqual(ownedBy(listed[1]?.current, cluster), view(fn), "before the resynced snapshot");
});
