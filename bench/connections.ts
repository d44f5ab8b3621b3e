// What an open connection costs a sidecar: the gateway and the bare node:http + undici forwarder,
// each alone on core 0 in a 256 MiB memory cgroup, idle, then with `--connections` keep-alive
// connections opened ten at a time, each after one sync request answered, and left open; the
// working set before and 5 s after, and per connection. A paced load the subject cannot keep up
// with makes the load generator open a connection for each request it cannot send on an idle
// one, up to the gateway's --max-connections (1024), so at an overload this is most of the
// working set (bench/sync-hop.ts's 5000/s row).
//   node bench/connections.ts [--runs 2] [--connections 1000]
import { connect, type Socket } from "node:net";
import { parseArgs } from "node:util";
import { type MemoryCgroup, memoryCgroup } from "../e2e/cgroup.ts";
import {
  benchRegistry,
  benchRoute,
  pin,
  type Row,
  report,
  SYNC_EVENT,
  spread,
  withBenchGateway,
} from "./lib.ts";
import { startBenchFunction, startForwarder } from "./subjects/index.ts";

const { values } = parseArgs({
  options: { runs: { type: "string", default: "2" }, connections: { type: "string", default: "1000" } },
});
const runs = Number(values.runs);
const connections = Number(values.connections);
const LIMIT = 256 * 2 ** 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const { headers, body } = SYNC_EVENT;
const head = Object.entries(headers)
  .map(([name, value]) => `${name}: ${value}\r\n`)
  .join("");
const request = `POST / HTTP/1.1\r\nhost: bench\r\n${head}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

/** A connection to `port` that sent one request and got its answer's head; left open. */
const openOne = (port: number, sockets: Socket[]): Promise<void> =>
  new Promise((done, fail) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(request));
    sockets.push(socket);
    let got = "";
    const onData = (chunk: Buffer) => {
      got += chunk.toString("latin1");
      if (!got.includes("\r\n\r\n")) return;
      socket.off("data", onData);
      if (!got.startsWith("HTTP/1.1 200")) fail(new Error(`answered ${got.split("\r\n")[0]}`));
      else done();
    };
    socket.on("data", onData);
    socket.on("error", fail);
  });

interface Sample {
  idleMb: number;
  openMb: number;
  perConnectionKib: number;
}

/** The working set of the subject in `cgroup` listening on `port`, idle and with the connections open. */
const measure = async (port: number, cgroup: MemoryCgroup): Promise<Sample> => {
  await sleep(10_000);
  const idleMb = cgroup.workingSetMb();
  const sockets: Socket[] = [];
  try {
    for (let i = 0; i < connections; i += 10)
      await Promise.all(Array.from({ length: Math.min(10, connections - i) }, () => openOne(port, sockets)));
    await sleep(5_000);
    const openMb = cgroup.workingSetMb();
    return { idleMb, openMb, perConnectionKib: ((openMb - idleMb) * 1024) / connections };
  } finally {
    for (const socket of sockets) socket.destroy();
  }
};

pin(process.pid, "1");
const registry = await benchRegistry();
const fn = await startBenchFunction("1");
const fnUrl = `http://127.0.0.1:${fn.port}/fn`;
await benchRoute(registry, fnUrl, "sync");
const samples: Record<"gateway" | "forwarder", Sample[]> = { gateway: [], forwarder: [] };
try {
  for (let i = 0; i < runs; i++) {
    const cgF = memoryCgroup("conn-forwarder", LIMIT);
    const forwarder = await startForwarder(fnUrl, "0", cgF);
    try {
      samples.forwarder.push(await measure(forwarder.port, cgF));
    } finally {
      await forwarder.stop();
      cgF.remove();
    }
    samples.gateway.push(
      await withBenchGateway(registry, { name: `conn-gateway-${i}`, limitBytes: LIMIT }, (gateway, cgroup) =>
        measure(Number(new URL(gateway.url).port), cgroup),
      ),
    );
  }
} finally {
  await fn.stop();
  await registry.close();
}

const of = (xs: Sample[], f: (s: Sample) => number, digits = 1) => spread(xs.map(f), digits);
const row = (figure: string, f: (s: Sample) => number): Row => ({
  figure,
  value: of(samples.gateway, f),
  baseline: `forwarder ${of(samples.forwarder, f)}`,
  ratio: "—",
  target: "—",
  verdict: "—",
});
report(
  "connections",
  [
    row("working set idle, MiB (256 MiB cgroup)", (s) => s.idleMb),
    row(
      `working set with ${connections} keep-alive connections open, each after one request, MiB`,
      (s) => s.openMb,
    ),
    row("working set per open connection, KiB", (s) => s.perConnectionKib),
  ],
  { runs, connections, limitMiB: LIMIT / 2 ** 20, samples },
);
