import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeRecord } from "../registry/codec.ts";
import { clusterKey, gatewayKey, leaderKey, REGISTRY_PREFIX, recordKey } from "../registry/keys.ts";
import { sampleFunction, sampleSubscription, sampleVpn } from "../registry/test-records.ts";
import type { RegistryRecord } from "../registry/types.ts";
import { createRecordStore, type StoredValue, type WatchEvent } from "./registry-watcher-store.ts";

const kv = (record: RegistryRecord, modRevision: number): StoredValue => ({
  key: recordKey(record),
  value: Buffer.from(encodeRecord(record)),
  modRevision,
});
const raw = (key: string, value: string, modRevision: number): StoredValue => ({
  key,
  value: Buffer.from(value),
  modRevision,
});
const put = (value: StoredValue): WatchEvent => ({ type: "put", ...value });
const del = (key: string, modRevision: number): WatchEvent => ({
  type: "delete",
  key,
  value: Buffer.alloc(0),
  modRevision,
});

const storeWithReports = () => {
  const reported: string[] = [];
  const store = createRecordStore({
    onInvalid: (key, modRevision) => reported.push(`${key}@${modRevision}`),
  });
  return { store, reported };
};

const vpn = sampleVpn();
const fn = sampleFunction();
const west = sampleFunction({ cluster: "west" });
const sub = sampleSubscription();

test("a listing keeps the records of every cluster and ignores heartbeat and leader keys", () => {
  const { store, reported } = storeWithReports();
  const { snapshot, added } = store.resync({
    revision: 20,
    clusterId: "c1",
    kvs: [
      raw(clusterKey("east"), "alive", 3),
      raw(gatewayKey("east", "gw-1"), "{}", 4),
      raw(leaderKey("east"), "{}", 5),
      raw(`${REGISTRY_PREFIX}future/thing`, "?", 6),
      kv(vpn, 7),
      kv(fn, 8),
      kv(west, 9),
      kv(sub, 10),
    ],
  });
  assert.deepEqual([...snapshot.records.keys()].sort(), [vpn, fn, west, sub].map(recordKey).sort());
  assert.deepEqual(snapshot.records.get(recordKey(west)), west);
  assert.equal(added, 4);
  assert.equal(snapshot.revision, 20);
  assert.ok(Object.isFrozen(snapshot));
  assert.deepEqual(reported, []);
  assert.equal(store.lastApplied(), 20);
});

test("invalid values are skipped and reported once per key and mod_revision", () => {
  const { store, reported } = storeWithReports();
  const garbage = raw(recordKey(sampleFunction({ name: "broken" })), "{not json", 5);
  const badKey = raw(`${REGISTRY_PREFIX}functions/too/short`, encodeRecord(fn), 6);
  const listing = { revision: 10, clusterId: "c1", kvs: [kv(fn, 4), garbage, badKey] };
  assert.deepEqual([...store.resync(listing).snapshot.records.keys()], [recordKey(fn)]);
  store.resync({ ...listing, revision: 11 });
  assert.deepEqual(reported, [`${garbage.key}@5`, `${badKey.key}@6`]);

  // A valid record overwritten by garbage leaves the snapshot; the same garbage is not reported twice.
  const next = store.apply([put(raw(recordKey(fn), "[]", 12))]).snapshot;
  assert.equal(next?.records.has(recordKey(fn)), false);
  store.resync({ revision: 13, clusterId: "c1", kvs: [raw(recordKey(fn), "[]", 12)] });
  assert.deepEqual(reported.slice(2), [`${recordKey(fn)}@12`]);
  assert.equal(store.invalidCount(), 3);
});

test("a re-listing reuses unchanged records, reports the diff and synthesises deletions", () => {
  const { store } = storeWithReports();
  const first = store.resync({ revision: 10, clusterId: "c1", kvs: [kv(vpn, 3), kv(fn, 4), kv(sub, 5)] });
  const same = store.resync({ revision: 12, clusterId: "c1", kvs: [kv(vpn, 3), kv(fn, 4), kv(sub, 5)] });
  assert.equal(same.snapshot.records, first.snapshot.records, "nothing changed: the same Map");
  assert.equal(same.snapshot.revision, 12);

  const fn2 = { ...fn, owner: { ...fn.owner, generation: 2 } };
  const diff = store.resync({ revision: 15, clusterId: "c1", kvs: [kv(vpn, 3), kv(fn2, 14), kv(west, 13)] });
  assert.deepEqual([diff.added, diff.changed, diff.deleted], [1, 1, 1]);
  assert.equal(diff.snapshot.records.get(recordKey(vpn)), first.snapshot.records.get(recordKey(vpn)));
  assert.deepEqual(diff.snapshot.records.get(recordKey(fn)), fn2);
  assert.equal(diff.snapshot.records.has(recordKey(sub)), false);
  assert.equal(first.snapshot.records.size, 3, "the old snapshot is untouched");
});

test("watch events apply in order to a copy; a transaction's events share one revision", () => {
  const { store } = storeWithReports();
  const listed = store.resync({ revision: 10, clusterId: "c1", kvs: [kv(vpn, 3), kv(fn, 4)] }).snapshot;
  const result = store.apply([put(kv(sub, 11)), put(kv(west, 11)), del(recordKey(fn), 12)]);
  assert.equal(result.duplicates, 0);
  assert.deepEqual(
    [...(result.snapshot?.records.keys() ?? [])].sort(),
    [vpn, sub, west].map(recordKey).sort(),
  );
  assert.equal(result.snapshot?.revision, 12);
  assert.deepEqual([...listed.records.keys()].sort(), [vpn, fn].map(recordKey).sort());

  const heartbeats = store.apply([put(raw(clusterKey("east"), "alive", 13))]);
  assert.equal(heartbeats.snapshot, undefined, "no record changed: nothing to publish");
  assert.equal(store.lastApplied(), 13);

  const replayed = store.apply([put(kv(fn, 9)), put(kv(vpn, 12)), put(kv(fn, 14))]);
  assert.equal(replayed.duplicates, 2);
  assert.deepEqual(replayed.snapshot?.records.get(recordKey(fn)), fn);
  assert.equal(store.snapshot()?.revision, 14);
});

test("a listing below a revision already seen is a new history: nothing is reused", () => {
  const { store } = storeWithReports();
  const before = store.resync({ revision: 50, clusterId: "c1", kvs: [kv(vpn, 3), kv(fn, 4)] }).snapshot;
  store.observe(60);
  const after = store.resync({ revision: 8, clusterId: "c1", kvs: [kv(vpn, 3)] });
  assert.equal(after.backwards, true);
  assert.notEqual(after.snapshot.records.get(recordKey(vpn)), before.records.get(recordKey(vpn)));
  assert.deepEqual([...after.snapshot.records.keys()], [recordKey(vpn)]);
  assert.equal(store.highWater(), 8);
  assert.equal(store.resync({ revision: 9, clusterId: "c2", kvs: [] }).clusterChanged, true);
});
