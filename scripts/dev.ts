// Dev mode, like the Serverless Event Gateway's --dev: point it at a directory of manifests
// (VPNs, Functions, Subscriptions, Secrets, Namespaces) and it runs everything — no cluster to
// install. The manifests are validated by the same CRD schemas and CEL rules as in a cluster (a
// throwaway local control plane serves as validator and store), the operator writes the registry
// into its etcd, a gateway routes, and every change to the directory is applied again; objects
// whose files are gone are deleted. Use `target.url` Functions (there are no pods in dev mode).
// Functions run on this machine, so dev mode allows loopback egress explicitly (DEV_EGRESS_ALLOW):
// the registry etcd, the API server and the gateway's own ports stay refused.
//   node scripts/dev.ts -f DIR [--port 8080] [--metrics-port 9090] [--work DIR]
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, watch } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { parseAllDocuments } from "yaml";
import { errorMessage } from "../common/errors.ts";
import { installCrds } from "../crds/install.ts";
import { type Cluster, startCluster } from "../e2e/cluster.ts";
import { startGateway } from "../e2e/gateway.ts";
import { startOperator } from "../e2e/operator.ts";
import { repoRoot } from "../e2e/tools.ts";

/** Loopback, which the gateway refuses by default: dev-mode functions listen on localhost. */
const DEV_EGRESS_ALLOW = ["127.0.0.0/8", "::1"];

const { values } = parseArgs({
  options: {
    file: { type: "string", short: "f" },
    port: { type: "string", default: "8080" },
    "metrics-port": { type: "string", default: "9090" },
    work: { type: "string", default: join(repoRoot, ".work", "dev") },
  },
});
if (!values.file) {
  console.error("usage: npm run dev -- -f DIR [--port 8080] [--metrics-port 9090]");
  process.exit(2);
}
// npm runs scripts from the package root; INIT_CWD is where the user typed the command.
const source = resolve(process.env.INIT_CWD ?? process.cwd(), values.file);
if (!existsSync(source)) {
  console.error(`dev: ${source} does not exist`);
  process.exit(2);
}

const KINDS: Record<string, string> = {
  VPN: "vpns.switchboard.dev",
  Function: "functions.switchboard.dev",
  Subscription: "subscriptions.switchboard.dev",
};

/** The switchboard objects the directory declares, as "kind|namespace|name". */
const declared = (): Set<string> => {
  const names = new Set<string>();
  for (const file of readdirSync(source).filter((f) => /\.ya?ml$/.test(f))) {
    for (const doc of parseAllDocuments(readFileSync(join(source, file), "utf8"))) {
      const obj = doc.toJSON() as { kind?: string; metadata?: { name?: string; namespace?: string } } | null;
      if (obj?.kind && KINDS[obj.kind] && obj.metadata?.name)
        names.add(`${obj.kind}|${obj.metadata.namespace ?? ""}|${obj.metadata.name}`);
    }
  }
  return names;
};

const existing = async (cluster: Cluster): Promise<Set<string>> => {
  const out = JSON.parse(
    await cluster.kubectl(["get", Object.values(KINDS).join(","), "-A", "-o", "json"]),
  ) as {
    items: { kind: string; metadata: { name: string; namespace?: string } }[];
  };
  return new Set(out.items.map((o) => `${o.kind}|${o.metadata.namespace ?? ""}|${o.metadata.name}`));
};

/** Applies the directory; deletes switchboard objects no longer declared. Prints what happened; never throws. */
const sync = async (cluster: Cluster): Promise<void> => {
  try {
    const applied = await cluster.kubectl(["apply", "-f", source]);
    console.log(applied.trim().replace(/^/gm, "  "));
    const want = declared();
    for (const id of await existing(cluster)) {
      if (want.has(id)) continue;
      const [kind = "", namespace, name = ""] = id.split("|");
      await cluster.kubectl([
        "delete",
        KINDS[kind] ?? kind,
        name,
        ...(namespace ? ["-n", namespace] : []),
        "--wait=false",
      ]);
      console.log(`  ${kind} ${namespace ? `${namespace}/` : ""}${name} deleted (its file is gone)`);
    }
    console.log("dev: applied");
  } catch (err) {
    console.log(`dev: refused — ${errorMessage(err)}`);
  }
};

const work = values.work;
if (existsSync(work)) rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
console.log("dev: starting (etcd, kube-apiserver as validator, operator, gateway)…");
const cluster = await startCluster({ dir: work, name: "dev" });
const stops: (() => Promise<void>)[] = [() => cluster.stop()];
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void (async () => {
      for (const stop of stops.reverse()) await stop().catch(() => {});
      process.exit(0);
    })();
  });
}
await installCrds(cluster);
const operator = await startOperator(cluster, {
  clusterName: "dev",
  id: "dev-operator",
  etcd: cluster.etcd,
  leaseNamespace: "default",
  egressAllow: DEV_EGRESS_ALLOW,
});
stops.push(() => operator.proc.stop());
const gateway = await startGateway({
  etcd: cluster.etcd,
  clusterName: "dev",
  dir: work,
  name: "dev",
  listenPort: Number(values.port),
  metricsPort: Number(values["metrics-port"]),
  egressAllow: DEV_EGRESS_ALLOW,
});
stops.push(() => gateway.proc.stop());
await sync(cluster);
console.log(
  `dev: gateway ${gateway.url} (admin ${gateway.adminUrl}); egress to loopback allowed (${DEV_EGRESS_ALLOW.join(", ")}); watching ${source} — Ctrl-C stops`,
);
let timer: NodeJS.Timeout | undefined;
let running = Promise.resolve();
watch(source, () => {
  if (timer) clearTimeout(timer);
  timer = setTimeout(() => {
    running = running.then(() => sync(cluster));
  }, 200);
});
