// The control plane at scale: N Subscriptions (each with a prefix filter and a CEL expression, one
// VPN, one Function) applied at once with `kubectl apply --server-side` to a fresh local control
// plane, with the operator (compiled, as the image runs it) started inside a memory cgroup with the
// chart's limit. For each N: apply → all Ready, the operator's CPU and working set (peak, at the
// end, OOM kills), its CPU in the 10 s after (steady state), and writes per Subscription: registry
// revisions (the registry etcd's) and API server writes (the cluster etcd's revisions, which also
// count the creates themselves, Leases and Events).
//   node bench/scale.ts [--subscriptions 1000,5000,10000] [--limit-mib 512] [--cpu-prof DIR]
//     --cpu-prof: the operator writes a CPU profile of its whole run into DIR
//     --workers N: the operator's --workers (default: its own default)
//     --cold: apply the Subscriptions first, then start the operator, and measure from its start
//       (a cold start: every object needs its finalizer, record, status and Event)
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type KubeConfig, Watch } from "@kubernetes/client-node";
import { Etcd3 } from "etcd3";
import { installCrds } from "../crds/install.ts";
import { cgroupsAvailable, memoryCgroup } from "../e2e/cgroup.ts";
import { startCluster } from "../e2e/cluster.ts";
import { startEtcd } from "../e2e/etcd.ts";
import { startOperator } from "../e2e/operator.ts";
import { waitFor } from "../e2e/proc.ts";
import { compile, PROJECTS } from "../scripts/image/compile.ts";
import { cpuByProgram, cpuSeconds, type Row, report } from "./lib.ts";

const { values } = parseArgs({
  options: {
    subscriptions: { type: "string", default: "1000,5000,10000" },
    "limit-mib": { type: "string", default: "512" },
    "cpu-prof": { type: "string" },
    workers: { type: "string" },
    cold: { type: "boolean", default: false },
  },
});
/** Cold start: the Subscriptions are applied before the operator starts; measured from its start. */
const COLD = values.cold;
const sizes = values.subscriptions.split(",").map(Number);
const LIMIT = Number(values["limit-mib"]) * 2 ** 20;
if (!cgroupsAvailable()) {
  console.error("scale: needs root and a memory cgroup controller (the operator runs in one)");
  process.exit(1);
}
compile(PROJECTS.programs);

const NS = "scale";
const setupYaml = `apiVersion: v1
kind: Namespace
metadata: { name: ${NS} }
---
apiVersion: v1
kind: Secret
metadata: { name: publisher, namespace: ${NS} }
stringData: { token: "scale-token" }
---
apiVersion: switchboard.dev/v1alpha1
kind: VPN
metadata: { name: scale }
spec:
  namespaces: { names: [${NS}] }
  publishers: [{ name: bench, tokenSecretRef: { namespace: ${NS}, name: publisher, key: token } }]
---
apiVersion: switchboard.dev/v1alpha1
kind: Function
metadata: { name: fn, namespace: ${NS} }
spec: { vpn: scale, target: { url: "http://10.0.0.1:8080/" } }
`;

const subscriptions = (n: number): string =>
  Array.from(
    { length: n },
    (_, i) => `apiVersion: switchboard.dev/v1alpha1
kind: Subscription
metadata: { name: s-${i}, namespace: ${NS} }
spec:
  vpn: scale
  function: fn
  mode: async
  filters: [{ prefix: { type: "com.scale.t${i}." } }]
  cel: 'event.source == "/orders/${i}" && data.amount > ${i}'
`,
  ).join("---\n");

/**
 * The Subscriptions of NS whose Ready condition is True, kept by one watch (every object once, then
 * each change once). Counting them with a list every few seconds would itself load the API server
 * and this machine's two cores with N objects each time, and slow what it measures.
 */
const watchReady = async (kubeConfig: KubeConfig): Promise<{ ready(): number; stop(): void }> => {
  const status = new Map<string, boolean>();
  let ready = 0;
  let stopped = false;
  let request: AbortController | undefined;
  const start = async (): Promise<void> => {
    request = await new Watch(kubeConfig).watch(
      `/apis/switchboard.dev/v1alpha1/namespaces/${NS}/subscriptions`,
      {},
      (
        type,
        obj: { metadata?: { name?: string }; status?: { conditions?: { type: string; status: string }[] } },
      ) => {
        const name = obj.metadata?.name ?? "";
        const now =
          type !== "DELETED" &&
          obj.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;
        if (now !== (status.get(name) ?? false)) ready += now ? 1 : -1;
        status.set(name, now);
      },
      // The API server ends watches (its timeout, or a slow reader): watch again; the new watch
      // sends every object once more, which only confirms what is counted.
      (err) => {
        if (stopped) return;
        if (err) console.error(`scale: the Ready watch ended (${String(err)}); watching again`);
        void start();
      },
    );
  };
  await start();
  return {
    ready: () => ready,
    stop: () => {
      stopped = true;
      request?.abort();
    },
  };
};

const revision = async (url: string): Promise<number> => {
  const client = new Etcd3({ hosts: url });
  try {
    return Number((await client.get("/none").exec()).header.revision);
  } finally {
    client.close();
  }
};

interface Sample {
  subscriptions: number;
  readySeconds: number;
  /** How long `kubectl apply` itself took (the API server creating the objects, the operator already at work). */
  appliedSeconds: number;
  perSecond: number;
  operatorCoreSeconds: number;
  steadyCores: number;
  workingSetPeakMiB: number;
  workingSetEndMiB: number;
  oomKills: number;
  registryWritesPerObject: number;
  apiWritesPerObject: number;
  /** CPU seconds from apply to all Ready, by process of the control plane ("node" is the operator). */
  cpuByProcess: Record<string, number>;
  /** Ready when the bench gave up or the operator died. */
  ready: number;
  exited?: string;
}

const measure = async (n: number): Promise<Sample> => {
  const cluster = await startCluster({ name: `scale-${n}` });
  const cgroup = memoryCgroup(`scale-${process.pid}-${n}`, LIMIT);
  const stopAll: (() => Promise<void>)[] = [];
  try {
    await installCrds(cluster);
    const registry = await startEtcd(cluster.dir, { name: "registry" });
    stopAll.push(() => registry.stop());
    await cluster.kubectl(["apply", "-f", "-"], setupYaml);
    let exited: string | undefined;
    const startOp = async () => {
      const started = await startOperator(cluster, {
        clusterName: "scale",
        id: "scale-op",
        etcd: registry.url,
        leaseNamespace: NS,
        compiled: true,
        prefix: cgroup.prefix,
        ...(values.workers && { extraArgs: [`--workers=${values.workers}`] }),
        ...(values["cpu-prof"] && { nodeFlags: ["--cpu-prof", `--cpu-prof-dir=${values["cpu-prof"]}`] }),
      });
      stopAll.unshift(() => started.proc.stop());
      void started.proc.exited.then((code) => {
        exited = String(code);
      });
      return started;
    };
    const file = join(cluster.dir, "subscriptions.yaml");
    writeFileSync(file, subscriptions(n));
    let operator: Awaited<ReturnType<typeof startOp>> | undefined;
    let appliedSeconds = 0;
    if (!COLD) {
      operator = await startOp();
      await cluster.kubectl(["wait", "--for=condition=Ready", "--timeout=60s", "vpn/scale"]);
      await cluster.kubectl([
        "wait",
        "--for=condition=Ready",
        "--timeout=60s",
        "-n",
        NS,
        "functions.switchboard.dev/fn",
      ]);
    } else {
      const applying = performance.now();
      await cluster.kubectl(["apply", "--server-side", "-f", file]);
      appliedSeconds = (performance.now() - applying) / 1000;
    }
    const [reg0, api0, cpu0] = [
      await revision(registry.url),
      await revision(cluster.etcd),
      operator === undefined ? 0 : cpuSeconds(operator.proc.pid),
    ];
    const cpuBefore = cpuByProgram(cluster.dir);
    const t0 = performance.now();
    if (COLD) operator = await startOp();
    else {
      await cluster.kubectl(["apply", "--server-side", "-f", file]);
      appliedSeconds = (performance.now() - t0) / 1000;
    }
    if (operator === undefined) throw new Error("unreachable: the operator was started above");
    const watch = await watchReady(cluster.kubeConfig());
    stopAll.unshift(async () => watch.stop());
    let ready = 0;
    await waitFor(
      `${n} Subscriptions to be Ready`,
      async () => {
        if (exited !== undefined) return true;
        ready = watch.ready();
        return ready >= n ? true : undefined;
      },
      { timeoutMs: Math.max(120_000, n * 100), intervalMs: 100 },
    ).catch(() => undefined);
    const readySeconds = (performance.now() - t0) / 1000;
    const cpuByProcess = Object.fromEntries(
      [...cpuByProgram(cluster.dir)].map(([name, seconds]) => [
        name,
        Math.round((seconds - (cpuBefore.get(name) ?? 0)) * 10) / 10,
      ]),
    );
    const operatorCoreSeconds = exited === undefined ? cpuSeconds(operator.proc.pid) - cpu0 : Number.NaN;
    const [reg1, api1] = [await revision(registry.url), await revision(cluster.etcd)];
    let steadyCores = Number.NaN;
    if (exited === undefined) {
      const c0 = cpuSeconds(operator.proc.pid);
      await new Promise((r) => setTimeout(r, 10_000));
      steadyCores = (cpuSeconds(operator.proc.pid) - c0) / 10;
    }
    return {
      subscriptions: n,
      readySeconds,
      appliedSeconds,
      perSecond: ready / readySeconds,
      operatorCoreSeconds,
      steadyCores,
      workingSetPeakMiB: cgroup.peakMb(),
      workingSetEndMiB: cgroup.workingSetMb(),
      oomKills: cgroup.oomKills(),
      registryWritesPerObject: (reg1 - reg0) / n,
      apiWritesPerObject: (api1 - api0) / n,
      cpuByProcess,
      ready,
      ...(exited === undefined ? {} : { exited }),
    };
  } finally {
    for (const stop of stopAll) await stop();
    await cluster.stop();
    cgroup.remove();
  }
};

const samples: Sample[] = [];
for (const n of sizes) samples.push(await measure(n));

const f = (x: number, d = 1): string => x.toFixed(d);
console.log(
  [
    COLD
      ? `\n### scale, cold start: the operator started with the Subscriptions present, in a ${LIMIT / 2 ** 20} MiB memory cgroup\n`
      : `\n### scale: Subscriptions applied at once, the operator in a ${LIMIT / 2 ** 20} MiB memory cgroup\n`,
    `| Subscriptions | ${COLD ? "operator start → all Ready (their apply before it)" : "apply → all Ready (apply itself)"} | per second | operator CPU core-s | steady CPU | working set peak / end (MiB) | OOM kills | registry / API writes per Subscription | CPU core-s by process, apply → Ready |`,
    "|---|---|---|---|---|---|---|---|---|",
    ...samples.map(
      (s) =>
        `| ${s.subscriptions} | ${s.ready < s.subscriptions ? `${s.ready} Ready after ${f(s.readySeconds)} s${s.exited ? ` (operator exited: ${s.exited})` : ""}` : `${f(s.readySeconds)} s`} (${f(s.appliedSeconds)} s) | ${f(s.perSecond)} | ${f(s.operatorCoreSeconds)} | ${f(s.steadyCores * 100, 2)} % | ${f(s.workingSetPeakMiB)} / ${f(s.workingSetEndMiB)} | ${s.oomKills} | ${f(s.registryWritesPerObject, 2)} / ${f(s.apiWritesPerObject, 2)} | ${Object.entries(
          s.cpuByProcess,
        )
          .sort(([, a], [, b]) => b - a)
          .map(([name, seconds]) => `${name === "node" ? "operator" : name} ${f(seconds)}`)
          .join(", ")} |`,
    ),
  ].join("\n"),
);
const rows: Row[] = samples.map((s) => ({
  figure: `${s.subscriptions} Subscriptions: ${COLD ? "operator start" : "apply"} → all Ready, s (operator working set peak MiB)`,
  value:
    s.ready < s.subscriptions ? `${s.ready} Ready` : `${f(s.readySeconds)} (${f(s.workingSetPeakMiB, 0)})`,
  baseline: "—",
  ratio: "—",
  target: s.subscriptions >= 10_000 ? "≤ 60 s, ≤ 256 MiB" : "—",
  verdict:
    s.subscriptions >= 10_000
      ? s.ready >= s.subscriptions && s.readySeconds <= 60 && s.workingSetPeakMiB <= 256
        ? "met"
        : "missed"
      : "—",
}));
report(COLD ? "scale-cold" : "scale", rows, { limitMiB: LIMIT / 2 ** 20, samples });
process.exit(0);
