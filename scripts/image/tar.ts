// A reproducible tar stream (POSIX ustar, with a PAX header for paths longer than 100 bytes):
// entries in the order given, fixed mtime, numeric owners only, no user or group names, so the
// same entries always give the same bytes. File contents come from memory or are streamed from
// disk. Read back by GNU tar, Go's archive/tar (containerd) and Docker alike.
import { createReadStream } from "node:fs";

export type Entry =
  | { path: string; type: "dir"; mode: number; uid?: number; gid?: number }
  | { path: string; type: "file"; mode: number; uid?: number; gid?: number; data: Buffer }
  | { path: string; type: "file"; mode: number; uid?: number; gid?: number; source: string; size: number };

/** The modification time of every entry: the epoch, so builds of the same files are byte-identical. */
export const MTIME = 0;
const BLOCK = 512;

const octal = (value: number, width: number): string => `${value.toString(8).padStart(width - 1, "0")}\0`;

const header = (name: string, type: string, size: number, mode: number, uid: number, gid: number): Buffer => {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, "utf8");
  h.write(octal(mode, 8), 100, "ascii");
  h.write(octal(uid, 8), 108, "ascii");
  h.write(octal(gid, 8), 116, "ascii");
  h.write(octal(size, 12), 124, "ascii");
  h.write(octal(MTIME, 12), 136, "ascii");
  h.write("        ", 148, "ascii");
  h.write(type, 156, "ascii");
  h.write("ustar\u000000", 257, "ascii");
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
  return h;
};

const padding = (size: number): Buffer => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);

/** A PAX record `"<len> path=<value>\n"`, whose length counts its own digits. */
const paxRecord = (key: string, value: string): string => {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len)
    len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
};

/** The header block(s) of one entry: a PAX extended header first when the path does not fit. */
const headers = (
  name: string,
  type: string,
  size: number,
  mode: number,
  uid: number,
  gid: number,
): Buffer[] => {
  if (Buffer.byteLength(name) <= 100) return [header(name, type, size, mode, uid, gid)];
  const pax = Buffer.from(paxRecord("path", name));
  return [
    header("PaxHeader", "x", pax.length, 0o644, 0, 0),
    pax,
    padding(pax.length),
    header(name.slice(0, 100), type, size, mode, uid, gid),
  ];
};

/** The tar stream of `entries` (directories named with a trailing `/`), ending with two zero blocks. Throws if a streamed file's size changed. */
export async function* tarStream(entries: Iterable<Entry>): AsyncGenerator<Buffer> {
  for (const e of entries) {
    const uid = e.uid ?? 0;
    const gid = e.gid ?? 0;
    if (e.type === "dir") {
      const name = e.path.endsWith("/") ? e.path : `${e.path}/`;
      yield* headers(name, "5", 0, e.mode, uid, gid);
      continue;
    }
    const size = "data" in e ? e.data.length : e.size;
    yield* headers(e.path, "0", size, e.mode, uid, gid);
    if ("data" in e) yield e.data;
    else {
      let read = 0;
      for await (const chunk of createReadStream(e.source)) {
        if (!Buffer.isBuffer(chunk)) throw new Error(`${e.source}: expected bytes`);
        read += chunk.length;
        yield chunk;
      }
      if (read !== size)
        throw new Error(`${e.source} changed while it was archived (${size} → ${read} bytes)`);
    }
    yield padding(size);
  }
  yield Buffer.alloc(2 * BLOCK);
}

/** `entries` sorted by path with every parent directory present (mode 0755, root-owned unless listed). */
export const withParents = (entries: readonly Entry[]): Entry[] => {
  const byPath = new Map<string, Entry>();
  for (const e of entries) byPath.set(e.path.replace(/\/$/, ""), e);
  for (const path of [...byPath.keys()]) {
    const parts = path.split("/");
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join("/");
      if (!byPath.has(dir)) byPath.set(dir, { path: dir, type: "dir", mode: 0o755 });
    }
  }
  return [...byPath.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([path, e]) => ({ ...e, path }));
};
