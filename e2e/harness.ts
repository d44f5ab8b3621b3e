// Real parts for integration and e2e tests. Under `npm test` one control plane is shared by all
// test files (scripts/test.ts starts it and names its cluster.json in SWITCHBOARD_TEST_CLUSTER);
// a test file run on its own starts its own and stops it when the file ends. Tests isolate
// themselves by namespace and by etcd key prefix, never by assuming an empty cluster.
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after } from "node:test";
import { type Cluster, type ClusterInfo, connect, startCluster } from "./cluster.ts";
import { startEtcd } from "./etcd.ts";
import { waitForDefaultServiceAccount } from "./pods.ts";
import { alive } from "./proc.ts";
import { repoRoot } from "./tools.ts";

let shared: Promise<Cluster> | undefined;
const cleanups: (() => Promise<void> | void)[] = [];
let hooked = false;

/**
 * Registers `fn` to run when this test file ends, before the real parts it uses are stopped:
 * cleanups run last-registered first, after every test. Use it instead of `after` for anything
 * that talks to the cluster or etcd.
 */
export const cleanup = (fn: () => Promise<void> | void): void => {
  cleanups.push(fn);
  hookCleanups();
};

/** Runs the cleanups when the context this is first called in ends. */
const hookCleanups = (): void => {
  if (hooked) return;
  hooked = true;
  after(async () => {
    for (const next of cleanups.reverse()) await next();
  });
};
// Under the test runner the hook is the file's: registered now, while the file imports this module
// at its top level. Registered by a first cleanup() called inside a test (a file that starts
// nothing of its own on the shared control plane), it would run when that test ends, and the
// cleanups of later tests never: a watch left running then kept a file's process alive.
if (process.env.NODE_TEST_CONTEXT !== undefined) hookCleanups();
let sharedEtcd: Promise<string> | undefined;

const sharedInfo = (): ClusterInfo | undefined => {
  const file = process.env.SWITCHBOARD_TEST_CLUSTER;
  return file ? (JSON.parse(readFileSync(file, "utf8")) as ClusterInfo) : undefined;
};

/** The client URL of a real etcd for this test process: the shared control plane's, or one of its own. */
export const testEtcd = (): Promise<string> => {
  sharedEtcd ??= (async () => {
    const info = sharedInfo();
    if (info) return info.etcd;
    mkdirSync(join(repoRoot, ".work"), { recursive: true });
    const dir = mkdtempSync(join(repoRoot, ".work", "etcd-"));
    const etcd = await startEtcd(dir);
    cleanup(() => etcd.stop());
    removeOnSuccess(dir);
    return etcd.url;
  })();
  return sharedEtcd;
};

const removeOnSuccess = (dir: string): void => {
  process.on("exit", (code) => {
    if (code === 0 && (process.exitCode ?? 0) === 0) rmSync(dir, { recursive: true, force: true });
    else console.error(`logs kept in ${dir}`);
  });
};

const open = async (): Promise<Cluster> => {
  const info = sharedInfo();
  if (info) return connect(info);
  const cluster = await startCluster({ name: "test" });
  cleanup(() => cluster.stop());
  // Logs stay behind when a test failed; otherwise the directory goes.
  removeOnSuccess(cluster.dir);
  return cluster;
};

/** The control plane for this test process; call it at the top level of a test file (it registers `after`). */
export const testCluster = (): Promise<Cluster> => {
  shared ??= open();
  return shared;
};

/** Waits up to 60 s until the objects are Ready (`kubectl wait --for=condition=Ready`, e.g. ["vpn/x"] or ["functions.switchboard.dev", "--all"]). */
export const waitReady = (
  cluster: Cluster,
  objects: readonly string[],
  namespace?: string,
): Promise<string> =>
  cluster.kubectl([
    "wait",
    "--for=condition=Ready",
    "--timeout=60s",
    ...(namespace === undefined ? [] : ["-n", namespace]),
    ...objects,
  ]);

/** A short random suffix for names that must not collide between test files sharing a cluster. */
export const uniqueName = (prefix: string): string => `${prefix}-${randomBytes(3).toString("hex")}`;

/**
 * YAML for a tenant: namespace `ns`, its Secret `publisher` (key `token`, plus `data`), and VPN
 * `vpn` of that namespace whose publisher `ci` holds the token. Ends with a document separator, so
 * the tenant's own objects can follow.
 */
export const tenantYaml = (
  ns: string,
  vpn: string,
  token: string,
  data: Record<string, string> = {},
): string => {
  const stringData = Object.entries({ token, ...data })
    .map(([k, v]) => `${k}: "${v}"`)
    .join(", ");
  return `apiVersion: v1
kind: Namespace
metadata: { name: ${ns} }
---
apiVersion: v1
kind: Secret
metadata: { name: publisher, namespace: ${ns} }
stringData: { ${stringData} }
---
apiVersion: switchboard.dev/v1alpha1
kind: VPN
metadata: { name: ${vpn} }
spec:
  namespaces: { names: [${ns}] }
  publishers: [{ name: ci, tokenSecretRef: { namespace: ${ns}, name: publisher, key: token } }]
---
`;
};

/** Creates a namespace with a unique name for one test file and returns its name. */
export const testNamespace = async (cluster: Cluster, prefix: string): Promise<string> => {
  const name = uniqueName(prefix);
  await cluster.kubectl(["create", "namespace", name]);
  await waitForDefaultServiceAccount(cluster, name);
  return name;
};

/**
 * Holds the lock `name` on `cluster` until this test file ends: test files that run an operator
 * (which reconciles every object of the cluster) take "operator" so they never overlap.
 */
export const exclusive = async (cluster: Cluster, name: string): Promise<void> => {
  const lock = join(cluster.dir, "locks", name);
  mkdirSync(join(cluster.dir, "locks"), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, "pid"), String(process.pid));
      break;
    } catch (err) {
      if (!(err instanceof Error && "code" in err && err.code === "EEXIST")) throw err;
      let pid: string;
      try {
        pid = readFileSync(join(lock, "pid"), { encoding: "utf8", flag: "a+" });
      } catch (readErr) {
        // The owner released the lock (removed its directory) since mkdir saw it: take it now.
        if (readErr instanceof Error && "code" in readErr && readErr.code === "ENOENT") continue;
        throw readErr;
      }
      const owner = Number(pid || "0");
      if (owner > 0 && !alive(owner)) rmSync(lock, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, 200));
    }
  }
  cleanup(() => rmSync(lock, { recursive: true, force: true }));
};
