// Reading an OCI image archive back for tests, with GNU tar (an independent reader): unpack it,
// read its JSON documents by digest, list each layer with owners, modes and times, and unpack
// the layers in order into a root file system.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";

export interface Listed {
  /** ls-style mode, e.g. "-rwxr-xr-x", "drwxrwxrwt". */
  mode: string;
  uid: number;
  gid: number;
  size: number;
  /** "YYYY-MM-DD HH:MM" in UTC. */
  time: string;
  path: string;
}

export interface Opened {
  dir: string;
  /** The archive's own entries as GNU tar lists them. */
  entries: Listed[];
  /** Every blob: its name, the sha256 of its bytes, its size. */
  blobs: { name: string; sha256: string; size: number }[];
  json(path: string): unknown;
  blob(digest: string): Buffer;
}

const LINE = /^(\S{10}) (\d+)\/(\d+)\s+(\d+) (\d{4}-\d\d-\d\d \d\d:\d\d) (.*)$/;

/** GNU tar's verbose listing of `file` (gzip when `gzip`), numeric owners, UTC times. Throws on a line it cannot read. */
export const list = (file: string, gzip = false): Listed[] =>
  execFileSync("tar", [gzip ? "-tvzf" : "-tvf", file, "--numeric-owner"], {
    encoding: "utf8",
    env: { ...process.env, TZ: "UTC" },
    maxBuffer: 256 * 2 ** 20,
  })
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      const m = LINE.exec(line);
      if (!m) throw new Error(`tar listing: cannot read "${line}"`);
      return {
        mode: m[1] ?? "",
        uid: Number(m[2]),
        gid: Number(m[3]),
        size: Number(m[4]),
        time: m[5] ?? "",
        path: m[6] ?? "",
      };
    });

/** Unpacks the archive `file` into `dir` and reads its blobs. */
export const openArchive = (file: string, dir: string): Opened => {
  mkdirSync(dir, { recursive: true });
  execFileSync("tar", ["-xf", file, "-C", dir]);
  const blobDir = join(dir, "blobs/sha256");
  const blob = (digest: string): Buffer => readFileSync(join(blobDir, digest.replace(/^sha256:/, "")));
  return {
    dir,
    entries: list(file),
    blobs: readdirSync(blobDir).map((name) => {
      const data = readFileSync(join(blobDir, name));
      return { name, sha256: createHash("sha256").update(data).digest("hex"), size: data.length };
    }),
    json: (path) => JSON.parse(readFileSync(join(dir, path), "utf8")),
    blob,
  };
};

/** The sha256 digest of the gunzipped layer `digest`. */
export const diffId = (archive: Opened, digest: string): string =>
  `sha256:${createHash("sha256")
    .update(gunzipSync(archive.blob(digest)))
    .digest("hex")}`;

/** Unpacks `layers` (digests, in manifest order) into `root`, keeping owners and modes (as root). */
export const unpackLayers = (archive: Opened, layers: readonly string[], root: string): void => {
  mkdirSync(root, { recursive: true });
  for (const digest of layers)
    execFileSync("tar", [
      "-xzf",
      join(archive.dir, "blobs/sha256", digest.replace(/^sha256:/, "")),
      "-C",
      root,
      "--numeric-owner",
    ]);
};
