// Durable async accept: the gateway with the delivery log (fsync, group commit) against the same
// gateway holding events in memory, in one run on this machine: the accept rate, the rate at which
// accepted events reach the function, and the ack latency when paced at 80 % of the accept rate.
// The gateway is pinned to core 0; this process (load generator and the function) and etcd to core 1.
//   node bench/durable.ts [--seconds 5]
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startFunction } from "../e2e/functions.ts";
import { startGateway } from "../e2e/gateway.ts";
import { benchRegistry, benchRoute, eventHeaders, load, pin, pinned, report, routesLoaded } from "./lib.ts";

const { values } = parseArgs({ options: { seconds: { type: "string", default: "5" } } });
const seconds = Number(values.seconds);
const loadCores = pin(process.pid, "1");
const registry = await benchRegistry();
const fn = await startFunction();
await benchRoute(registry, `${fn.url}/`, "async");
const headers = eventHeaders();
const body = JSON.stringify({ order: 42, items: ["a", "b"], note: "x".repeat(200) });

const measure = async (mode: "memory" | "fsync") => {
  const dir = mkdtempSync(join(registry.dir, `${mode}-`));
  const gw = await startGateway({
    etcd: registry.etcd.url,
    clusterName: registry.cluster,
    dir,
    name: mode,
    prefix: pinned("0"),
    extraArgs:
      mode === "fsync"
        ? [
            `--data-dir=${dir}/log`,
            "--durability=fsync",
            "--queue-max-events=1000000",
            "--queue-max-bytes=4000000000",
          ]
        : ["--queue-max-events=1000000", "--queue-max-bytes=4000000000"],
  });
  await routesLoaded(gw);
  const url = `${gw.url}/`;
  const before = fn.received.length;
  const warm = await load({ url, headers, body, okStatus: 202, seconds: 1, concurrency: 64 });
  let expected = before + warm.ok;
  await fn.waitFor(expected, 120_000);
  // Accept and deliver: every event accepted in the closed loop delivered to the function (this
  // process), timed from the first request to the last delivery.
  const start = Date.now();
  const closed = await load({ url, headers, body, okStatus: 202, seconds, concurrency: 64 });
  expected += closed.ok;
  const delivered = await fn.waitFor(expected, 120_000);
  const deliverRate = closed.ok / (((delivered.at(-1)?.at ?? start) - start) / 1000);
  const paced = await load({
    url,
    headers,
    body,
    okStatus: 202,
    seconds,
    ratePerSecond: Math.floor(closed.rate * 0.8),
  });
  await fn.waitFor(expected + paced.ok, 120_000);
  await gw.proc.stop();
  return { closed, deliverRate, paced };
};

const memory = await measure("memory");
const fsync = await measure("fsync");
await fn.close();
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
  ],
  {
    cores: {
      gateway: pinned("0").length > 0 ? "core 0 (taskset)" : "unpinned",
      "load generator, function and etcd": loadCores,
    },
    seconds,
    memory,
    fsync,
  },
);
process.exit(0);
