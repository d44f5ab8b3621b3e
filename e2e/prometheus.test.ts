// Finding Debian's Prometheus binaries: PATH first, then /usr/bin, else an error naming the package.
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { PROMETHEUS_PACKAGE, prometheusBinary } from "./prometheus.ts";

const dir = mkdtempSync(join(tmpdir(), "prometheus-bin-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("a promtool on PATH wins over the fallback directories", () => {
  const file = join(dir, "promtool");
  writeFileSync(file, "#!/bin/sh\n");
  chmodSync(file, 0o755);
  assert.equal(prometheusBinary("promtool", { path: `/nonexistent:${dir}`, fallback: ["/usr/bin"] }), file);
});

test("a missing binary throws naming the Debian package to install", () => {
  assert.throws(
    () => prometheusBinary("prometheus", { path: "/nonexistent", fallback: [] }),
    new RegExp(`prometheus not found .*apt-get install -y --no-install-recommends ${PROMETHEUS_PACKAGE}$`),
  );
});
