// Drift against a real etcd: changes made behind the writer's back are found by an audit (and by
// observe, as a watch reports them), taken into the index, and rewritten or removed by the next
// sync; the writer's own writes are never reported.
import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeRecord } from "../codec.ts";
import { recordKey } from "../keys.ts";
import { client, counting, freshCluster, modRevision, stored } from "../testing/etcd.ts";
import { refOf, sampleFunction, sampleSubscription, sampleVpn } from "../testing/records.ts";
import { openWriter } from "./index.ts";

test("audit: a tampered, a deleted and a stray record are reported once; syncs repair them; an untouched registry costs no write", async () => {
  const cluster = freshCluster();
  const { client: watched, calls } = counting(client);
  const writer = await openWriter({ client: watched, cluster, identity: "op-1" });
  const vpn = sampleVpn({ cluster });
  const fn = sampleFunction({ cluster });
  const sub = sampleSubscription({ cluster });
  for (const record of [vpn, fn, sub]) await writer.sync(refOf(record), record);
  assert.deepEqual(await writer.audit(), [], "the writer's own writes are not drift");
  const untouched = await modRevision(recordKey(sub));

  const tampered = {
    ...vpn,
    spec: { ...vpn.spec, publishers: [{ name: "evil", tokenSha256: "0".repeat(64) }] },
  };
  await client.put(recordKey(vpn)).value(encodeRecord(tampered));
  await client.delete().key(recordKey(fn));
  const stray = sampleSubscription({ cluster, name: "stray" });
  await client.put(recordKey(stray)).value(encodeRecord(stray));

  const drifts = await writer.audit();
  assert.deepEqual(drifts.map((d) => `${d.change} ${d.ref.kind} ${d.ref.name}`).sort(), [
    "added subscription stray",
    `changed vpn ${vpn.owner.name}`,
    `deleted function ${fn.owner.name}`,
  ]);
  assert.deepEqual(await writer.audit(), [], "each change is reported once");

  assert.equal(await writer.sync(refOf(vpn), vpn), "updated");
  assert.equal(await writer.sync(refOf(fn), fn), "created");
  assert.equal(await writer.sync(refOf(stray), undefined), "deleted");
  assert.equal(await writer.sync(refOf(sub), sub), "unchanged");
  assert.deepEqual(await stored(cluster), {
    [recordKey(vpn)]: encodeRecord(vpn),
    [recordKey(fn)]: encodeRecord(fn),
    [recordKey(sub)]: encodeRecord(sub),
  });
  assert.equal(await modRevision(recordKey(sub)), untouched, "the untouched record was not rewritten");

  const before = calls.length;
  assert.deepEqual(await writer.audit(), []);
  assert.ok(
    calls.slice(before).every((c) => c === "getAll"),
    `an audit only reads: ${calls.slice(before).join(",")}`,
  );
});

test("observe: a watch's view of the writer's own write is not drift, a later foreign put is", async () => {
  const cluster = freshCluster();
  const writer = await openWriter({ client, cluster, identity: "op-1" });
  const fn = sampleFunction({ cluster });
  const key = recordKey(fn);
  await writer.sync(refOf(fn), fn);
  const own = (await modRevision(key)) ?? "";
  assert.equal(
    await writer.observe({ key, value: encodeRecord(fn), modRevision: own, asOf: own }),
    undefined,
  );
  const other = { ...fn, spec: { ...fn.spec, endpoints: ["http://10.9.9.9:80/"] } };
  await client.put(key).value(encodeRecord(other));
  const theirs = (await modRevision(key)) ?? "";
  assert.deepEqual(
    await writer.observe({ key, value: encodeRecord(other), modRevision: theirs, asOf: theirs }),
    {
      ref: refOf(fn),
      key,
      change: "changed",
    },
  );
  assert.equal(await writer.sync(refOf(fn), fn), "updated");
  assert.equal(await client.get(key).string(), encodeRecord(fn));
});
