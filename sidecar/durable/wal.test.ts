import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { silentLogger } from "../../common/log.ts";
import type { CloudEvent } from "../types.ts";
import { openWal, WalFullError } from "./wal.ts";

const dirFor = (t: { after: (fn: () => void) => void }): string => {
  const dir = mkdtempSync(join(tmpdir(), "sb-wal-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
};

const ev = (id: string, data?: string): CloudEvent => ({
  attributes: { specversion: "1.0", id, source: "/t", type: "t", count: 3, flag: true },
  data: data === undefined ? undefined : Buffer.from(data),
});

const open = (dir: string, extra: { maxBytes?: number; segmentBytes?: number; corrupt?: string[] } = {}) =>
  openWal({
    dir,
    durability: "fsync",
    maxBytes: extra.maxBytes ?? 1 << 30,
    ...(extra.segmentBytes ? { segmentBytes: extra.segmentBytes } : {}),
    log: silentLogger(),
    onCorruption: (file, offset, reason) =>
      extra.corrupt?.push(`${file.slice(file.lastIndexOf("/") + 1)}@${offset}: ${reason}`),
  });

test("what was appended and not acknowledged is recovered after a reopen, exactly", async (t) => {
  const dir = dirFor(t);
  const wal = await open(dir);
  assert.deepEqual(wal.recovered, []);
  const seqs = await wal.append([
    { routeKey: "/k/a", event: ev("1", "one") },
    { routeKey: "/k/b", event: ev("2") },
  ]);
  const [third] = await wal.append([{ routeKey: "/k/c", event: ev("3", "ünïcode") }]);
  wal.ack(seqs[0] ?? 0);
  await wal.close();
  const again = await open(dir);
  assert.deepEqual(
    again.recovered.map((e) => [e.seq, e.routeKey, e.event.attributes.id, e.event.data?.toString()]),
    [
      [seqs[1], "/k/b", "2", undefined],
      [third, "/k/c", "3", "ünïcode"],
    ],
  );
  assert.deepEqual(again.recovered[0]?.event.attributes, ev("2").attributes);
  const [next] = await again.append([{ routeKey: "/k/d", event: ev("4") }]);
  assert.ok((next ?? 0) > (third ?? 0), "sequence numbers keep growing across runs");
  await again.close();
});

test("a torn tail is reported and truncated; what came before it is recovered and new appends follow", async (t) => {
  const dir = dirFor(t);
  const wal = await open(dir);
  await wal.append([{ routeKey: "/k", event: ev("1") }]);
  await wal.append([{ routeKey: "/k", event: ev("2") }]);
  await wal.append([{ routeKey: "/k", event: ev("3", "x".repeat(100)) }]);
  await wal.close();
  const [segment] = readdirSync(dir);
  assert.ok(segment);
  const path = join(dir, segment);
  const full = readFileSync(path);
  writeFileSync(path, full.subarray(0, full.length - 40));
  const corrupt: string[] = [];
  const again = await open(dir, { corrupt });
  assert.deepEqual(
    again.recovered.map((e) => e.event.attributes.id),
    ["1", "2"],
  );
  assert.equal(corrupt.length, 1);
  assert.match(corrupt[0] ?? "", /torn record/);
  assert.ok(statSync(path).size < full.length - 40, "the torn record was cut off");
  await again.append([{ routeKey: "/k", event: ev("4") }]);
  await again.close();
  const third = await open(dir);
  assert.deepEqual(
    third.recovered.map((e) => e.event.attributes.id),
    ["1", "2", "4"],
  );
  await third.close();
});

test("a flipped byte fails the checksum: that record and the rest of its segment are never replayed", async (t) => {
  const dir = dirFor(t);
  const wal = await open(dir);
  await wal.append([{ routeKey: "/k", event: ev("1") }]);
  await wal.append([{ routeKey: "/k", event: ev("2") }]);
  await wal.close();
  const [segment] = readdirSync(dir);
  const path = join(dir, segment ?? "");
  const buf = readFileSync(path);
  const second = buf.indexOf(Buffer.from('"id":"2"'));
  buf[second + 6] = "9".charCodeAt(0);
  writeFileSync(path, buf);
  const corrupt: string[] = [];
  const again = await open(dir, { corrupt });
  assert.deepEqual(
    again.recovered.map((e) => e.event.attributes.id),
    ["1"],
  );
  assert.match(corrupt[0] ?? "", /checksum mismatch/);
  await again.close();
});

test("segments are removed once every event in them is acknowledged", async (t) => {
  const dir = dirFor(t);
  const wal = await open(dir, { segmentBytes: 300 });
  const seqs: number[] = [];
  for (let i = 0; i < 10; i++)
    seqs.push(...(await wal.append([{ routeKey: "/k", event: ev(String(i), "y".repeat(50)) }])));
  const before = readdirSync(dir).length;
  assert.ok(before >= 3, `expected several segments, got ${before}`);
  for (const seq of seqs.slice(0, 8)) wal.ack(seq);
  await wal.append([{ routeKey: "/k", event: ev("late") }]);
  assert.ok(readdirSync(dir).length < before, "fully acknowledged segments are deleted");
  await wal.close();
  const again = await open(dir, { segmentBytes: 300 });
  assert.deepEqual(
    again.recovered.map((e) => e.event.attributes.id),
    ["8", "9", "late"],
  );
  await again.close();
});

test("at the size cap an append fails whole with WalFullError and nothing of it is written", async (t) => {
  const dir = dirFor(t);
  const wal = await open(dir, { maxBytes: 400 });
  await wal.append([{ routeKey: "/k", event: ev("1", "z".repeat(100)) }]);
  await assert.rejects(
    wal.append([
      { routeKey: "/k", event: ev("2", "z".repeat(100)) },
      { routeKey: "/k", event: ev("3", "z".repeat(100)) },
    ]),
    WalFullError,
  );
  await wal.close();
  const again = await open(dir, { maxBytes: 400 });
  assert.deepEqual(
    again.recovered.map((e) => e.event.attributes.id),
    ["1"],
  );
  await again.close();
});

test("concurrent appends share writes (group commit) and all resolve in order", async (t) => {
  const dir = dirFor(t);
  const wal = await open(dir);
  const results = await Promise.all(
    Array.from({ length: 200 }, (_, i) => wal.append([{ routeKey: "/k", event: ev(String(i)) }])),
  );
  const seqs = results.flat();
  assert.deepEqual(
    seqs,
    [...seqs].sort((a, b) => a - b),
  );
  assert.equal(new Set(seqs).size, 200);
  await wal.close();
  assert.equal((await open(dir)).recovered.length, 200);
});
