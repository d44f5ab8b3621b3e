// The reproducible tar writer, read back by GNU tar: long paths (PAX), modes, numeric owners,
// epoch times, streamed and in-memory contents, and identical bytes for identical entries.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { after, test } from "node:test";
import { type Entry, tarStream, withParents } from "./tar.ts";
import { list } from "./testing/archive.ts";

const dir = mkdtempSync(join(tmpdir(), "sb-tar-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const long = `app/node_modules/${"deeply-nested-package/".repeat(6)}lib/index.js`;
const source = join(dir, "source.bin");
writeFileSync(source, Buffer.alloc(70_000, 7));
const entries = (): Entry[] =>
  withParents([
    { path: "tmp", type: "dir", mode: 0o1777 },
    { path: "usr/local/bin/node", type: "file", mode: 0o755, source, size: 70_000 },
    { path: long, type: "file", mode: 0o644, data: Buffer.from("export {};\n") },
    {
      path: "etc/passwd",
      type: "file",
      mode: 0o644,
      uid: 0,
      gid: 0,
      data: Buffer.from("root:x:0:0::/:/x\n"),
    },
  ]);
const write = async (name: string): Promise<string> => {
  const file = join(dir, name);
  await pipeline(tarStream(entries()), createWriteStream(file));
  return file;
};

test("GNU tar reads every entry back: parents first, modes, owners 0/0, epoch times, paths over 100 bytes", async () => {
  assert.ok(long.length > 100);
  const listed = list(await write("a.tar"));
  const paths = listed.map((e) => e.path);
  assert.ok(paths.includes(long), "the long path survives (PAX header)");
  assert.deepEqual(paths.slice(0, 3), [
    "app/",
    "app/node_modules/",
    "app/node_modules/deeply-nested-package/",
  ]);
  for (const e of listed) {
    assert.equal(`${e.uid}/${e.gid}`, "0/0");
    assert.equal(e.time, "1970-01-01 00:00");
  }
  const mode = (p: string) => listed.find((e) => e.path === p)?.mode;
  assert.equal(mode("tmp/"), "drwxrwxrwt");
  assert.equal(mode("usr/local/bin/node"), "-rwxr-xr-x");
  assert.equal(mode("etc/passwd"), "-rw-r--r--");
  const out = join(dir, "x");
  execFileSync("mkdir", ["-p", out]);
  execFileSync("tar", ["-xf", join(dir, "a.tar"), "-C", out]);
  assert.deepEqual(readFileSync(join(out, "usr/local/bin/node")), readFileSync(source));
  assert.equal(readFileSync(join(out, long), "utf8"), "export {};\n");
});

test("the same entries give the same bytes", async () => {
  assert.deepEqual(readFileSync(await write("b.tar")), readFileSync(await write("c.tar")));
});

test("a streamed file whose size changed is refused, not archived short", async () => {
  const bad: Entry[] = [{ path: "f", type: "file", mode: 0o644, source, size: 10 }];
  await assert.rejects(
    pipeline(tarStream(bad), createWriteStream(join(dir, "bad.tar"))),
    /changed while it was archived/,
  );
});
