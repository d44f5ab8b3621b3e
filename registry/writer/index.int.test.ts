import assert from "node:assert/strict";
import { test } from "node:test";
import { cleanup } from "../../e2e/harness.ts";
import { encodeRecord } from "../codec.ts";
import {
  InvalidRecordError,
  LeadershipLostError,
  RecordRefusedError,
  RegistryDecodeError,
  RegistryKeyError,
  WriterClosedError,
} from "../errors.ts";
import { clusterPrefix, collectionPrefix, gatewayKey, heartbeatKey, leaderKey, recordKey } from "../keys.ts";
import { client, counting, freshCluster, modRevision, stored } from "../testing/etcd.ts";
import { refOf, sampleFunction, sampleSubscription, sampleVpn } from "../testing/records.ts";
import { openWriter } from "./index.ts";

test("sync creates, updates, leaves unchanged, deletes and reports absent", async () => {
  const cluster = freshCluster();
  const { client: watched, calls } = counting(client);
  const writer = await openWriter({ client: watched, cluster, identity: "op-1" });
  const fn = sampleFunction({ cluster });
  const ref = refOf(fn);
  const key = recordKey(fn);

  assert.equal(await writer.sync(ref, fn), "created");
  assert.deepEqual(await stored(cluster), { [key]: encodeRecord(fn) });
  assert.deepEqual(writer.objects(), [ref]);

  const requests = calls.length;
  assert.equal(await writer.sync(ref, structuredClone(fn)), "unchanged");
  assert.equal(calls.length, requests, "an unchanged record costs no etcd request");

  const next = { ...fn, owner: { ...fn.owner, generation: 2 }, spec: { ...fn.spec, timeoutMs: 9000 } };
  assert.equal(await writer.sync(ref, next), "updated");
  assert.deepEqual(await stored(cluster), { [key]: encodeRecord(next) });

  assert.equal(await writer.sync(ref, undefined), "deleted");
  assert.deepEqual(await stored(cluster), {});
  assert.deepEqual(writer.objects(), []);
  const afterDelete = calls.length;
  assert.equal(await writer.sync(ref, undefined), "absent");
  assert.equal(calls.length, afterDelete, "an absent object costs no etcd request");

  const claim: unknown = JSON.parse((await client.get(leaderKey(cluster)).string()) ?? "null");
  assert.ok(claim !== null && typeof claim === "object" && "identity" in claim && "claimedAt" in claim);
  assert.equal(claim.identity, "op-1");
  assert.equal(typeof claim.claimedAt, "string");
});

test("moving an object to another VPN removes its old key in the same transaction", async () => {
  const cluster = freshCluster();
  const writer = await openWriter({ client, cluster, identity: "op-1" });
  const before = sampleSubscription({ cluster, vpn: "payments" });
  const after = sampleSubscription({ cluster, vpn: "shipping" });
  assert.equal(await writer.sync(refOf(before), before), "created");
  assert.equal(await writer.sync(refOf(after), after), "updated");
  assert.deepEqual(await stored(cluster), { [recordKey(after)]: encodeRecord(after) });

  const revision = Number(await modRevision(recordKey(after)));
  assert.equal(
    await client
      .get(recordKey(before))
      .revision(revision - 1)
      .exists(),
    true,
  );
  assert.equal(await client.get(recordKey(before)).revision(revision).exists(), false);
  assert.deepEqual(writer.objects(), [refOf(after)]);
});

test("another cluster's keys are never listed nor touched, even when one name prefixes the other", async () => {
  const cluster = freshCluster();
  const longer = `${cluster}-2`;
  const others = [freshCluster(), `x${cluster}`, longer];
  for (const other of others.slice(1))
    cleanup(async () => void (await client.delete().prefix(clusterPrefix(other))));
  const foreign = others.flatMap((other) => [
    sampleFunction({ cluster: other }),
    sampleVpn({ cluster: other }),
  ]);
  for (const record of foreign) await client.put(recordKey(record)).value(encodeRecord(record));
  // Garbage in the other subtrees: reading it at all would report it.
  const garbage = others.map((other) => recordKey(sampleSubscription({ cluster: other })));
  for (const key of garbage) await client.put(key).value("{garbage");
  const untouched = [...foreign.map(recordKey), ...garbage];
  const revisions = await Promise.all(untouched.map(modRevision));

  const invalid: string[] = [];
  const onInvalid = (key: string): void => void invalid.push(key);
  const writer = await openWriter({ client, cluster, identity: "op-1", pageSize: 1, onInvalid });
  assert.deepEqual(writer.objects(), []);
  const mine = sampleFunction({ cluster });
  assert.equal(await writer.sync(refOf(mine), mine), "created");
  assert.equal(await writer.sync(refOf(mine), undefined), "deleted");
  const vpn = sampleVpn({ cluster });
  assert.equal(await writer.sync(refOf(vpn), vpn), "created");
  const sub = sampleSubscription({ cluster });
  assert.equal(await writer.sync(refOf(sub), sub), "created");

  assert.deepEqual(await Promise.all(untouched.map(modRevision)), revisions);
  assert.deepEqual(invalid, [], "no other cluster's key was read");
  assert.deepEqual(writer.objects(), [refOf(sub), refOf(vpn)]);

  // And the other way round: the longer name does not see the shorter one's records.
  const theirs = await openWriter({ client, cluster: longer, identity: "op-2", onInvalid });
  const theirRecords = [sampleFunction, sampleSubscription, sampleVpn].map((sample) =>
    sample({ cluster: longer }),
  );
  assert.deepEqual(theirs.objects(), theirRecords.map(refOf), "its own records, the garbage one included");
  assert.deepEqual(invalid, [recordKey(sampleSubscription({ cluster: longer }))]);
  assert.deepEqual(await stored(cluster), {
    [recordKey(vpn)]: encodeRecord(vpn),
    [recordKey(sub)]: encodeRecord(sub),
  });
});

test("a reopened writer indexes every record of its cluster, across pages", async () => {
  const cluster = freshCluster();
  const first = await openWriter({ client, cluster, identity: "op-1" });
  const records = [
    sampleVpn({ cluster }),
    ...["a", "b", "c", "d", "e"].map((name) => sampleFunction({ cluster, name })),
    sampleSubscription({ cluster }),
  ];
  for (const record of records) assert.equal(await first.sync(refOf(record), record), "created");

  const second = await openWriter({ client, cluster, identity: "op-2", pageSize: 2 });
  const sorted = records.map(refOf).sort((a, b) => (a.kind + a.name < b.kind + b.name ? -1 : 1));
  assert.deepEqual(second.objects(), sorted);
  for (const record of records) assert.equal(await second.sync(refOf(record), record), "unchanged");
});

test("a newer writer for the cluster fences the older one", async () => {
  const cluster = freshCluster();
  const older = await openWriter({ client, cluster, identity: "op-1" });
  const fn = sampleFunction({ cluster });
  assert.equal(await older.sync(refOf(fn), fn), "created");

  const newer = await openWriter({ client, cluster, identity: "op-2" });
  const snapshot = await stored(cluster);
  const changed = { ...fn, owner: { ...fn.owner, generation: 2 }, spec: { ...fn.spec, concurrency: 1 } };
  await assert.rejects(older.sync(refOf(changed), changed), (error) => {
    assert.ok(error instanceof LeadershipLostError);
    assert.equal(error.holder, "op-2");
    assert.equal(
      error.message,
      `"op-1" lost registry leadership of cluster ${cluster}: claimed since by "op-2"`,
    );
    return true;
  });
  const sub = sampleSubscription({ cluster });
  await assert.rejects(older.sync(refOf(sub), sub), LeadershipLostError);
  await assert.rejects(older.sync(refOf(fn), undefined), LeadershipLostError);
  assert.deepEqual(await stored(cluster), snapshot, "the deposed writer wrote nothing");

  assert.deepEqual(newer.objects(), [refOf(fn)]);
  assert.equal(await newer.sync(refOf(changed), changed), "updated");
});

test("a corrupted value is reported, indexed, and overwritten by sync", async () => {
  const cluster = freshCluster();
  const fn = sampleFunction({ cluster });
  const sub = sampleSubscription({ cluster });
  const badKey = `${collectionPrefix(cluster, "function")}payments/billing`;
  await client.put(recordKey(fn)).value("{not json");
  // Its own heartbeat and gateway keys are not records: neither indexed nor reported.
  await client.put(heartbeatKey(cluster)).value("alive");
  await client.put(gatewayKey(cluster, "gw-1")).value("{}");
  await client.put(recordKey(sub)).value(encodeRecord(sub).replace('"schema":1', '"schema":2'));
  await client.put(badKey).value(encodeRecord(fn));

  const invalid: [string, string][] = [];
  const onInvalid = (key: string, error: Error): void => void invalid.push([key, error.name]);
  const writer = await openWriter({ client, cluster, identity: "op-1", onInvalid });
  assert.deepEqual(
    invalid.sort(([a], [b]) => (a < b ? -1 : 1)),
    [
      [badKey, RegistryKeyError.name],
      [recordKey(fn), RegistryDecodeError.name],
      [recordKey(sub), RegistryDecodeError.name],
    ].sort(([a = ""], [b = ""]) => (a < b ? -1 : 1)),
  );
  assert.deepEqual(writer.objects(), [refOf(fn), refOf(sub)]);

  assert.equal(await writer.sync(refOf(fn), fn), "updated");
  assert.equal(await writer.sync(refOf(sub), undefined), "deleted");
  assert.deepEqual(await stored(cluster), { [recordKey(fn)]: encodeRecord(fn), [badKey]: encodeRecord(fn) });
});

test("records for another cluster or another object are refused without an etcd request", async () => {
  const cluster = freshCluster();
  const { client: watched, calls } = counting(client);
  const writer = await openWriter({ client: watched, cluster, identity: "op-1" });
  const requests = calls.length;
  const fn = sampleFunction({ cluster });
  const elsewhere = sampleFunction({ cluster: "elsewhere" });
  await assert.rejects(writer.sync(refOf(elsewhere), elsewhere), {
    name: RecordRefusedError.name,
    message: `record of cluster elsewhere refused by the writer of cluster ${cluster}`,
  });
  await assert.rejects(writer.sync({ kind: "function", namespace: "billing", name: "other" }, fn), {
    name: RecordRefusedError.name,
    message: "record of function billing/invoice given for function billing/other",
  });
  await assert.rejects(writer.sync({ ...refOf(fn), kind: "subscription" }, fn), RecordRefusedError);
  const broken = { ...fn, spec: { ...fn.spec, concurrency: 0 } };
  await assert.rejects(writer.sync(refOf(broken), broken), InvalidRecordError);
  assert.equal(calls.length, requests);
  assert.deepEqual(await stored(cluster), {});
  writer.close();
  await assert.rejects(writer.sync(refOf(fn), fn), WriterClosedError);
});
