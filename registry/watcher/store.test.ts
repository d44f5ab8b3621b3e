import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeHeartbeat, encodeRecord } from "../codec.ts";
import {
  CLUSTERS_PREFIX,
  collectionPrefix,
  gatewayKey,
  heartbeatKey,
  leaderKey,
  REGISTRY_PREFIX,
  recordKey,
} from "../keys.ts";
import { sampleFunction, sampleHeartbeat, sampleSubscription, sampleVpn } from "../testing/records.ts";
import type { HeartbeatRecord, RegistryRecord } from "../types.ts";
import { createRecordStore, type StoredValue, type WatchEvent } from "./store.ts";

const kv = (record: RegistryRecord, modRevision: number): StoredValue => ({
  key: recordKey(record),
  value: Buffer.from(encodeRecord(record)),
  modRevision,
});
const beat = (heartbeat: HeartbeatRecord, modRevision: number): StoredValue => ({
  key: heartbeatKey(heartbeat.cluster),
  value: Buffer.from(encodeHeartbeat(heartbeat)),
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
  const records = createRecordStore({
    onInvalid: (key, modRevision) => reported.push(`${key}@${modRevision}`),
  });
  // One watch response published at once: stage() then seal(), as the watcher's loop does.
  const apply = (events: readonly WatchEvent[]) => {
    const { duplicates } = records.stage(events);
    return { snapshot: records.seal(), duplicates };
  };
  return { store: { ...records, apply }, reported };
};

const vpn = sampleVpn();
const fn = sampleFunction();
const west = sampleFunction({ cluster: "west" });
const sub = sampleSubscription();

test("a listing keeps every cluster's records and heartbeats, and ignores leader, gateway and unknown keys", () => {
  const { store, reported } = storeWithReports();
  const { snapshot, added } = store.resync({
    revision: 20,
    clusterId: "c1",
    kvs: [
      beat(sampleHeartbeat({ cluster: "east" }), 3),
      raw(gatewayKey("east", "gw-1"), "{}", 4),
      raw(leaderKey("east"), "{}", 5),
      raw(`${REGISTRY_PREFIX}future/thing`, "?", 6),
      raw(`${CLUSTERS_PREFIX}east/future/thing`, "?", 6),
      kv(vpn, 7),
      kv(fn, 8),
      kv(west, 9),
      kv(sub, 10),
      beat(sampleHeartbeat({ cluster: "west" }), 11),
    ],
  });
  assert.deepEqual([...snapshot.records.keys()].sort(), [vpn, fn, west, sub].map(recordKey).sort());
  assert.deepEqual(snapshot.records.get(recordKey(west)), west);
  assert.deepEqual(
    Object.fromEntries(snapshot.clusters),
    { east: sampleHeartbeat({ cluster: "east" }), west: sampleHeartbeat({ cluster: "west" }) },
    "heartbeats by cluster name",
  );
  assert.equal(added, 4, "records added");
  assert.equal(snapshot.revision, 20);
  assert.ok(Object.isFrozen(snapshot));
  assert.deepEqual(reported, []);
  assert.equal(store.lastApplied(), 20);
});

test("invalid values are skipped and reported once per key and mod_revision", () => {
  const { store, reported } = storeWithReports();
  const garbage = raw(recordKey(sampleFunction({ name: "broken" })), "{not json", 5);
  const badKey = raw(`${collectionPrefix("east", "function")}too/short`, encodeRecord(fn), 6);
  const badBeat = raw(heartbeatKey("west"), encodeHeartbeat(sampleHeartbeat({ cluster: "east" })), 7);
  const listing = { revision: 10, clusterId: "c1", kvs: [kv(fn, 4), garbage, badKey, badBeat] };
  const first = store.resync(listing).snapshot;
  assert.deepEqual([...first.records.keys()], [recordKey(fn)]);
  assert.equal(first.clusters.size, 0, "a heartbeat naming another cluster than its key's is skipped");
  store.resync({ ...listing, revision: 11 });
  assert.deepEqual(reported, [`${garbage.key}@5`, `${badKey.key}@6`, `${badBeat.key}@7`]);

  // A valid record overwritten by garbage leaves the snapshot; the same garbage is not reported twice.
  const next = store.apply([put(raw(recordKey(fn), "[]", 12))]).snapshot;
  assert.equal(next?.records.has(recordKey(fn)), false);
  store.resync({ revision: 13, clusterId: "c1", kvs: [raw(recordKey(fn), "[]", 12)] });
  assert.deepEqual(reported.slice(3), [`${recordKey(fn)}@12`]);
  assert.equal(store.invalidCount(), 4);
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

  const leader = store.apply([put(raw(leaderKey("east"), "{}", 13))]);
  assert.equal(leader.snapshot, undefined, "no record or heartbeat changed: nothing to publish");
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

test("heartbeat puts and deletes change the clusters, and keep the records Map", () => {
  const { store, reported } = storeWithReports();
  const listed = store.resync({
    revision: 10,
    clusterId: "c1",
    kvs: [kv(fn, 3), beat(sampleHeartbeat(), 4)],
  });
  assert.deepEqual([...listed.snapshot.clusters.keys()], ["east"]);

  const west2 = { ...sampleHeartbeat({ cluster: "west" }), identity: "op-2" };
  const joined = store.apply([put(beat(west2, 11))]).snapshot;
  assert.equal(joined?.records, listed.snapshot.records, "records unchanged: the same Map");
  assert.deepEqual(Object.fromEntries(joined?.clusters ?? []), { east: sampleHeartbeat(), west: west2 });
  assert.equal(joined?.revision, 11);

  const expired = store.apply([del(heartbeatKey("east"), 12)]).snapshot;
  assert.deepEqual([...(expired?.clusters.keys() ?? [])], ["west"]);
  assert.deepEqual(
    [...(joined?.clusters.keys() ?? [])].sort(),
    ["east", "west"],
    "the old snapshot is untouched",
  );
  const garbage = store.apply([put(raw(heartbeatKey("west"), "alive", 13))]).snapshot;
  assert.equal(garbage?.clusters.size, 0, "an invalid heartbeat is no heartbeat");
  assert.deepEqual(reported, [`${heartbeatKey("west")}@13`]);

  // A re-listing that finds the same records but other heartbeats keeps the records Map too.
  const relisted = store.resync({ revision: 20, clusterId: "c1", kvs: [kv(fn, 3), beat(west2, 15)] });
  assert.equal(relisted.snapshot.records, listed.snapshot.records);
  assert.deepEqual([relisted.added, relisted.changed, relisted.deleted], [0, 0, 0]);
  assert.deepEqual([...relisted.snapshot.clusters.keys()], ["west"]);
  const same = store.resync({ revision: 21, clusterId: "c1", kvs: [kv(fn, 3), beat(west2, 15)] });
  assert.equal(same.snapshot.clusters, relisted.snapshot.clusters, "nothing changed: the same Map");
});

test("responses staged together are published as one snapshot; the previous one is left as it was", () => {
  const { store } = storeWithReports();
  const first = store.resync({ revision: 10, clusterId: "c", kvs: [kv(vpn, 5)] }).snapshot;
  const sub = sampleSubscription();
  assert.deepEqual(store.stage([put(kv(fn, 11))]), { changed: true, duplicates: 0 });
  assert.deepEqual(store.stage([put(kv(sub, 12))], 1), { changed: true, duplicates: 0 });
  assert.deepEqual(store.stage([put(raw(leaderKey("east"), "{}", 13))]), { changed: false, duplicates: 0 });
  assert.equal(store.snapshot(), first, "nothing published before seal");
  const sealed = store.seal();
  assert.equal(sealed?.revision, 13);
  assert.deepEqual([...(sealed?.records.keys() ?? [])].sort(), [vpn, fn, sub].map(recordKey).sort());
  assert.deepEqual([...first.records.keys()], [recordKey(vpn)], "the published snapshot never changes");
  assert.equal(store.seal(), undefined, "nothing staged since");
});

test("a resync first takes in what was staged, so a value staged but not published is never reused stale", () => {
  const { store } = storeWithReports();
  store.resync({ revision: 10, clusterId: "c", kvs: [kv(fn, 5)] });
  const changed = sampleFunction({ generation: 2 });
  store.stage([put(kv(changed, 11))]);
  // The listing holds the staged mod_revision: the value must be the staged one, not the published one.
  const { snapshot } = store.resync({ revision: 12, clusterId: "c", kvs: [kv(changed, 11)] });
  assert.deepEqual(snapshot.records.get(recordKey(fn)), changed);
});
