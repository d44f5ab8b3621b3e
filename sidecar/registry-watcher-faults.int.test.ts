// The registry watcher under etcd faults, each test with an etcd of its own that it compacts,
// kills, restarts or replaces: compaction between listing and watch, etcd restart, changes the
// watcher cannot see while cut off, a new etcd with fewer revisions at the same address, and
// list pages over the gRPC receive limit.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Etcd3 } from "etcd3";
import { cleanup } from "../e2e/harness.ts";
import { encodeRecord } from "../registry/codec.ts";
import { clusterKey, collectionPrefix, recordKey } from "../registry/keys.ts";
import { sampleFunction, sampleSubscription, sampleVpn } from "../registry/test-records.ts";
import type { RegistryRecord } from "../registry/types.ts";
import { startTcpProxy } from "./registry-watcher-proxy.ts";
import {
  captureLog,
  type OwnEtcd,
  ownEtcd,
  ownedBy,
  runWatcher,
  waitForSnapshot,
  waitForStatus,
} from "./registry-watcher-testkit.ts";

const TIMEOUT = { timeout: 90_000 };
const cluster = "east";
const vpn = sampleVpn({ cluster });
const fnA = sampleFunction({ cluster, name: "a" });
const fnB = sampleFunction({ cluster, name: "b" });
const fnC = sampleFunction({ cluster, name: "c" });
const sub = sampleSubscription({ cluster });

const view = (...records: RegistryRecord[]): Record<string, RegistryRecord> =>
  Object.fromEntries(records.map((r) => [recordKey(r), r]));
const holds = (expected: Record<string, RegistryRecord>) => (s: { records: ReadonlyMap<string, unknown> }) =>
  s.records.size === Object.keys(expected).length &&
  Object.entries(expected).every(([k, v]) => JSON.stringify(s.records.get(k)) === JSON.stringify(v));

// Registered at the top level so that the harness hooks its cleanups to the file, not to the
// first test that registers one; runs last, after every watcher has stopped.
const clients: Etcd3[] = [];
cleanup(() => {
  for (const client of clients) client.close();
});

/** A client of `url`, closed when the file ends. */
const clientOf = (url: string): Etcd3 => {
  const client = new Etcd3({ hosts: url });
  clients.push(client);
  return client;
};
const write = async (client: Etcd3, ...records: RegistryRecord[]): Promise<void> => {
  for (const record of records) await client.put(recordKey(record)).value(encodeRecord(record));
};
const started = async (): Promise<OwnEtcd> => {
  const etcd = await ownEtcd();
  await etcd.start();
  return etcd;
};
const messages = (entries: () => Record<string, unknown>[], msg: string) =>
  entries().filter((e) => e.msg === msg);

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
    for (let i = 0; i < 20; i++) await client.put(clusterKey(cluster)).value(`beat ${i}`);
    const { header } = await client.get(clusterKey(cluster)).exec();
    await client.kv.compact({ revision: header.revision, physical: true });
  };
  const { log, entries } = captureLog();
  const { watcher, restarts } = runWatcher({ client, log, beforeWatch });
  await watcher.ready;
  const fnA2 = { ...fnA, owner: { ...fnA.owner, generation: 2 } };
  const snapshot = await waitForSnapshot(watcher, holds(view(vpn, fnA2, fnC)));
  assert.deepEqual(ownedBy(snapshot, cluster), view(vpn, fnA2, fnC));
  assert.equal(restarts.length, 1);
  assert.match(restarts[0] ?? "", /watcher error: Watcher canceled/);
  const [resynced] = messages(entries, "registry resynced");
  assert.equal(resynced?.deleted, 1, "the deletion the watch missed is synthesised");
  await waitForStatus(watcher, "connected", (s) => s.connected);
});

test(
  "etcd restart: the last snapshot is served while it is down, then the watcher converges",
  TIMEOUT,
  async () => {
    const etcd = await started();
    const admin = clientOf(etcd.url);
    await write(admin, vpn, fnA, fnB, sub);
    const { log, entries } = captureLog();
    const { watcher, restarts } = runWatcher({ client: clientOf(etcd.url), log });
    await watcher.ready;
    const before = watcher.current();

    await etcd.kill();
    const down = await waitForStatus(watcher, "disconnected", (s) => !s.connected);
    await waitForStatus(
      watcher,
      "retrying",
      () => messages(entries, "registry re-list attempt failed").length >= 2,
    );
    assert.equal(watcher.current(), before, "still serving the last snapshot");
    assert.equal(watcher.status().connected, false);
    assert.ok(watcher.status().lastContactAt <= down.lastContactAt, "no contact while etcd is down");

    await etcd.start();
    const after = clientOf(etcd.url);
    await after.delete().key(recordKey(fnB));
    await write(after, fnC, { ...sub, owner: { ...sub.owner, generation: 4 } });
    const expected = view(vpn, fnA, fnC, { ...sub, owner: { ...sub.owner, generation: 4 } });
    await waitForSnapshot(watcher, holds(expected));
    const status = await waitForStatus(watcher, "reconnected", (s) => s.connected);
    assert.ok(status.lastContactAt > down.lastContactAt);
    assert.equal(restarts.length, 1, `one incident: ${restarts.join("; ")}`);
    assert.equal(messages(entries, "registry watch interrupted; re-listing").length, 1, "logged once");
  },
);

test(
  "changes made while the watcher is cut off are found by the re-list, deletions included",
  TIMEOUT,
  async () => {
    const etcd = await started();
    const admin = clientOf(etcd.url);
    await write(admin, vpn, fnA, fnB, sub);
    const proxy = await startTcpProxy(Number(new URL(etcd.url).port));
    cleanup(() => proxy.close());
    const { log, entries } = captureLog();
    const { watcher } = runWatcher({ client: clientOf(proxy.url), log });
    await watcher.ready;
    const before = watcher.current();

    // etcd restarts while the watcher cannot reach it; the changes happen before it can again.
    await etcd.kill();
    await waitForStatus(watcher, "disconnected", (s) => !s.connected);
    proxy.block();
    await etcd.start();
    const after = clientOf(etcd.url);
    await after.delete().key(recordKey(fnA));
    await after.delete().key(recordKey(sub));
    await write(after, fnC);
    const failed = messages(entries, "registry re-list attempt failed").length;
    await waitForStatus(
      watcher,
      "a failed attempt after the changes",
      () => messages(entries, "registry re-list attempt failed").length > failed,
    );
    assert.equal(watcher.current(), before);

    proxy.unblock();
    const snapshot = await waitForSnapshot(watcher, holds(view(vpn, fnB, fnC)));
    assert.deepEqual(ownedBy(snapshot, cluster), view(vpn, fnB, fnC));
    const [resynced] = messages(entries, "registry resynced");
    assert.deepEqual([resynced?.added, resynced?.changed, resynced?.deleted], [1, 0, 2]);
  },
);

test(
  "a hung etcd is noticed by the liveness probe; the watcher recovers when it answers again",
  TIMEOUT,
  async () => {
    const etcd = await started();
    const admin = clientOf(etcd.url);
    await write(admin, vpn, fnA);
    const { log, entries } = captureLog();
    const { watcher, restarts } = runWatcher({ client: clientOf(etcd.url), log, requestTimeoutMs: 1_000 });
    await watcher.ready;
    await waitForStatus(watcher, "connected", (s) => s.connected);
    const before = watcher.current();

    etcd.pause();
    const stale = await waitForStatus(watcher, "disconnected", (s) => !s.connected);
    await waitForStatus(
      watcher,
      "re-listing",
      () => messages(entries, "registry re-list attempt failed").length > 0,
    );
    assert.equal(watcher.current(), before);
    assert.equal(watcher.status().lastContactAt, stale.lastContactAt, "no contact while etcd is frozen");
    assert.equal(messages(entries, "registry liveness probe failed").length, 1);

    etcd.resume();
    await write(admin, fnB);
    await waitForSnapshot(watcher, holds(view(vpn, fnA, fnB)));
    await waitForStatus(watcher, "reconnected", (s) => s.connected && s.lastContactAt > stale.lastContactAt);
    assert.match(restarts.join("; "), /liveness probe failed twice/);
  },
);

test("a new etcd with fewer revisions at the same address replaces the snapshot", TIMEOUT, async () => {
  const etcd = await started();
  const admin = clientOf(etcd.url);
  await write(admin, vpn, fnA, fnB);
  for (let i = 0; i < 30; i++) await admin.put(clusterKey(cluster)).value(`beat ${i}`);
  const { log, entries } = captureLog();
  const { watcher, restarts } = runWatcher({ client: clientOf(etcd.url), log });
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
  assert.equal(messages(entries, "registry revision went backwards; resyncing").length, 1);
});

test("list pages over the gRPC receive limit are listed again with smaller pages", TIMEOUT, async () => {
  const etcd = await started();
  const client = clientOf(etcd.url);
  const prefix = `${collectionPrefix("function")}big/`;
  const big = "x".repeat(1_000_000);
  for (let i = 0; i < 5; i++) await client.put(`${prefix}ns/f${i}/${cluster}`).value(big);
  await write(client, sampleFunction({ cluster, vpn: "big" }));
  const { log, entries } = captureLog();
  const { watcher } = runWatcher({ client, log, prefix, pageSize: 8 });
  await watcher.ready;
  assert.deepEqual(ownedBy(watcher.current(), cluster), view(sampleFunction({ cluster, vpn: "big" })));
  assert.equal(watcher.status().invalidRecords, 5);
  assert.ok(
    messages(entries, "registry list page over the gRPC receive limit; halving the page size").length >= 1,
  );
});
