// What this program is: the package version, the source revision and the Node.js version, for
// --version and the switchboard_build_info metric. Read once from the files beside the program:
// the package.json above it, and the revision from a build-info.json there (written by image
// builds) or, in a checkout, from .git.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Gauge, type Registry } from "prom-client";

export interface BuildInfo {
  readonly version: string;
  readonly revision: string;
  readonly node: string;
}

/** The nearest directory at or above `from` that holds a package.json, or undefined. */
const packageRoot = (from: string): string | undefined => {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
};

const readJson = (file: string): Record<string, unknown> | undefined => {
  try {
    const value: unknown = JSON.parse(readFileSync(file, "utf8"));
    return value !== null && typeof value === "object" ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};

/** The commit a checkout at `root` has out (HEAD, following one symbolic ref), or undefined. */
const gitRevision = (root: string): string | undefined => {
  try {
    const head = readFileSync(join(root, ".git", "HEAD"), "utf8").trim();
    if (!head.startsWith("ref: ")) return head;
    const ref = head.slice(5);
    const loose = join(root, ".git", ref);
    if (existsSync(loose)) return readFileSync(loose, "utf8").trim();
    const packed = readFileSync(join(root, ".git", "packed-refs"), "utf8");
    return packed
      .split("\n")
      .find((l) => l.endsWith(` ${ref}`))
      ?.split(" ")[0];
  } catch {
    return undefined;
  }
};

/** This program's build information; never throws ("unknown" for what cannot be found). */
export const buildInfo = (): BuildInfo => {
  const root = packageRoot(import.meta.dirname);
  const pkg = root === undefined ? undefined : readJson(join(root, "package.json"));
  const built = root === undefined ? undefined : readJson(join(root, "build-info.json"));
  const revision =
    (typeof built?.revision === "string" ? built.revision : undefined) ??
    (root === undefined ? undefined : gitRevision(root));
  return {
    version: typeof pkg?.version === "string" ? pkg.version : "unknown",
    revision: revision?.slice(0, 12) ?? "unknown",
    node: process.version,
  };
};

/** The --version line: `switchboard-gateway 0.1.0 (abc123def456, node v24.9.0)`. */
export const versionLine = (program: string, info: BuildInfo = buildInfo()): string =>
  `${program} ${info.version} (${info.revision}, node ${info.node})`;

/** Registers `switchboard_build_info{version,revision,node}` = 1 on `registry` (each program's metrics.ts calls it). */
export const registerBuildInfo = (registry: Registry, info: BuildInfo = buildInfo()): void => {
  new Gauge({
    name: "switchboard_build_info",
    help: "Always 1; its labels say which version, source revision and Node.js version this program is.",
    labelNames: ["version", "revision", "node"],
    registers: [registry],
  }).set({ version: info.version, revision: info.revision, node: info.node }, 1);
};
