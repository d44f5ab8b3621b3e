// Allocation per request: V8's sampling heap profiler, attached through the inspector with the
// objects that minor and major GCs collected included, samples what the gateway allocates while it
// serves paced sync requests, and the same for the bare Node forwarder (node:http in, undici out:
// the least a Node sidecar allocates for one hop). Allocation is what the gateway's GC time
// (about a quarter of its CPU in a closed loop, docs/benchmarks.md) is proportional to; the
// figure is steady between runs where throughput on this machine is not. The gateway's bytes are
// broken down by owner: its own modules, each package, and Node's own (HTTP, streams, timers).
//   node bench/allocation.ts [--seconds 4] [--rate 2000]
import { parseArgs } from "node:util";
import { memoryCgroup } from "../e2e/cgroup.ts";
import { startGateway } from "../e2e/gateway.ts";
import { freePort } from "../e2e/ports.ts";
import { programArgs } from "../e2e/programs.ts";
import { compile, PROJECTS } from "../scripts/image/compile.ts";
import {
  benchRegistry,
  benchRoute,
  eventHeaders,
  inspectorSession,
  load,
  pin,
  pinned,
  type Row,
  report,
  routesLoaded,
} from "./lib.ts";
import { startBenchFunction, startForwarder } from "./subjects/index.ts";

const { values } = parseArgs({
  options: { seconds: { type: "string", default: "4" }, rate: { type: "string", default: "2000" } },
});
const seconds = Number(values.seconds);
const rate = Number(values.rate);

interface CallFrame {
  functionName: string;
  url: string;
}
interface ProfileNode {
  callFrame: CallFrame;
  selfSize: number;
  children: ProfileNode[];
}

/** Samples what the process with an inspector on `port` allocates while `during` runs (every object, collected or not). */
const sampleAllocations = async <T>(
  port: number,
  during: () => Promise<T>,
): Promise<{ result: T; head: ProfileNode }> => {
  const [target] = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
    webSocketDebuggerUrl: string;
  }[];
  if (!target) throw new Error(`no inspector target on port ${port}`);
  const { call, close } = await inspectorSession(target.webSocketDebuggerUrl);
  await call("HeapProfiler.startSampling", {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  const result = await during();
  const { profile } = await call<{ profile: { head: ProfileNode } }>("HeapProfiler.stopSampling");
  close();
  return { result, head: profile.head };
};

/** Who allocated: the nearest frame with a script (V8 builtins such as sort belong to their caller). */
const ownerOf = (url: string): string | undefined => {
  if (url === "") return undefined;
  if (url.startsWith("node:")) return "Node (node:http, streams, timers, events)";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  return pkg ?? "the gateway's own modules";
};
const byOwner = (head: ProfileNode): Map<string, number> => {
  const owners = new Map<string, number>();
  const walk = (node: ProfileNode, owner: string): void => {
    const mine = ownerOf(node.callFrame.url) ?? owner;
    owners.set(mine, (owners.get(mine) ?? 0) + node.selfSize);
    for (const child of node.children) walk(child, mine);
  };
  walk(head, "V8 and Node's native side");
  return owners;
};

pin(process.pid, "1");
const registry = await benchRegistry();
const fn = await startBenchFunction("1");
await benchRoute(registry, `http://127.0.0.1:${fn.port}/fn`, "sync");
compile(PROJECTS.programs);
const body = JSON.stringify({ order: 42, items: ["a", "b"] });
const headers = eventHeaders("bench.event", { id: "b" });

/** Bytes allocated per request by the subject with an inspector on `port`, after a warm-up. */
const measure = async (url: string, port: number) => {
  const run = (s: number) => load({ url, headers, body, okStatus: 200, seconds: s, ratePerSecond: rate });
  await run(2);
  const { result, head } = await sampleAllocations(port, () => run(seconds));
  const owners = byOwner(head);
  const total = [...owners.values()].reduce((a, b) => a + b, 0);
  const perRequest = (bytes: number) => Math.round(bytes / result.ok);
  return {
    requests: result.ok,
    bytesPerRequest: perRequest(total),
    owners: Object.fromEntries([...owners].sort((a, b) => b[1] - a[1]).map(([o, b]) => [o, perRequest(b)])),
  };
};

const forwarderPort = await freePort();
const cgF = memoryCgroup("alloc-forwarder", 0);
const forwarder = await startForwarder(`http://127.0.0.1:${fn.port}/fn`, "0", cgF, [
  `--inspect=127.0.0.1:${forwarderPort}`,
]);
const floor = await measure(`http://127.0.0.1:${forwarder.port}/`, forwarderPort).finally(async () => {
  await forwarder.stop();
  cgF.remove();
});

const gatewayPort = await freePort();
const cgG = memoryCgroup("alloc-gateway", 0);
const args = programArgs("gateway", true);
const gateway = await startGateway({
  etcd: registry.etcd.url,
  clusterName: registry.cluster,
  dir: registry.dir,
  name: "alloc",
  compiled: true,
  prefix: [...cgG.prefix, ...pinned("0")],
  entry: [process.execPath, ...args.slice(0, -1), `--inspect=127.0.0.1:${gatewayPort}`, ...args.slice(-1)],
});
await routesLoaded(gateway);
const gw = await measure(`${gateway.url}/`, gatewayPort).finally(async () => {
  await gateway.proc.stop();
  cgG.remove();
});
await fn.stop();
await registry.close();

const kib = (bytes: number) => (bytes / 1024).toFixed(1);
const rows: Row[] = [
  {
    figure: `bytes allocated per sync request at ${rate}/s, KiB`,
    value: kib(gw.bytesPerRequest),
    baseline: `${kib(floor.bytesPerRequest)} (node forwarder)`,
    ratio: (gw.bytesPerRequest / floor.bytesPerRequest).toFixed(2),
    target: "— (GC time is proportional to it)",
    verdict: "—",
  },
  ...Object.entries(gw.owners).map(([owner, bytes]) => ({
    figure: `  of which ${owner}, KiB`,
    value: kib(bytes),
    baseline: floor.owners[owner] === undefined ? "—" : `${kib(floor.owners[owner])} (node forwarder)`,
    ratio: "—",
    target: "—",
    verdict: "—" as const,
  })),
];
report("allocation", rows, { rate, seconds, samplingIntervalBytes: 4096, gateway: gw, forwarder: floor });
process.exit(0);
