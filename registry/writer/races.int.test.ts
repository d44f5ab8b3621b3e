import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeRecord } from "../codec.ts";
import { RegistryConflictError } from "../errors.ts";
import { recordKey } from "../keys.ts";
import { client, freshCluster, meddling, stored } from "../testing/etcd.ts";
import { refOf, sampleFunction } from "../testing/records.ts";
import { openWriter } from "./index.ts";

test("a key changed behind the writer's back is re-read and the write retried once", async () => {
  const cluster = freshCluster();
  const fn = sampleFunction({ cluster });
  const key = recordKey(fn);
  const writer = await openWriter({ client: meddling(client, key, 1), cluster, identity: "op-1" });
  assert.equal(
    await writer.sync(refOf(fn), fn),
    "updated",
    "the retry found the meddler's value and replaced it",
  );
  assert.deepEqual(await stored(cluster), { [key]: encodeRecord(fn) });
  assert.equal(await writer.sync(refOf(fn), fn), "unchanged");
});

test("a key changed behind the writer's back twice in a row is a conflict", async () => {
  const cluster = freshCluster();
  const fn = sampleFunction({ cluster });
  const key = recordKey(fn);
  const writer = await openWriter({ client: meddling(client, key, 2), cluster, identity: "op-1" });
  await assert.rejects(writer.sync(refOf(fn), fn), (error) => {
    assert.ok(error instanceof RegistryConflictError);
    assert.deepEqual(error.keys, [key]);
    return true;
  });
  assert.deepEqual(await stored(cluster), { [key]: "meddled, 0 left" });
  assert.equal(await writer.sync(refOf(fn), fn), "updated", "the index learnt the meddler's revision");
  assert.equal(await writer.sync(refOf(fn), undefined), "deleted");
  assert.deepEqual(await stored(cluster), {});
});

test("concurrent syncs of one object are applied in call order", async () => {
  const cluster = freshCluster();
  const writer = await openWriter({ client, cluster, identity: "op-1" });
  const versions = [1, 2, 3, 4].map((generation) => sampleFunction({ cluster, generation }));
  const results = await Promise.all(versions.map((record) => writer.sync(refOf(record), record)));
  assert.deepEqual(results, ["created", "updated", "updated", "updated"]);
  const last = versions.at(-1);
  assert.ok(last !== undefined);
  assert.deepEqual(await stored(cluster), { [recordKey(last)]: encodeRecord(last) });
});
