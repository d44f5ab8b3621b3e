// `npm run image` end to end: both archives are built (layers from the user's cache, as in CI),
// read back with GNU tar and checked against the OCI image-layout rules that `ctr images import`
// relies on, then their root file systems are unpacked and run (as root, with chroot, as uid
// 10001): the compiled gateway of the Switchboard image delivers an event to the echo function
// of the function image, over a real etcd registry.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { startGateway } from "../../e2e/gateway.ts";
import { cleanup, testEtcd, uniqueName } from "../../e2e/harness.ts";
import { freePort } from "../../e2e/ports.ts";
import { start, waitFor } from "../../e2e/proc.ts";
import { repoRoot } from "../../e2e/tools.ts";
import { get } from "../../helm/chart-kit.ts";
import { freshCluster } from "../../registry/testing/etcd.ts";
import { sampleFunction, sampleSubscription, sampleVpn } from "../../registry/testing/records.ts";
import { clientOf, write } from "../../registry/testing/watcher.ts";
import { compile, PROJECTS } from "./compile.ts";
import { buildImage } from "./image.ts";
import { ARCHITECTURE, MEDIA } from "./oci.ts";
import { sharedLibraries } from "./rootfs.ts";
import { APP_CONTENTS, APP_DIR, CMD, ECHO, ENTRYPOINT, ENV, NODE_PATH, PORTS, PROGRAMS } from "./spec.ts";
import {
  diffId,
  type Listed,
  list as listTar,
  type Opened,
  openArchive,
  unpackLayers,
} from "./testing/archive.ts";

mkdirSync(join(repoRoot, ".work"), { recursive: true });
const out = mkdtempSync(join(repoRoot, ".work", "image-"));
cleanup(() => rmSync(out, { recursive: true, force: true }));

const sb = await buildImage({ outDir: join(out, "a") });
const echo = await buildImage({ kind: "echo", outDir: join(out, "a") });
const sbArchive = openArchive(sb.file, join(out, "sb"));
const echoArchive = openArchive(echo.file, join(out, "echo"));
const pkg: unknown = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8"));
const nodePackage = execFileSync("bash", [join(repoRoot, "scripts/node24.sh"), "--package-dir"], {
  encoding: "utf8",
}).trim();

const text = (v: unknown): string => (typeof v === "string" ? v : assert.fail(`not a string: ${String(v)}`));
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : assert.fail(`not a list: ${String(v)}`));

interface Parsed {
  manifest: unknown;
  config: unknown;
  layers: string[];
}

/** Checks the layout rules of `archive` (built as `name`) and returns its manifest, config and layer digests. */
const checkLayout = (archive: Opened, name: string): Parsed => {
  assert.deepEqual(
    archive.entries.map((e) => e.path).filter((p) => !p.startsWith("blobs/")),
    ["index.json", "oci-layout"],
  );
  assert.deepEqual(archive.json("oci-layout"), { imageLayoutVersion: "1.0.0" });
  for (const b of archive.blobs) assert.equal(b.sha256, b.name, `blob ${b.name} holds other bytes`);
  const size = (digest: string): number | undefined =>
    archive.blobs.find((b) => `sha256:${b.name}` === digest)?.size;

  const index = archive.json("index.json");
  assert.equal(get(index, "schemaVersion"), 2);
  assert.equal(get(index, "mediaType"), MEDIA.index);
  assert.equal(list(get(index, "manifests")).length, 1);
  const entry = get(index, "manifests", 0);
  const manifestDigest = text(get(entry, "digest"));
  assert.equal(get(entry, "mediaType"), MEDIA.manifest);
  assert.equal(get(entry, "size"), size(manifestDigest));
  assert.deepEqual(get(entry, "platform"), { architecture: ARCHITECTURE, os: "linux" });
  const tag = `${text(get(pkg, "version"))}-${manifestDigest.slice(7, 19)}`;
  assert.equal(get(entry, "annotations", "io.containerd.image.name"), `${name}:${tag}`);
  assert.equal(get(entry, "annotations", "org.opencontainers.image.ref.name"), tag);

  const manifest: unknown = JSON.parse(archive.blob(manifestDigest).toString());
  assert.equal(get(manifest, "schemaVersion"), 2);
  assert.equal(get(manifest, "mediaType"), MEDIA.manifest);
  const configDigest = text(get(manifest, "config", "digest"));
  assert.equal(get(manifest, "config", "mediaType"), MEDIA.config);
  assert.equal(get(manifest, "config", "size"), size(configDigest));
  const layers = list(get(manifest, "layers")).map((l) => {
    const digest = text(get(l, "digest"));
    assert.equal(get(l, "mediaType"), MEDIA.layer);
    assert.equal(get(l, "size"), size(digest), `layer ${digest} size`);
    return digest;
  });
  assert.deepEqual(
    archive.blobs.map((b) => `sha256:${b.name}`).sort(),
    [manifestDigest, configDigest, ...layers].sort(),
    "every blob is referenced, every reference has its blob",
  );

  const config: unknown = JSON.parse(archive.blob(configDigest).toString());
  assert.equal(get(config, "os"), "linux");
  assert.equal(get(config, "architecture"), ARCHITECTURE);
  assert.equal(ARCHITECTURE, process.arch === "x64" ? "amd64" : process.arch);
  assert.equal(get(config, "rootfs", "type"), "layers");
  assert.deepEqual(
    get(config, "rootfs", "diff_ids"),
    layers.map((l) => diffId(archive, l)),
  );
  assert.equal(list(get(config, "history")).length, layers.length);
  return { manifest, config, layers };
};

const sbParsed = checkLayout(sbArchive, "docker.io/library/switchboard");
const echoParsed = checkLayout(echoArchive, ECHO.repository);

/** Every entry of the layers by path (no trailing slash), a later layer's entry winning. */
const layerFiles = (archive: Opened, layers: string[]): Map<string, Listed> => {
  const all = new Map<string, Listed>();
  for (const digest of layers)
    for (const e of listTar(join(archive.dir, "blobs/sha256", digest.slice(7)), true))
      all.set(e.path.replace(/\/$/, ""), e);
  return all;
};
const sbFiles = layerFiles(sbArchive, sbParsed.layers);
const echoFiles = layerFiles(echoArchive, echoParsed.layers);

test("the archives follow the OCI image layout, and ctr import names them by the content-derived tag", () => {
  // checkLayout ran at the top for both archives (blob digests and sizes, references, diff_ids).
  assert.equal(sb.name, `docker.io/library/switchboard:${sb.tag}`);
  assert.equal(echo.name, `${ECHO.repository}:${echo.tag}`);
  assert.match(sb.tag, /^\d+\.\d+\.\d+-[0-9a-f]{12}$/);
  assert.equal(sbParsed.layers.length, 3);
  assert.equal(echoParsed.layers.length, 2);
  assert.equal(echoParsed.layers[0], sbParsed.layers[0], "both images share the runtime layer");
  assert.ok(sb.compressedSize < sb.uncompressedSize);
});

test("the Switchboard image runs node with source maps as uid 10001, the operator by default, and carries the OCI labels", () => {
  const c = get(sbParsed.config, "config");
  assert.equal(get(c, "User"), "10001:10001");
  assert.deepEqual(get(c, "Entrypoint"), ENTRYPOINT);
  assert.deepEqual(get(c, "Cmd"), CMD);
  assert.deepEqual(get(c, "Cmd"), [PROGRAMS.operator.path]);
  assert.equal(get(c, "WorkingDir"), APP_DIR);
  assert.deepEqual(
    list(get(c, "Env")).filter((e) => !text(e).startsWith("PATH=")),
    Object.entries(ENV).map(([k, v]) => `${k}=${v}`),
  );
  assert.ok(list(get(c, "Env")).some((e) => text(e).split("=")[1]?.split(":").includes("/usr/local/bin")));
  assert.deepEqual(
    Object.keys(get(c, "ExposedPorts") ?? {}),
    PORTS.map((p) => `${p}/tcp`),
  );
  const head = execFileSync("git", ["rev-parse", "HEAD"], { cwd: repoRoot, encoding: "utf8" }).trim();
  const label = (name: string): unknown => get(c, "Labels", `org.opencontainers.image.${name}`);
  assert.equal(label("version"), get(pkg, "version"));
  assert.match(text(label("revision")), new RegExp(`^${head}(-dirty)?$`));
  assert.equal(label("source"), "https://switchboard.dev");
  assert.match(text(label("created")), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal(label("created"), get(sbParsed.config, "created"));
  const e = get(echoParsed.config, "config");
  assert.deepEqual(get(e, "Entrypoint"), ENTRYPOINT);
  assert.deepEqual(get(e, "Cmd"), [ECHO.program]);
  assert.equal(get(e, "User"), "10001:10001");
});

test("the layers hold node, its libraries, the user, /tmp, production dependencies and compiled programs: root-owned, epoch times", () => {
  for (const [path, e] of [...sbFiles, ...echoFiles]) {
    assert.equal(`${e.uid}/${e.gid}`, "0/0", path);
    assert.equal(e.time, "1970-01-01 00:00", path);
    assert.ok(
      e.mode.startsWith("-") || e.mode.startsWith("d"),
      `${path} is a ${e.mode}: no links or devices`,
    );
  }
  const mode = (path: string): string | undefined => sbFiles.get(path)?.mode;
  assert.equal(mode(NODE_PATH), "-rwxr-xr-x");
  assert.equal(mode("tmp"), "drwxrwxrwt");
  const libs = sharedLibraries(join(nodePackage, "bin/node"));
  assert.deepEqual(libs.map((l) => /^[a-z]+[-a-z_+]*/.exec(l.path.split("/").at(-1) ?? "")?.[0]).sort(), [
    "ld-linux-x",
    "libc",
    "libdl",
    "libgcc_s",
    "libm",
    "libpthread",
    "libstdc++",
  ]);
  for (const lib of libs) assert.equal(mode(lib.path.slice(1)), "-rwxr-xr-x", lib.path);
  const passwd = readFileSync(join(unpacked(), "etc/passwd"), "utf8");
  assert.match(passwd, /^switchboard:x:10001:10001:/m);
  assert.match(readFileSync(join(unpacked(), "etc/group"), "utf8"), /^switchboard:x:10001:$/m);
  const app = APP_DIR.slice(1);
  assert.deepEqual(
    [...sbFiles.keys()]
      .filter((p) => p.startsWith(`${app}/`) && p.split("/").length === 2)
      .map((p) => p.split("/")[1])
      .sort(),
    [...APP_CONTENTS],
  );
  const emitted = compile(PROJECTS.programs);
  assert.deepEqual(
    [...sbFiles]
      .filter(([p, e]) => p.startsWith(`${app}/dist/`) && e.mode.startsWith("-"))
      .map(([p]) => p.slice(app.length + 1)),
    emitted,
  );
  for (const program of Object.values(PROGRAMS)) {
    assert.equal(mode(`${app}/${program.path}`), "-rw-r--r--", program.path);
    assert.ok(sbFiles.has(`${app}/${program.path}.map`), `${program.path}.map`);
  }
  const deps = Object.keys(get(pkg, "dependencies") ?? {});
  for (const dep of deps) assert.ok(sbFiles.has(`${app}/node_modules/${dep}/package.json`), dep);
});

test("nothing else: no shell, no npm, no dev dependency, no TypeScript file, no test or test kit of ours", () => {
  const paths = [...sbFiles.keys()];
  for (const path of [
    "bin/sh",
    "usr/bin/sh",
    "bin/bash",
    "usr/local/bin/npm",
    "usr/bin/apt-get",
    "usr/bin/dpkg",
  ])
    assert.ok(!sbFiles.has(path), path);
  assert.deepEqual(
    paths.filter((p) => p.startsWith("bin/") || p.startsWith("sbin/") || p.startsWith("usr/bin/")),
    [],
  );
  const lock: unknown = JSON.parse(readFileSync(join(repoRoot, "package-lock.json"), "utf8"));
  // Dev dependencies, and what npm marks optional only because a production package names it as
  // an optional peer (typescript, by valibot) with its platform binaries.
  const devOnly = Object.entries(get(lock, "packages") ?? {})
    .filter(
      ([path, meta]) =>
        path.startsWith("node_modules/") &&
        (get(meta, "dev") === true || get(meta, "devOptional") === true || get(meta, "optional") === true),
    )
    .map(([path]) => `app/${path}`);
  assert.ok(
    devOnly.some((p) => p.endsWith("/typescript")),
    "the lockfile marks typescript as dev or optional",
  );
  for (const dev of devOnly) assert.ok(!sbFiles.has(dev), `${dev} (a dev dependency) is in the image`);
  assert.deepEqual(
    paths.filter((p) => /\.(ts|mts|cts)$|(^|\/)\.bin(\/|$)/.test(p)),
    [],
  );
  assert.deepEqual(
    paths.filter((p) => p.startsWith("app/dist/") && /\.test\.|\/testing\/|\/fixtures\//.test(p)),
    [],
  );
  assert.deepEqual(
    paths.filter((p) => p.startsWith("app/node_modules/") && p.endsWith(".map")),
    [],
  );
});

test("a build in an empty layer cache gives the same bytes: fixed times and owners, sorted entries", async () => {
  const cold = await buildImage({ outDir: join(out, "b"), cache: join(out, "cache") });
  assert.ok(cold.layers.every((l) => !l.cached));
  assert.equal(cold.manifestDigest, sb.manifestDigest);
  const sha = (file: string): string => createHash("sha256").update(readFileSync(file)).digest("hex");
  assert.equal(sha(cold.file), sha(sb.file));
});

let root: string | undefined;
/** The Switchboard image's root file system, unpacked once. */
const unpacked = (): string => {
  if (root === undefined) {
    root = join(out, "root-sb");
    unpackLayers(sbArchive, sbParsed.layers, root);
  }
  return root;
};

const canChroot = process.getuid?.() === 0 && spawnSync("chroot", ["--version"]).status === 0;
const skip = canChroot ? false : "needs root and chroot to run the unpacked images";

/** Runs `args` with the node of the unpacked image `dir` as uid/gid 10001 (chroot). */
const inImage = (dir: string, args: string[]) =>
  spawnSync("chroot", ["--userspec=10001:10001", dir, `/${NODE_PATH}`, ...args], { encoding: "utf8" });

test("in its own root file system the compiled program starts, and stack traces point at the TypeScript lines", {
  skip,
}, () => {
  const dir = unpacked();
  const help = inImage(dir, [...ENTRYPOINT.slice(1), `${APP_DIR}/${PROGRAMS.gateway.path}`, "--help"]);
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /^usage: /);
  const source = readFileSync(join(repoRoot, "common/flags.ts"), "utf8").split("\n");
  const line = source.findIndex((l) => l.includes("is not a DNS-1123 label`);")) + 1;
  assert.ok(line > 0);
  const script = `const m = await import("${APP_DIR}/dist/common/flags.js");
try { m.clusterNameFlag("Not_A_Label"); } catch (err) { console.log(err.stack); }`;
  const traced = inImage(dir, [...ENTRYPOINT.slice(1), "--input-type=module", "-e", script]);
  assert.equal(traced.status, 0, traced.stderr);
  assert.match(traced.stdout, new RegExp(`${APP_DIR}/common/flags\\.ts:${line}:\\d+`), traced.stdout);
  const bare = inImage(dir, ["--input-type=module", "-e", script]);
  assert.match(
    bare.stdout,
    /\/app\/dist\/common\/flags\.js:\d+/,
    "without source maps the trace names the .js",
  );
});

test("the gateway of the Switchboard image delivers an event to the echo function image, both as uid 10001", {
  skip,
}, async () => {
  const etcd = await testEtcd();
  const cluster = freshCluster();
  const echoRoot = join(out, "root-echo");
  unpackLayers(echoArchive, echoParsed.layers, echoRoot);
  const env = Object.fromEntries(
    list(get(echoParsed.config, "config", "Env")).map((e) => text(e).split("=") as [string, string]),
  );
  const port = await freePort();
  const fn = start({
    name: "echo function (image)",
    command: "chroot",
    args: [
      "--userspec=10001:10001",
      echoRoot,
      `/${NODE_PATH}`,
      ...ENTRYPOINT.slice(1),
      `${APP_DIR}/${ECHO.program}`,
    ],
    env: { ...env, HOST: "127.0.0.1", PORT: String(port), POD_NAME: "echo-image" },
    log: join(out, "echo.log"),
  });
  cleanup(() => fn.stop());
  const fnUrl = `http://127.0.0.1:${port}/`;
  await waitFor("the echo function to answer", async () => ((await fetch(fnUrl)).ok ? true : undefined));

  const token = uniqueName("image-token");
  const vpn = sampleVpn({ cluster, vpn: "shop" });
  const tokenSha256 = createHash("sha256").update(token).digest("hex");
  const fnRecord = sampleFunction({ cluster, vpn: "shop", namespace: "shop", name: "echo" });
  const sub = sampleSubscription({ cluster, vpn: "shop", namespace: "shop", name: "orders" });
  await write(
    clientOf(etcd),
    { ...vpn, spec: { namespaces: ["shop"], publishers: [{ name: "p", tokenSha256 }], limits: {} } },
    { ...fnRecord, spec: { endpoints: [fnUrl], timeoutMs: 5000, concurrency: 8, headers: {} } },
    {
      ...sub,
      spec: {
        function: { namespace: "shop", name: "echo" },
        mode: "sync",
        filters: [{ exact: { type: "com.example.order.created" } }],
        delivery: { retry: 0, backoffPolicy: "exponential", backoffDelayMs: 50, maxBackoffMs: 100 },
      },
    },
  );
  const gw = await startGateway({
    etcd,
    clusterName: cluster,
    dir: out,
    name: "image",
    prefix: ["chroot", "--userspec=10001:10001", unpacked()],
    entry: [`/${NODE_PATH}`, ...ENTRYPOINT.slice(1), `${APP_DIR}/${PROGRAMS.gateway.path}`],
  });
  cleanup(() => gw.proc.stop());
  const id = uniqueName("order");
  const res = await waitFor("the route to be served", async () => {
    const r = await fetch(gw.url, {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "ce-specversion": "1.0",
        "ce-id": id,
        "ce-source": "/shop",
        "ce-type": "com.example.order.created",
        "content-type": "application/json",
      },
      body: JSON.stringify({ total: 42 }),
    });
    if (r.status === 200) return r;
    await r.body?.cancel();
    return undefined;
  });
  const answer: unknown = await res.json();
  assert.equal(get(answer, "pod"), "echo-image");
  assert.equal(get(answer, "headers", "ce-id"), id);
  assert.deepEqual(JSON.parse(text(get(answer, "body"))), { total: 42 });
  // The Node-API module built for the image's glibc loads and runs there (common/malloc-trim.ts).
  assert.equal(gw.started.mallocTrim, "every 5000 ms with activity");
  await waitFor("glibc's free memory to be given back once", async () =>
    ((await gw.metric("switchboard_gateway_malloc_trims_total")) ?? 0) > 0 ? true : undefined,
  );
});
