import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { buildNative } from "../scripts/image/compile.ts";
import { createMallocTrimmer, loadMallocTrim } from "./malloc-trim.ts";

/** A process whose activity the test sets; `trim` answers when the test settles it. */
const proc = () => {
  const p = { activity: 0, trims: 0, released: [] as number[], errors: [] as unknown[] };
  let settle: ((bytes: number) => void) | undefined;
  let fail: ((err: Error) => void) | undefined;
  const trimmer = createMallocTrimmer({
    activity: () => p.activity,
    trim: () => {
      p.trims++;
      return new Promise<number>((resolve, reject) => {
        settle = resolve;
        fail = reject;
      });
    },
    onTrim: (bytes) => p.released.push(bytes),
    onError: (err) => p.errors.push(err),
  });
  /** One check whose trim, if it runs, answers `bytes`. */
  const check = async (bytes = 4096): Promise<boolean> => {
    const checked = trimmer.check();
    settle?.(bytes);
    settle = undefined;
    return checked;
  };
  return { p, trimmer, check, fail: (err: Error) => fail?.(err) };
};

test("the first check trims what starting left behind; quiet intervals after it do not", async () => {
  const { p, check } = proc();
  assert.equal(await check(1 << 20), true);
  assert.deepEqual(p.released, [1 << 20]);
  assert.equal(await check(), false);
  assert.equal(await check(), false);
  assert.equal(p.trims, 1);
});

test("every interval with a request or a delivery attempt trims once at its end", async () => {
  const { p, check } = proc();
  await check();
  for (let i = 0; i < 3; i++) {
    p.activity += 100;
    assert.equal(await check(), true);
  }
  assert.equal(await check(), false, "quiet again");
  assert.equal(p.trims, 4);
});

test("asked after a full collection, the next check trims even when quiet, once", async () => {
  const { p, trimmer, check } = proc();
  await check();
  trimmer.request();
  assert.equal(await check(), true);
  assert.equal(await check(), false);
  assert.equal(p.trims, 2);
});

test("a check while a trim runs starts no second one, and the activity it saw is not trimmed twice", async () => {
  const { p, trimmer, check } = proc();
  const first = trimmer.check(); // runs, unanswered
  p.activity += 1;
  assert.equal(await trimmer.check(), false, "one call at a time");
  await check(); // answers the first
  assert.equal(await first, true);
  assert.equal(p.trims, 1);
});

test("a failed call is told and the next interval tries again", async () => {
  const { p, trimmer, check, fail } = proc();
  const failed = trimmer.check();
  fail(new Error("boom"));
  assert.equal(await failed, false);
  assert.equal((p.errors[0] as Error).message, "boom");
  p.activity += 1;
  assert.equal(await check(), true);
});

const built = mkdtempSync(join(tmpdir(), "malloc-trim-"));
after(() => rmSync(built, { recursive: true, force: true }));

test("without the module, or with a file that is not one, loading says why and nothing throws", () => {
  const absent = loadMallocTrim(join(built, "absent.node"));
  assert.ok("missing" in absent && absent.missing.includes("npm run build"), JSON.stringify(absent));
  const notModule = join(built, "not-a-module.node");
  writeFileSync(notModule, "not an ELF file");
  const bad = loadMallocTrim(notModule);
  assert.ok("missing" in bad && bad.missing.startsWith(`cannot load ${notModule}`), JSON.stringify(bad));
});

test("the built module gives freed memory in the middle of the heap back to the kernel", () => {
  const [file = ""] = buildNative(built);
  const path = join(built, file);
  // In a child process: 1000 buffers of 64 KiB from glibc's heap (below its mmap threshold),
  // every tenth kept, the rest freed by a full collection: about 56 MiB of free memory below live
  // blocks, which glibc alone keeps. The module's trim() gives it back and says how much.
  const script = `
    const { loadMallocTrim } = await import(${JSON.stringify(new URL("./malloc-trim.ts", import.meta.url).href)});
    const loaded = loadMallocTrim(${JSON.stringify(path)});
    if (!("module" in loaded)) throw new Error(loaded.missing);
    let buffers = Array.from({ length: 1000 }, () => Buffer.allocUnsafeSlow(64 * 1024).fill(1));
    const kept = buffers.filter((_, i) => i % 10 === 0);
    buffers = undefined;
    globalThis.gc();
    const before = process.memoryUsage.rss();
    const released = await loaded.module.trim();
    console.log(JSON.stringify({ released, rssDrop: before - process.memoryUsage.rss(), kept: kept.length }));
  `;
  const out = execFileSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", script], {
    encoding: "utf8",
    env: { ...process.env, MALLOC_ARENA_MAX: "2" },
  });
  const { released, rssDrop, kept } = JSON.parse(out) as { released: number; rssDrop: number; kept: number };
  assert.equal(kept, 100);
  const MiB = 1024 * 1024;
  assert.ok(released > 32 * MiB, `released ${(released / MiB).toFixed(1)} MiB`);
  assert.ok(rssDrop > 32 * MiB, `the process's resident memory fell by ${(rssDrop / MiB).toFixed(1)} MiB`);
});
