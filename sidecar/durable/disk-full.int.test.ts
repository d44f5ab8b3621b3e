// The delivery log on a real, small file system (a tmpfs the test mounts): it fills up, appends
// fail whole, nothing is ever acknowledged that is not on disk, what was acknowledged is exactly
// what a reopen recovers, and once events are delivered the log writes again by itself.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { silentLogger } from "../../common/log.ts";
import { mountTmpfs } from "../../e2e/tmpfs.ts";
import { repoRoot } from "../../e2e/tools.ts";
import type { CloudEvent } from "../types.ts";
import { openWal, WalFullError } from "./wal.ts";

const event = (id: string): CloudEvent => ({
  attributes: { specversion: "1.0", id, source: "/disk", type: "t" },
  data: Buffer.alloc(2000, 120),
});

const smallDisk = async (bytes: number): Promise<string> =>
  mountTmpfs(mkdtempSync(join(repoRoot, ".work", "tmpfs-")), bytes);

test("a full file system: appends fail whole, never resolve for bytes not on disk, and a reopen recovers exactly the accepted ones", async () => {
  const dir = await smallDisk(512 * 1024);
  const corrupt: string[] = [];
  const open = () =>
    openWal({
      dir,
      durability: "fsync",
      maxBytes: 64 * 1024 * 1024,
      segmentBytes: 128 * 1024,
      log: silentLogger(),
      onCorruption: (file, offset, reason) => corrupt.push(`${file}@${offset}: ${reason}`),
      probeIntervalMs: 20,
    });
  const wal = await open();
  const accepted: number[] = [];
  let failures = 0;
  for (let i = 0; i < 1000 && failures < 20; i++) {
    try {
      const [seq] = await wal.append([{ routeKey: "/r", event: event(`e-${i}`) }]);
      if (seq !== undefined) accepted.push(seq);
      failures = 0;
    } catch (err) {
      assert.ok(!(err instanceof WalFullError), "the disk, not the cap, is what fills");
      assert.match(String(err), /ENOSPC|accepted no more bytes/);
      failures++;
    }
  }
  assert.equal(failures, 20, "the file system filled up");
  assert.ok(accepted.length > 100, `${accepted.length} accepted`);
  assert.equal(wal.health().state, "failing");
  await wal.close();

  const again = await open();
  assert.deepEqual(corrupt, [], "no torn or zero-padded record is left behind");
  assert.deepEqual(
    again.recovered.map((e) => e.seq),
    accepted,
  );
  // Deliver (acknowledge) everything: finished segments are deleted and the log writes again.
  for (const e of again.recovered) again.ack(e.seq);
  let seq: number | undefined;
  for (let i = 0; i < 200 && seq === undefined; i++) {
    await new Promise((r) => setImmediate(r));
    [seq] = await again.append([{ routeKey: "/r", event: event("after") }]).catch(() => [undefined]);
    if (seq === undefined) await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(seq !== undefined, "appends succeed again once the acknowledged segments are gone");
  assert.equal(again.health().state, "ok");
  await again.close();
});

test("a small cap on a large disk: acknowledged events free their room, so the log never stays full", async () => {
  const dir = mkdtempSync(join(repoRoot, ".work", "cap-"));
  const maxBytes = 256 * 1024;
  const wal = await openWal({ dir, durability: "none", maxBytes, log: silentLogger() });
  let maxDisk = 0;
  for (let i = 0; i < 3000; i++) {
    const [seq] = await wal.append([{ routeKey: "/r", event: event(`c-${i}`) }]);
    assert.ok(seq !== undefined);
    wal.ack(seq);
    maxDisk = Math.max(maxDisk, wal.bytes());
  }
  // 3000 events of ~2 KiB each is 23 times the cap: only acknowledged room made this possible.
  const segment = Math.max(64 * 1024, maxBytes / 8);
  assert.ok(maxDisk <= maxBytes + 6 * segment, `disk grew to ${maxDisk}`);
  assert.equal(wal.liveBytes(), 0);
  await wal.close();
});

test("with one undelivered event per segment, compaction keeps the disk near the cap", async () => {
  const dir = mkdtempSync(join(repoRoot, ".work", "compact-"));
  const maxBytes = 512 * 1024;
  const wal = await openWal({ dir, durability: "none", maxBytes, log: silentLogger() });
  const kept: number[] = [];
  let maxDisk = 0;
  for (let i = 0; i < 3000; i++) {
    const [seq] = await wal.append([{ routeKey: "/r", event: event(`k-${i}`) }]);
    assert.ok(seq !== undefined);
    // Every 20th event stays undelivered (its function is down): each segment keeps some.
    if (i % 20 === 0) kept.push(seq);
    else wal.ack(seq);
    maxDisk = Math.max(maxDisk, wal.bytes());
  }
  assert.ok(maxDisk <= maxBytes + 6 * (maxBytes / 8), `disk grew to ${maxDisk}`);
  await wal.close();
  const again = await openWal({ dir, durability: "none", maxBytes, log: silentLogger() });
  assert.deepEqual(
    again.recovered.map((e) => e.seq),
    kept,
  );
  await again.close();
});
