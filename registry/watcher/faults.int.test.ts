// The registry watcher when etcd's history or data surprise it, each test with an etcd of its
// own: a compaction between the listing and the watch, a new etcd with fewer revisions at the
// same address, and list pages over the gRPC receive limit.
import assert from "node:assert/strict";
import { test } from "node:test";
import { collectionPrefix, leaderKey, recordKey } from "../keys.ts";
import { type OwnEtcd, ownEtcd } from "../testing/faults.ts";
import { sampleFunction, sampleVpn } from "../testing/records.ts";
import {
  captureLog,
  clientOf,
  holds,
  logged,
  ownedBy,
  runWatcher,
  view,
  waitForSnapshot,
  waitForStatus,
  write,
} from "../testing/watcher.ts";

const TIMEOUT = { timeout: 90_000 };
const cluster = "east";
const vpn = sampleVpn({ cluster });
const fnA = sampleFunction({ cluster, name: "a" });
const fnB = sampleFunction({ cluster, name: "b" });
const fnC = sampleFunction({ cluster, name: "c" });

/** An etcd of this test's own, started. */
const started = async (): Promise<OwnEtcd> => {
  const etcd = await ownEtcd();
  await etcd.start();
  return etcd;
};

test("a compaction between the listing and the watch is survived by re-listing", TIMEOUT, async () => {
  const etcd = await started();
  const client = clientOf(etcd.url);
  await write(client, vpn, fnA, fnB);
  let hooked = false;
  const beforeWatch = async (): Promise<void> => {
    if (hooked) return;
    hooked = true;
    // The watch will start below the compacted revision: etcd cancels it ("Watcher canceled: ").
    await client.delete().key(recordKey(fnB));
    await write(client, { ...fnA, owner: { ...fnA.owner, generation: 2 } }, fnC);
    for (let i = 0; i < 20; i++) await client.put(leaderKey(cluster)).value(`claim ${i}`);
    const { header } = await client.get(leaderKey(cluster)).exec();
    await client.kv.compact({ revision: header.revision, physical: true });
  };
  const { log, entries } = captureLog();
  const { watcher, restarts } = runWatcher({ url: etcd.url, log, beforeWatch });
  await watcher.ready;
  const fnA2 = { ...fnA, owner: { ...fnA.owner, generation: 2 } };
  const snapshot = await waitForSnapshot(watcher, holds(view(vpn, fnA2, fnC)));
  assert.deepEqual(ownedBy(snapshot, cluster), view(vpn, fnA2, fnC));
  assert.equal(restarts.length, 1);
  assert.match(restarts[0] ?? "", /watcher error: Watcher canceled/);
  const [resynced] = logged(entries, "registry resynced");
  assert.equal(resynced?.deleted, 1, "the deletion the watch missed is synthesised");
  await waitForStatus(watcher, "connected", (s) => s.connected);
});

test(
  "a new etcd with fewer revisions at the same address replaces the snapshot, after a share of the re-list spread",
  TIMEOUT,
  async () => {
    const etcd = await started();
    const admin = clientOf(etcd.url);
    await write(admin, vpn, fnA, fnB);
    for (let i = 0; i < 30; i++) await admin.put(leaderKey(cluster)).value(`claim ${i}`);
    const { log, entries } = captureLog();
    const { watcher, restarts } = runWatcher({
      url: etcd.url,
      log,
      relistSpreadMs: 2000,
      random: () => 0.25,
    });
    await watcher.ready;
    const old = watcher.status().revision;
    assert.ok(old > 30);

    await etcd.kill();
    await waitForStatus(watcher, "disconnected", (s) => !s.connected);
    await etcd.start(true);
    await write(clientOf(etcd.url), fnC);
    const snapshot = await waitForSnapshot(watcher, holds(view(fnC)));
    assert.ok(snapshot.revision < old, `${snapshot.revision} < ${old}`);
    assert.ok(restarts.includes("revision went backwards"), restarts.join("; "));
    assert.equal(logged(entries, "registry revision went backwards; resyncing").length, 1);
    const [relist] = logged(entries, "registry must be re-listed");
    assert.equal(relist?.retryInMs, 500, "a quarter of the 2 s spread, as the random source says");
  },
);

test("list pages over the gRPC receive limit are listed again with smaller pages", TIMEOUT, async () => {
  const etcd = await started();
  const client = clientOf(etcd.url);
  const prefix = `${collectionPrefix(cluster, "function")}big/`;
  const big = "x".repeat(1_000_000);
  for (let i = 0; i < 5; i++) await client.put(`${prefix}ns/f${i}`).value(big);
  await write(client, sampleFunction({ cluster, vpn: "big" }));
  const { log, entries } = captureLog();
  const { watcher } = runWatcher({ url: etcd.url, log, prefix, pageSize: 8 });
  await watcher.ready;
  assert.deepEqual(ownedBy(watcher.current(), cluster), view(sampleFunction({ cluster, vpn: "big" })));
  assert.equal(watcher.status().invalidRecords, 5);
  assert.ok(
    logged(entries, "registry list page over the gRPC receive limit; halving the page size").length >= 1,
  );
});
