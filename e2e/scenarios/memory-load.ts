// Memory limits honoured: the shared gateway and an injected sidecar, under the chart's and the
// injector's limits, take a paced async load to a function answering in 50 ms, then a burst to a
// function that hangs; neither is OOM-killed or restarted, and each pod's working set (from its
// memory cgroup on the node) is reported idle, under load and at peak.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { get, list } from "../../helm/chart-kit.ts";
import { repoRoot } from "../tools.ts";
import { kubectl, type ScenarioEnv, waitReady } from "./env.ts";
import { describeLoad, hostLoad, podLoad } from "./host-load.ts";
import { NAMESPACE } from "./install.ts";
import {
  HANG_TYPE,
  injectedLoader,
  LOAD,
  LOAD_TOKEN,
  loadVpn,
  SIDECAR_PORT,
  SLOW_TYPE,
} from "./manifests.ts";
import { type ContainerRef, mib, readMemory, sampleMemory } from "./memory.ts";
import type { Scenario } from "./scenario.ts";

const LOADER = "loader";
const SIDECAR = "switchboard-gateway";

interface Watched {
  readonly label: string;
  readonly ref: ContainerRef;
}

const podsOf = async (env: ScenarioEnv, namespace: string, selector?: string): Promise<unknown[]> =>
  list(
    JSON.parse(
      await kubectl(env, [
        "-n",
        namespace,
        "get",
        "pods",
        ...(selector ? ["-l", selector] : []),
        "-o",
        "json",
      ]),
    ),
    "items",
  );

/** The Switchboard containers to measure: operator and gateway pods, and the loader's sidecar. */
const watched = async (env: ScenarioEnv): Promise<Watched[]> => {
  const node = env.node;
  if (!node) throw new Error("the memory scenario needs the local node");
  const out: Watched[] = [];
  for (const pod of await podsOf(env, NAMESPACE)) {
    const name = String(get(pod, "metadata", "name"));
    const container = String(get(pod, "spec", "containers", 0, "name"));
    if (container === "etcd") continue;
    out.push({ label: name, ref: await node.containerRef(NAMESPACE, name, container) });
  }
  const [loader] = await podsOf(env, LOAD, `app=${LOADER}`);
  const loaderName = String(get(loader, "metadata", "name"));
  out.push({ label: `${loaderName}/${SIDECAR}`, ref: await node.containerRef(LOAD, loaderName, SIDECAR) });
  return out;
};

/** Runs `work` while sampling every container; notes each one's last and peak working set. */
const measured = async <T>(
  env: ScenarioEnv,
  phase: string,
  all: readonly Watched[],
  work: () => Promise<T>,
): Promise<T> => {
  const samplers = all.map((w) => ({ w, sampler: sampleMemory(w.ref) }));
  try {
    return await work();
  } finally {
    for (const { w, sampler } of samplers) {
      const { peakWorkingSet, last } = sampler.stop();
      env.note(
        `${phase}: ${w.label} working set ${mib(last.workingSet)} MiB, peak ${mib(peakWorkingSet)} MiB (limit ${mib(last.limit)} MiB, max usage ${mib(last.maxUsage)} MiB)`,
      );
    }
  }
};

/** Fails naming every container that restarted or was OOM-killed, in the release and the load namespace. */
const assertNoRestarts = async (env: ScenarioEnv): Promise<void> => {
  const problems: string[] = [];
  for (const ns of [NAMESPACE, LOAD])
    for (const pod of await podsOf(env, ns))
      for (const status of list(pod, "status", "containerStatuses")) {
        const who = `${String(get(pod, "metadata", "name"))}/${String(get(status, "name"))}`;
        const restarts = Number(get(status, "restartCount"));
        const reason = get(status, "lastState", "terminated", "reason");
        if (restarts !== 0) problems.push(`${who} restarted ${restarts} times`);
        if (reason === "OOMKilled") problems.push(`${who} was OOMKilled`);
      }
  assert.deepEqual(problems, [], "no container restarted or was OOM-killed");
  env.note("restarts: 0, no OOMKilled (switchboard-system and load namespaces)");
};

export const memory: Scenario = {
  name: "memory limits",
  summary:
    "the shared gateway and an injected sidecar take a paced async load to a 50 ms function, then a burst to a hanging one, under the chart's and the injector's memory limits: never OOM-killed, restarts 0; working sets reported idle, under load and at peak",
  needs: "node",
  run: async (env) => {
    await kubectl(env, ["apply", "-f", "-"], loadVpn(env.images.echo));
    const source = readFileSync(join(repoRoot, "e2e/scenarios/loadgen.ts"), "utf8");
    await kubectl(env, ["apply", "-f", "-"], injectedLoader(LOADER, env.images.echo, source));
    for (const d of ["slow", "hang", "count", LOADER])
      await kubectl(env, ["-n", LOAD, "rollout", "status", `deployment/${d}`, "--timeout=120s"]);
    await waitReady(env, undefined, `vpn/${LOAD}`);
    await waitReady(env, LOAD, "subscriptions.switchboard.dev", "--all");
    const all = await watched(env);
    for (const w of all) env.note(`idle: ${w.label} working set ${mib(readMemory(w.ref).workingSet)} MiB`);

    const url = await env.gatewayUrl();
    const { rate, seconds } = env.load;
    const paced = { rate, seconds, token: LOAD_TOKEN, type: SLOW_TYPE, connections: 256 };
    const shared = await measured(env, "shared gateway load", all, () => hostLoad({ url, ...paced }));
    env.note(`shared gateway, function answering in 50 ms: ${describeLoad(shared)}`);
    assert.ok(shared.accepted > 0, describeLoad(shared));

    const [loader] = await podsOf(env, LOAD, `app=${LOADER}`);
    const loaderPod = String(get(loader, "metadata", "name"));
    const local = `http://127.0.0.1:${SIDECAR_PORT}/`;
    const sidecar = await measured(env, "sidecar load", all, () =>
      podLoad(env, LOAD, loaderPod, "app", { ...paced, url: local, token: undefined, connections: 64 }),
    );
    env.note(`injected sidecar, function answering in 50 ms: ${describeLoad(sidecar)}`);
    assert.ok(sidecar.accepted > 0, describeLoad(sidecar));

    const burst = { rate: 5000, seconds: 2, token: LOAD_TOKEN, type: HANG_TYPE, connections: 256 };
    const [toShared, toSidecar] = await measured(env, "burst to a hanging function", all, async () => {
      const both = await Promise.all([
        hostLoad({ url, ...burst }),
        podLoad(env, LOAD, loaderPod, "app", { ...burst, url: local, token: undefined, connections: 64 }),
      ]);
      // The hanging deliveries time out (2 s) and are retried (3 times): hold the measurement through them.
      await new Promise((r) => setTimeout(r, 10_000));
      return both;
    });
    env.note(`burst to the hanging function, shared gateway: ${describeLoad(toShared)}`);
    env.note(`burst to the hanging function, sidecar: ${describeLoad(toSidecar)}`);
    await assertNoRestarts(env);
  },
};
