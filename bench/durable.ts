// Durable async accept: the gateway with the delivery log (fsync, group commit) and on NATS
// JetStream (one server, R1; three servers, R3) against the same gateway holding events in memory,
// in one run on this machine: the accept rate, the rate at which accepted events reach the
// function, and the ack latency when paced at 80 % of the accept rate. The gateway is pinned to
// core 0; the load generator and the function (both goload, in Go, the function counting what it
// receives) and etcd to core 1; the NATS servers are not pinned (they share both cores with the
// rest).
//   node bench/durable.ts [--seconds 5]
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startGateway } from "../e2e/gateway.ts";
import { type NatsCluster, startNatsCluster } from "../e2e/nats.ts";
import { waitFor } from "../e2e/proc.ts";
import {
  benchRegistry,
  benchRoute,
  eventHeaders,
  load,
  metered,
  pin,
  pinned,
  report,
  routesLoaded,
} from "./lib.ts";
import { startBenchFunction } from "./subjects/index.ts";

const { values } = parseArgs({ options: { seconds: { type: "string", default: "5" } } });
const seconds = Number(values.seconds);
const loadCores = pin(process.pid, "1");
const registry = await benchRegistry();
const fn = await startBenchFunction("1");
await benchRoute(registry, `http://127.0.0.1:${fn.port}/fn`, "async");

/** What the function has received so far, and when the last request arrived (ms since the epoch). */
const received = async (): Promise<{ requests: number; lastAt: number }> =>
  (await (await fetch(`http://127.0.0.1:${fn.port}/__count`)).json()) as { requests: number; lastAt: number };

/** Resolves once the function has received `n` requests (2 minutes at most). */
const deliveredUpTo = (n: number) =>
  waitFor(
    `${n} deliveries at the function`,
    async () => {
      const r = await received();
      return r.requests >= n ? r : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 20 },
  );
const headers = eventHeaders();
const body = JSON.stringify({ order: 42, items: ["a", "b"], note: "x".repeat(200) });

type Mode = "memory" | "fsync" | "jetstream-r1" | "jetstream-r3";

const backend = (mode: Mode, dir: string, nats: NatsCluster | undefined): string[] => {
  if (mode === "fsync") return [`--data-dir=${dir}/log`, "--durability=fsync"];
  if (!nats) return [];
  return ["--durability=jetstream", `--nats=${nats.urls.join(",")}`, `--nats-replicas=${nats.urls.length}`];
};

const measure = async (mode: Mode, nats?: NatsCluster) => {
  const dir = mkdtempSync(join(registry.dir, `${mode}-`));
  const gw = await startGateway({
    etcd: registry.etcd.url,
    clusterName: registry.cluster,
    dir,
    name: mode,
    prefix: pinned("0"),
    extraArgs: [...backend(mode, dir, nats), "--queue-max-events=1000000", "--queue-max-bytes=4000000000"],
  });
  await routesLoaded(gw);
  const url = `${gw.url}/`;
  const before = (await received()).requests;
  const warm = await load({
    url,
    headers,
    body,
    okStatus: 202,
    uniqueIds: true,
    seconds: 1,
    concurrency: 64,
  });
  let expected = before + warm.ok;
  await deliveredUpTo(expected);
  // Accept and deliver: every event accepted in the closed loop delivered to the function, timed
  // from the first request to the last delivery.
  const start = Date.now();
  const { result: closed, cores: closedCores } = await metered(gw.proc.pid, () =>
    load({ url, headers, body, okStatus: 202, uniqueIds: true, seconds, concurrency: 64 }),
  );
  expected += closed.ok;
  const delivered = await deliveredUpTo(expected);
  const deliverRate = closed.ok / ((delivered.lastAt - start) / 1000);
  // The gateway's CPU while paced: a core near 1.0 says the paced events cost more each than
  // the closed loop's (fewer requests per read and per write), and the backlog is CPU.
  const { result: paced, cores: pacedCores } = await metered(gw.proc.pid, () =>
    load({
      url,
      headers,
      body,
      okStatus: 202,
      uniqueIds: true,
      seconds,
      ratePerSecond: Math.floor(closed.rate * 0.8),
    }),
  );
  await deliveredUpTo(expected + paced.ok);
  await gw.proc.stop();
  return { closed, closedCores, deliverRate, paced, pacedCores };
};

/** The gateway on a JetStream cluster of `size` servers started for this measure alone. */
const onJetStream = async (size: 1 | 3) => {
  const nats = await startNatsCluster({ dir: mkdtempSync(join(registry.dir, `nats-r${size}-`)), size });
  try {
    return await measure(size === 1 ? "jetstream-r1" : "jetstream-r3", nats);
  } finally {
    await nats.stop();
  }
};

const memory = await measure("memory");
const fsync = await measure("fsync");
const r1 = await onJetStream(1);
const r3 = await onJetStream(3);
await fn.stop();
await registry.close();

const f = (n: number, digits = 0): string => n.toFixed(digits);
report(
  "durable",
  [
    {
      figure: "async accept rate, closed loop (64 in flight), events/s",
      value: `${f(fsync.closed.rate)} (fsync)`,
      baseline: `${f(memory.closed.rate)} (memory)`,
      ratio: f(fsync.closed.rate / memory.closed.rate, 2),
      target: "≥ 20000/s per core (durable)",
      verdict: fsync.closed.rate >= 20_000 ? "met" : "missed",
    },
    {
      figure: "async accept-and-deliver rate (every accepted event delivered), events/s",
      value: `${f(fsync.deliverRate)} (fsync)`,
      baseline: `${f(memory.deliverRate)} (memory)`,
      ratio: f(fsync.deliverRate / memory.deliverRate, 2),
      target: "— (accept rate is the target)",
      verdict: "—",
    },
    {
      figure: "ack latency p50 / p99 at 80 % of the durable rate, ms",
      value: `${f(fsync.paced.latencyMs.p50, 2)} / ${f(fsync.paced.latencyMs.p99, 2)} (fsync)`,
      baseline: `${f(memory.paced.latencyMs.p50, 2)} / ${f(memory.paced.latencyMs.p99, 2)} (memory, 80 % of its own rate)`,
      ratio: f(fsync.paced.latencyMs.p99 / memory.paced.latencyMs.p99, 2),
      target: "p99 ≤ 5 ms",
      verdict: fsync.paced.latencyMs.p99 <= 5 ? "met" : "missed",
    },
    {
      figure: "gateway CPU, cores of its one: closed loop / paced at 80 % of the closed loop's rate",
      value: `${f(fsync.closedCores, 2)} / ${f(fsync.pacedCores, 2)} (fsync)`,
      baseline: `${f(memory.closedCores, 2)} / ${f(memory.pacedCores, 2)} (memory)`,
      ratio: "—",
      target: "—",
      verdict: "—",
    },
    ...(
      [
        ["R1, one server", r1],
        ["R3, three servers", r3],
      ] as const
    ).flatMap(([name, js]) => [
      {
        figure: `async accept rate on JetStream ${name}, closed loop (64 in flight), events/s`,
        value: f(js.closed.rate),
        baseline: `${f(fsync.closed.rate)} (local log, fsync)`,
        ratio: f(js.closed.rate / fsync.closed.rate, 2),
        target: "— (reported beside the local log)",
        verdict: "—" as const,
      },
      {
        figure: `ack latency p50 / p99 on JetStream ${name} at 80 % of its rate, ms`,
        value: `${f(js.paced.latencyMs.p50, 2)} / ${f(js.paced.latencyMs.p99, 2)}`,
        baseline: `${f(fsync.paced.latencyMs.p50, 2)} / ${f(fsync.paced.latencyMs.p99, 2)} (local log, fsync)`,
        ratio: f(js.paced.latencyMs.p99 / fsync.paced.latencyMs.p99, 2),
        target: "— (reported beside the local log)",
        verdict: "—" as const,
      },
    ]),
  ],
  {
    cores: {
      gateway: pinned("0").length > 0 ? "core 0 (taskset)" : "unpinned",
      "load generator, function and etcd": loadCores,
    },
    seconds,
    memory,
    fsync,
    jetstreamR1: r1,
    jetstreamR3: r3,
  },
);
process.exit(0);
