// Container images without a registry: an OCI image layout (oci-layout, index.json, manifest,
// config and one uncompressed tar layer, each blob named by its sha256) written as a tarball that
// `ctr images import` reads. Small on purpose: the product's own image builder replaces it later.
import { createHash } from "node:crypto";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { run } from "../proc.ts";

export interface ImageSpec {
  /** Full reference, e.g. `localhost/switchboard/busybox:1`; pods name it with `imagePullPolicy: Never`. */
  readonly name: string;
  /** Files of the root file system: path inside the image → host file copied there (mode kept). */
  readonly files: Readonly<Record<string, string>>;
  /** Symbolic links: path inside the image → target. */
  readonly links?: Readonly<Record<string, string>>;
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  readonly env?: readonly string[];
}

interface Blob {
  readonly digest: string;
  readonly size: number;
}

const sha256 = (data: Buffer): string => `sha256:${createHash("sha256").update(data).digest("hex")}`;

const putBlob = (layout: string, data: Buffer): Blob => {
  const digest = sha256(data);
  writeFileSync(join(layout, "blobs", "sha256", digest.slice("sha256:".length)), data);
  return { digest, size: data.length };
};

const putJson = (layout: string, value: unknown): Blob => putBlob(layout, Buffer.from(JSON.stringify(value)));

/** Builds the root file system's tar (owned by root, fixed mtime) and returns its bytes. */
const layerTar = async (work: string, spec: ImageSpec): Promise<Buffer> => {
  const rootfs = join(work, "rootfs");
  for (const [path, source] of Object.entries(spec.files)) {
    const target = join(rootfs, path);
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(source, target);
  }
  for (const [path, target] of Object.entries(spec.links ?? {})) {
    mkdirSync(dirname(join(rootfs, path)), { recursive: true });
    symlinkSync(target, join(rootfs, path));
  }
  mkdirSync(join(rootfs, "tmp"), { recursive: true, mode: 0o1777 });
  const tar = join(work, "layer.tar");
  await run("tar", [
    "--create",
    "--file",
    tar,
    "--directory",
    rootfs,
    "--owner=0",
    "--group=0",
    "--numeric-owner",
    "--mtime=@0",
    "--sort=name",
    ".",
  ]);
  return readFileSync(tar);
};

/** Writes `spec` as an OCI image-layout tarball at `out` and returns `out`; throws tar's error. */
export const writeImageTarball = async (spec: ImageSpec, out: string): Promise<string> => {
  const work = mkdtempSync(join(dirname(out), "image-"));
  try {
    const layout = join(work, "layout");
    mkdirSync(join(layout, "blobs", "sha256"), { recursive: true });
    const layerBytes = await layerTar(work, spec);
    const layer = putBlob(layout, layerBytes);
    const config = putJson(layout, {
      architecture: "amd64",
      os: "linux",
      config: {
        Env: spec.env ?? ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
        ...(spec.cmd ? { Cmd: spec.cmd } : {}),
      },
      rootfs: { type: "layers", diff_ids: [layer.digest] },
    });
    const manifest = putJson(layout, {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", ...layer }],
    });
    const tag = spec.name.slice(spec.name.lastIndexOf(":") + 1);
    writeFileSync(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    writeFileSync(
      join(layout, "index.json"),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            ...manifest,
            platform: { architecture: "amd64", os: "linux" },
            annotations: { "io.containerd.image.name": spec.name, "org.opencontainers.image.ref.name": tag },
          },
        ],
      }),
    );
    await run("tar", ["--create", "--file", out, "--directory", layout, "."]);
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
};
