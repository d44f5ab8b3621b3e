import assert from "node:assert/strict";
import { test } from "node:test";
import { recordKey } from "../keys.ts";
import { refOf, sampleFunction, sampleVpn } from "../testing/records.ts";
import type { ObjectRef } from "../types.ts";
import { compareObservation, type Observation } from "./drift.ts";
import { createIndex } from "./own-keys.ts";

const fn = sampleFunction({ cluster: "east" });
const ref = refOf(fn);
const key = recordKey(fn);

const setup = (known = 0n) => {
  const index = createIndex();
  index.set(ref, { key, value: "ours", modRevision: "10" });
  const compare = (seen: Observation) => compareObservation(index, "east", seen, (_r: ObjectRef) => known);
  return { index, compare };
};

test("the writer's own write, and an observation older than the index, are not drift", () => {
  const { compare, index } = setup();
  assert.equal(compare({ key, value: "ours", modRevision: "10", asOf: "10" }), undefined);
  assert.equal(compare({ key, value: "older", modRevision: "7", asOf: "9" }), undefined);
  assert.deepEqual(index.entries(ref), [{ key, value: "ours", modRevision: "10" }]);
});

test("a foreign change, delete or new key is drift, and the index takes etcd's content", () => {
  const { compare, index } = setup();
  assert.deepEqual(compare({ key, value: "theirs", modRevision: "12", asOf: "12" }), {
    ref,
    key,
    change: "changed",
  });
  assert.deepEqual(index.entries(ref), [{ key, value: "theirs", modRevision: "12" }]);
  assert.equal(compare({ key, value: "theirs", modRevision: "12", asOf: "14" }), undefined, "seen once");
  assert.deepEqual(compare({ key, value: undefined, modRevision: "15", asOf: "15" }), {
    ref,
    key,
    change: "deleted",
  });
  assert.deepEqual(index.entries(ref), []);
  assert.equal(compare({ key, value: undefined, modRevision: "16", asOf: "16" }), undefined);
  const stray = sampleVpn({ cluster: "east", vpn: "stray" });
  const strayKey = recordKey(stray);
  assert.deepEqual(compare({ key: strayKey, value: "x", modRevision: "17", asOf: "17" }), {
    ref: refOf(stray),
    key: strayKey,
    change: "added",
  });
});

test("the same bytes rewritten refresh the revision without drift; other clusters' and non-record keys are ignored", () => {
  const { compare, index } = setup();
  assert.equal(compare({ key, value: "ours", modRevision: "11", asOf: "11" }), undefined);
  assert.deepEqual(index.entries(ref), [{ key, value: "ours", modRevision: "11" }]);
  const west = recordKey(sampleFunction({ cluster: "west" }));
  assert.equal(compare({ key: west, value: "x", modRevision: "20", asOf: "20" }), undefined);
  assert.equal(
    compare({ key: "/switchboard/v1/clusters/east/leader", value: "x", modRevision: "21", asOf: "21" }),
    undefined,
  );
});

test("a listing older than the writer's last write of the object says nothing (it deleted or rewrote the key since)", () => {
  const { compare, index } = setup(30n);
  assert.equal(compare({ key, value: "stale", modRevision: "25", asOf: "29" }), undefined);
  assert.equal(compare({ key, value: undefined, modRevision: "29", asOf: "29" }), undefined);
  assert.deepEqual(index.entries(ref), [{ key, value: "ours", modRevision: "10" }]);
});
