// The image build's cache (next to scripts/node24.sh's Node download): finished layer blobs by
// the hash of their inputs, so a warm build only compiles and packs the application layer.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { type Layer, writeLayer } from "./oci.ts";
import type { Entry } from "./tar.ts";

/** The cache root scripts/node24.sh uses: $SWITCHBOARD_CACHE, else $XDG_CACHE_HOME/switchboard, else ~/.cache/switchboard. */
export const cacheRoot = (env: NodeJS.ProcessEnv = process.env): string =>
  env.SWITCHBOARD_CACHE ?? join(env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "switchboard");

/** Bumped when the layer format changes, so older cached blobs are not reused. */
const FORMAT = "oci-layer-1";

/** A sha256 over `parts`, in order. */
export const inputHash = (...parts: (string | Buffer)[]): string => {
  const h = createHash("sha256").update(FORMAT);
  for (const part of parts) h.update(`\0${part.length}\0`).update(part);
  return h.digest("hex");
};

/** The inputs of `entries` (paths, modes, owners, and each file's bytes or its source's size and mtime), hashed. */
export const entriesHash = (entries: readonly Entry[]): string =>
  inputHash(
    ...entries.map((e) => {
      const head = `${e.path} ${e.type} ${e.mode} ${e.uid ?? 0} ${e.gid ?? 0}`;
      if (e.type === "dir") return head;
      if ("data" in e) return `${head} ${createHash("sha256").update(e.data).digest("hex")}`;
      const st = statSync(e.source);
      return `${head} ${e.source} ${st.size} ${st.mtimeMs}`;
    }),
  );

const isLayer = (v: unknown): v is Omit<Layer, "file"> =>
  typeof v === "object" &&
  v !== null &&
  "digest" in v &&
  typeof v.digest === "string" &&
  "diffId" in v &&
  typeof v.diffId === "string" &&
  "size" in v &&
  typeof v.size === "number" &&
  "uncompressedSize" in v &&
  typeof v.uncompressedSize === "number" &&
  "comment" in v &&
  typeof v.comment === "string";

/**
 * The layer cached under `key`, or the one `entries()` gives, written and cached now. A cached
 * blob whose size no longer matches its record is rebuilt.
 */
export const cachedLayer = async (
  dir: string,
  key: string,
  comment: string,
  entries: () => Promise<Entry[]> | Entry[],
): Promise<Layer & { cached: boolean }> => {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${key}.tar.gz`);
  const meta = join(dir, `${key}.json`);
  if (existsSync(meta) && existsSync(file)) {
    const record: unknown = JSON.parse(readFileSync(meta, "utf8"));
    if (isLayer(record) && statSync(file).size === record.size) return { ...record, file, cached: true };
  }
  rmSync(meta, { force: true });
  const layer = await writeLayer(await entries(), file, comment);
  const { file: _file, ...record } = layer;
  writeFileSync(meta, JSON.stringify(record));
  return { ...layer, cached: false };
};
