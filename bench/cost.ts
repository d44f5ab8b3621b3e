// Where a sync request's cost goes, in the gateway and in the bare Node forwarder (node:http in,
// undici out: the least a Node sidecar does for one hop), both compiled or stripped as they run,
// each alone on core 0 in a 128 MiB memory cgroup with the image's Node flags, an inspector
// attached. For each, through the inspector:
// - CPU: V8's CPU profiler over paced requests (--rate, 1000/s by default) and over a closed loop
//   (64 in flight); self time by owner (each script frame's package, Node's own modules, the
//   gateway's own modules; other native frames belong to the script that called them), with GC
//   and socket writes (the system calls, the kernel's loopback delivery included) apart, in
//   microseconds per request;
// - memory at the end of the paced run: the cgroup's working set, and what V8 says of its heap
//   (young and old generation, code, the rest) and of the memory outside it (Buffers and other
//   external memory); the remainder is Node's and the allocator's own (sockets, parsers, malloc);
// - allocation: V8's sampling heap profiler (objects that minor and major collections took
//   included), bytes per request by owner. GC time is proportional to it. Then, over another paced
//   run, what outlived a minor collection (objects a major one took included, so garbage too):
//   what the old generation grows by between its collections, by owner; and at the end the old
//   generation's live size after a full collection, to tell its garbage from what it keeps.
// This is the evidence behind every goal bench/sync-hop.ts misses: what the gateway spends beyond
// the forwarder is the gateway's, and what the forwarder spends is Node's floor.
//   node bench/cost.ts [--seconds 4] [--rate 1000] [--profiles DIR] [--gateway-args=FLAGS]
//     --gateway-args=FLAGS: the gateway's own flags besides the bench's (e.g. --gateway-args=--delivery-client=node)
//     --profiles: also write each CPU profile to DIR (SUBJECT-paced.cpuprofile, SUBJECT-closed.cpuprofile)
//       and the allocation profiles (SUBJECT-paced.heapprofile, and SUBJECT-promoted.heapprofile of what
//       outlived a minor collection), for Chrome DevTools or any viewer
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type MemoryCgroup, memoryCgroup } from "../e2e/cgroup.ts";
import { startGateway } from "../e2e/gateway.ts";
import { freePort } from "../e2e/ports.ts";
import { programArgs } from "../e2e/programs.ts";
import { compile, PROJECTS } from "../scripts/image/compile.ts";
import {
  benchRegistry,
  benchRoute,
  type Cost,
  type CostMemory,
  inspectorSession,
  load,
  pin,
  pinned,
  type Row,
  report,
  routesLoaded,
  SYNC_EVENT,
  total,
} from "./lib.ts";
import { startBenchFunction, startForwarder } from "./subjects/index.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "4" },
    rate: { type: "string", default: "1000" },
    profiles: { type: "string" },
    "gateway-args": { type: "string", default: "" },
  },
});
const seconds = Number(values.seconds);
const rate = Number(values.rate);
const LIMIT = 128 * 2 ** 20;

interface CallFrame {
  functionName: string;
  url: string;
}
interface AllocationNode {
  callFrame: CallFrame;
  selfSize: number;
  children: AllocationNode[];
}
interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

const GC = "GC";
/** Native frames that write to a socket: the system call, with the kernel's loopback TCP delivery, is their self time. */
const SOCKET_WRITES = new Set([
  "writev",
  "writeBuffer",
  "writeUtf8String",
  "writeLatin1String",
  "writeAsciiString",
]);
const WRITES = "socket writes (system calls)";
const NATIVE = "V8 and Node's native side";
const OURS = "the gateway's own modules";
/** How many of the gateway's own functions the results keep, costliest first. */
const OWN_FUNCTIONS = 12;

/** Who a frame belongs to; undefined for a frame without a script (it belongs to its caller). */
const ownerOf = (url: string): string | undefined => {
  if (url === "") return undefined;
  if (url.startsWith("node:")) return "Node (node:http, net, streams, timers, events)";
  if (url.startsWith("wasm")) return undefined;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  return pkg ?? OURS;
};

/** Where a script frame is: its file under the repository (dist/ or the sources), or the URL. */
const fileOf = (url: string): string => url.replace(/^.*\/(?:dist\/)?((?:sidecar|common)\/)/, "$1");

/**
 * CPU self time (µs), without idle time: by owner, and by function of the gateway's own modules
 * (`function (file)`). A native or wasm frame is its nearest script caller's.
 */
const cpuByOwner = (profile: CpuProfile): { owners: Map<string, number>; ours: Map<string, number> } => {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const owner = new Map<number, string>();
  const fn = new Map<number, string>();
  const walk = (id: number, inherited: string, inheritedFn: string): void => {
    const node = byId.get(id);
    if (!node) return;
    const { functionName: name, url } = node.callFrame;
    const native = url === "";
    const mine =
      name === "(garbage collector)"
        ? GC
        : name === "(idle)"
          ? "idle"
          : native && SOCKET_WRITES.has(name)
            ? WRITES
            : (ownerOf(url) ?? inherited);
    const mineFn = native ? inheritedFn : `${name || "(anonymous)"} (${fileOf(url)})`;
    owner.set(id, mine);
    fn.set(id, mineFn);
    for (const child of node.children ?? []) walk(child, mine, mineFn);
  };
  const root = profile.nodes[0];
  if (root) walk(root.id, NATIVE, "");
  const owners = new Map<string, number>();
  const ours = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const who = owner.get(id) ?? NATIVE;
    const dt = profile.timeDeltas[i] ?? 0;
    if (who === "idle") return;
    owners.set(who, (owners.get(who) ?? 0) + dt);
    const f = fn.get(id);
    if (who === OURS && f) ours.set(f, (ours.get(f) ?? 0) + dt);
  });
  return { owners, ours };
};

const allocationByOwner = (head: AllocationNode): Map<string, number> => {
  const owners = new Map<string, number>();
  const walk = (node: AllocationNode, owner: string): void => {
    if (node.callFrame.functionName === FLUSH_FUNCTION) return;
    const mine = ownerOf(node.callFrame.url) ?? owner;
    owners.set(mine, (owners.get(mine) ?? 0) + node.selfSize);
    for (const child of node.children) walk(child, mine);
  };
  walk(head, NATIVE);
  return owners;
};

/** What the process says of its memory: V8's heap spaces (committed) and the memory outside V8's heap it knows of. */
const MEMORY_EXPRESSION = `(() => {
  const v8 = process.getBuiltinModule("v8");
  const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, s.physical_space_size]));
  const m = process.memoryUsage();
  return JSON.stringify({ spaces, external: m.external, arrayBuffers: m.arrayBuffers });
})()`;

/** Bytes used in the old generation (old and large-object spaces). */
const LIVE_OLD_EXPRESSION = `process.getBuiltinModule("v8").getHeapSpaceStatistics()
  .filter((s) => s.space_name === "old_space" || s.space_name === "large_object_space")
  .reduce((sum, s) => sum + s.space_used_size, 0)`;
/**
 * Fills the young generation with garbage several times over (32 MiB of short-lived arrays; the
 * image's semi-spaces are 4 MiB), so that minor collections take what the requests left there
 * before the sampling stops: otherwise a sampled object still in the young generation counts as
 * one that outlived a minor collection. Its own allocations are left out by its function's name
 * (an evaluated script's frames have no URL in the profile).
 */
const FLUSH_FUNCTION = "benchCostFlushYoungGeneration";
const FLUSH_YOUNG_EXPRESSION = `(function ${FLUSH_FUNCTION}() { let last; for (let i = 0; i < 1 << 20; i++) last = [i, i]; return last.length; })()`;
/** What outlives a minor collection is a few hundred bytes a request: sampled finer than all allocation. */
const PROMOTED_SAMPLING_BYTES = 1024;

const MiB = 2 ** 20;
const readMemory = async (
  call: <T>(method: string, params?: object) => Promise<T>,
  cgroup: MemoryCgroup,
): Promise<CostMemory> => {
  const { result } = await call<{ result: { value: string } }>("Runtime.evaluate", {
    expression: MEMORY_EXPRESSION,
  });
  const { spaces, external } = JSON.parse(result.value) as {
    spaces: Record<string, number>;
    external: number;
  };
  const take = (...names: string[]) => names.reduce((sum, n) => sum + (spaces[n] ?? 0), 0) / MiB;
  const young = take("new_space", "new_large_object_space");
  const old = take("old_space", "large_object_space");
  const code = take("code_space", "code_large_object_space");
  const heap = Object.values(spaces).reduce((a, b) => a + b, 0) / MiB;
  const workingSetMb = cgroup.workingSetMb();
  return {
    workingSetMb,
    young,
    old,
    code,
    otherHeap: heap - young - old - code,
    external: external / MiB,
    rest: workingSetMb - heap - external / MiB,
  };
};

const { headers, body } = SYNC_EVENT;

/** Measures the subject at `url` whose inspector listens on `port`, inside `cgroup`. */
const measure = async (name: string, url: string, port: number, cgroup: MemoryCgroup): Promise<Cost> => {
  const paced = (s: number) => load({ url, headers, body, okStatus: 200, seconds: s, ratePerSecond: rate });
  const [target] = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
    webSocketDebuggerUrl: string;
  }[];
  if (!target) throw new Error(`no inspector target on port ${port}`);
  const { call, close } = await inspectorSession(target.webSocketDebuggerUrl);
  const perRequest = (owners: Map<string, number>, requests: number) =>
    Object.fromEntries(
      [...owners].sort((a, b) => b[1] - a[1]).map(([o, v]) => [o, Math.round((v / requests) * 10) / 10]),
    );
  const profiled = async (phase: string, run: () => Promise<{ ok: number; rate: number }>) => {
    await call("Profiler.enable");
    await call("Profiler.setSamplingInterval", { interval: 100 });
    await call("Profiler.start");
    const result = await run();
    const { profile } = await call<{ profile: CpuProfile }>("Profiler.stop");
    await call("Profiler.disable");
    if (values.profiles !== undefined) {
      mkdirSync(values.profiles, { recursive: true });
      writeFileSync(join(values.profiles, `${name}-${phase}.cpuprofile`), JSON.stringify(profile));
    }
    const { owners, ours } = cpuByOwner(profile);
    return { result, cpu: perRequest(owners, result.ok), ours: perRequest(ours, result.ok) };
  };
  try {
    await paced(2); // warm-up: JIT, connections
    const atRate = await profiled("paced", () => paced(seconds));
    const memory = await readMemory(call, cgroup);
    const closed = await profiled("closed", () =>
      load({ url, headers, body, okStatus: 200, seconds, concurrency: 64 }),
    );
    await call("HeapProfiler.startSampling", {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    const sampled = await paced(seconds);
    const { profile } = await call<{ profile: { head: AllocationNode } }>("HeapProfiler.stopSampling");
    if (values.profiles !== undefined)
      writeFileSync(join(values.profiles, `${name}-paced.heapprofile`), JSON.stringify(profile));
    await call("HeapProfiler.startSampling", {
      samplingInterval: PROMOTED_SAMPLING_BYTES,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: false,
    });
    const promotedRun = await paced(seconds);
    await call("Runtime.evaluate", { expression: FLUSH_YOUNG_EXPRESSION });
    const promoted = await call<{ profile: { head: AllocationNode } }>("HeapProfiler.stopSampling");
    if (values.profiles !== undefined)
      writeFileSync(join(values.profiles, `${name}-promoted.heapprofile`), JSON.stringify(promoted.profile));
    await call("HeapProfiler.collectGarbage");
    const { result: live } = await call<{ result: { value: number } }>("Runtime.evaluate", {
      expression: LIVE_OLD_EXPRESSION,
    });
    memory.liveOld = live.value / MiB;
    return {
      paced: atRate.cpu,
      closed: closed.cpu,
      closedRate: Math.round(closed.result.rate),
      ownFunctions: Object.fromEntries(Object.entries(closed.ours).slice(0, OWN_FUNCTIONS)),
      memory,
      allocation: perRequest(allocationByOwner(profile.head), sampled.ok),
      promoted: perRequest(allocationByOwner(promoted.profile.head), promotedRun.ok),
    };
  } finally {
    close();
  }
};

pin(process.pid, "1");
const registry = await benchRegistry();
const fn = await startBenchFunction("1");
await benchRoute(registry, `http://127.0.0.1:${fn.port}/fn`, "sync");
compile(PROJECTS.programs);

const forwarderPort = await freePort();
const cgF = memoryCgroup("cost-forwarder", LIMIT);
const forwarder = await startForwarder(`http://127.0.0.1:${fn.port}/fn`, "0", cgF, [
  `--inspect=127.0.0.1:${forwarderPort}`,
]);
const floor = await measure("forwarder", `http://127.0.0.1:${forwarder.port}/`, forwarderPort, cgF).finally(
  async () => {
    await forwarder.stop();
    cgF.remove();
  },
);

const gatewayPort = await freePort();
const cgG = memoryCgroup("cost-gateway", LIMIT);
const gateway = await startGateway({
  etcd: registry.etcd.url,
  clusterName: registry.cluster,
  dir: registry.dir,
  name: "cost",
  compiled: true,
  prefix: [...cgG.prefix, ...pinned("0")],
  entry: [process.execPath, ...programArgs("gateway", true, [`--inspect=127.0.0.1:${gatewayPort}`])],
  extraArgs: values["gateway-args"].split(/\s+/).filter(Boolean),
});
await routesLoaded(gateway);
const gw = await measure("gateway", `${gateway.url}/`, gatewayPort, cgG).finally(async () => {
  await gateway.proc.stop();
  cgG.remove();
});
await fn.stop();
await registry.close();

const fixed = (n: number | undefined, digits = 1) => (n === undefined ? "—" : n.toFixed(digits));
const info = (figure: string, value: string, baseline: string, ratio = "—"): Row => ({
  figure,
  value,
  baseline,
  ratio,
  target: "—",
  verdict: "—",
});
/** A total row, then one row per owner (the gateway's owners first, then the forwarder's others). */
const breakdown = (
  what: string,
  unit: string,
  mine: Record<string, number>,
  theirs: Record<string, number>,
  scale = 1,
): Row[] => {
  const owners = [...new Set([...Object.keys(mine), ...Object.keys(theirs)])];
  return [
    info(
      `${what}, ${unit}`,
      fixed(total(mine) / scale),
      `${fixed(total(theirs) / scale)} (node forwarder)`,
      (total(mine) / total(theirs)).toFixed(2),
    ),
    ...owners.map((owner) =>
      info(
        `  of which ${owner}`,
        fixed(mine[owner] === undefined ? undefined : mine[owner] / scale),
        theirs[owner] === undefined ? "—" : fixed(theirs[owner] / scale),
      ),
    ),
  ];
};
const memoryRows = (): Row[] => {
  const parts: [string, keyof CostMemory][] = [
    ["V8 young generation", "young"],
    ["V8 old generation", "old"],
    ["V8 code", "code"],
    ["V8's other spaces", "otherHeap"],
    ["external (Buffers, sockets' buffers)", "external"],
    ["Node and the allocator (the rest)", "rest"],
  ];
  return [
    info(
      `working set at the end of ${rate}/s paced, MiB (128 MiB cgroup, inspector attached)`,
      fixed(gw.memory.workingSetMb),
      `${fixed(floor.memory.workingSetMb)} (node forwarder)`,
    ),
    ...parts.map(([label, key]) =>
      info(`  of which ${label}`, fixed(gw.memory[key]), fixed(floor.memory[key])),
    ),
    info(
      "  V8 old generation live after a full collection (at the end), MiB",
      fixed(gw.memory.liveOld),
      fixed(floor.memory.liveOld),
    ),
  ];
};
const rows: Row[] = [
  ...breakdown(`CPU per sync request at ${rate}/s paced`, "µs", gw.paced, floor.paced),
  ...breakdown(
    `CPU per sync request in a closed loop (64 in flight; gateway ${gw.closedRate} req/s, forwarder ${floor.closedRate})`,
    "µs",
    gw.closed,
    floor.closed,
  ),
  ...memoryRows(),
  ...breakdown(`bytes allocated per sync request at ${rate}/s`, "KiB", gw.allocation, floor.allocation, 1024),
  ...breakdown(
    `bytes per sync request at ${rate}/s that outlived a minor collection (the old generation's growth)`,
    "bytes",
    gw.promoted ?? {},
    floor.promoted ?? {},
  ),
];
report("cost", rows, {
  rate,
  seconds,
  memoryLimitMiB: LIMIT / MiB,
  cpuSamplingIntervalUs: 100,
  allocationSamplingIntervalBytes: 4096,
  promotedSamplingIntervalBytes: PROMOTED_SAMPLING_BYTES,
  gateway: gw,
  forwarder: floor,
});
process.exit(0);
