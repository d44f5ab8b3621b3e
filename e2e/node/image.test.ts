import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { writeImageTarball } from "./image.ts";

interface Descriptor {
  digest: string;
  size: number;
  mediaType: string;
  annotations?: Record<string, string>;
}

test("an image tarball is a consistent OCI layout: named in index.json, every blob named by its sha256, files keep their mode", async (t) => {
  const work = mkdtempSync(join(tmpdir(), "sb-image-"));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const program = join(work, "hello");
  writeFileSync(program, "#!/bin/sh\necho hello\n");
  chmodSync(program, 0o755);

  const tarball = await writeImageTarball(
    {
      name: "localhost/switchboard/hello:1",
      files: { "bin/hello": program },
      links: { "bin/hi": "hello" },
      entrypoint: ["/bin/hello"],
    },
    join(work, "hello.tar"),
  );

  const layout = join(work, "layout");
  execFileSync("mkdir", ["-p", layout]);
  execFileSync("tar", ["-xf", tarball, "-C", layout]);
  const blob = (d: Descriptor): Buffer => {
    const data = readFileSync(join(layout, "blobs", "sha256", d.digest.replace("sha256:", "")));
    assert.equal(`sha256:${createHash("sha256").update(data).digest("hex")}`, d.digest);
    assert.equal(data.length, d.size);
    return data;
  };
  assert.deepEqual(JSON.parse(readFileSync(join(layout, "oci-layout"), "utf8")), {
    imageLayoutVersion: "1.0.0",
  });
  const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8")) as { manifests: Descriptor[] };
  const [entry] = index.manifests;
  assert.ok(entry);
  assert.equal(entry.annotations?.["io.containerd.image.name"], "localhost/switchboard/hello:1");
  const manifest = JSON.parse(blob(entry).toString()) as { config: Descriptor; layers: Descriptor[] };
  const config = JSON.parse(blob(manifest.config).toString()) as {
    config: { Entrypoint: string[] };
    rootfs: { diff_ids: string[] };
  };
  assert.deepEqual(config.config.Entrypoint, ["/bin/hello"]);
  const [layer] = manifest.layers;
  assert.ok(layer);
  blob(layer);
  assert.deepEqual(config.rootfs.diff_ids, [layer.digest]);

  const listing = execFileSync(
    "tar",
    ["-tvf", join(layout, "blobs", "sha256", layer.digest.replace("sha256:", ""))],
    { encoding: "utf8" },
  );
  assert.match(listing, /^-rwxr-xr-x 0\/0 .* \.\/bin\/hello$/m);
  assert.match(listing, /^lrwxrwxrwx 0\/0 .* \.\/bin\/hi -> hello$/m);
});
