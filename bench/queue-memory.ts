// What a held async event really retains in the gateway, against what the queue budget
// (--queue-max-bytes, switchboard_gateway_queue_bytes) counts for it. The gateway runs compiled
// with the inspector on loopback; its live memory (V8 heap used plus ArrayBuffer backing stores,
// which hold Buffers) is read after a full collection, idle and with the queue full of events its
// function holds (sidecar/testing/full-queue.ts), for events with no data and with 16 KiB.
//   node bench/queue-memory.ts
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { Etcd3 } from "etcd3";
import { startGateway } from "../e2e/gateway.ts";
import { uniqueName } from "../e2e/harness.ts";
import { waitFor } from "../e2e/proc.ts";
import { programArgs } from "../e2e/programs.ts";
import { repoRoot } from "../e2e/tools.ts";
import { openWriter } from "../registry/writer/index.ts";
import { compile, PROJECTS } from "../scripts/image/compile.ts";
import { fillQueue, gatedTenant, subscriptionLoaded } from "../sidecar/testing/full-queue.ts";
import { benchRegistry, inspectorSession, type Row, report } from "./lib.ts";

compile(PROJECTS.programs);
const registry = await benchRegistry();
const etcd = new Etcd3({ hosts: registry.etcd.url });
const writer = await openWriter({ client: etcd, cluster: registry.cluster, identity: "queue-memory" });

/** Live memory of the process behind inspector `url` after a full collection: heap used + backing stores, bytes. */
const liveBytes = async (url: string): Promise<number> => {
  const { call, close } = await inspectorSession(url);
  await call("HeapProfiler.collectGarbage");
  await call("HeapProfiler.collectGarbage");
  const usage = await call<{ usedSize?: number; backingStorageSize?: number }>("Runtime.getHeapUsage");
  close();
  return (usage.usedSize ?? 0) + (usage.backingStorageSize ?? 0);
};

interface Sample {
  dataBytes: number;
  held: number;
  retainedPerEvent: number;
  accountedPerEvent: number;
}

const measure = async (dataBytes: number): Promise<Sample> => {
  const { tenant, server, open } = await gatedTenant(writer, registry.cluster);
  const gw = await startGateway({
    etcd: registry.etcd.url,
    clusterName: registry.cluster,
    dir: mkdtempSync(join(repoRoot, ".work", "queue-memory-")),
    name: uniqueName("queue-memory"),
    namespace: tenant.namespace,
    entry: [process.execPath, "--inspect=127.0.0.1:0", ...programArgs("gateway", true)],
    // The event count binds, not the bytes: every held event is measured.
    extraArgs: ["--queue-max-bytes=1073741824", "--max-inflight-bytes=1073741824"],
  });
  try {
    await subscriptionLoaded(gw, etcd, tenant, registry.cluster);
    const inspector = await waitFor("the inspector's address", async () => {
      const m = /Debugger listening on (ws:\/\/\S+)/.exec(gw.proc.tail(200));
      return m?.[1];
    });
    const idle = await liveBytes(inspector);
    await fillQueue(gw, tenant, dataBytes);
    const full = await liveBytes(inspector);
    const held = (await gw.metric("switchboard_gateway_queue_events")) ?? 0;
    const accounted = (await gw.metric("switchboard_gateway_queue_bytes")) ?? 0;
    open();
    return { dataBytes, held, retainedPerEvent: (full - idle) / held, accountedPerEvent: accounted / held };
  } finally {
    await gw.proc.stop();
    await server.close();
  }
};

const samples: Sample[] = [];
try {
  for (const dataBytes of [0, 16 * 1024]) samples.push(await measure(dataBytes));
} finally {
  writer.close();
  etcd.close();
  await registry.close();
}

const rows: Row[] = samples.map((s) => ({
  figure: `live memory per held event, ${s.dataBytes}-byte data (${s.held} held), bytes`,
  value: s.retainedPerEvent.toFixed(0),
  baseline: `${s.accountedPerEvent.toFixed(0)} counted by the queue budget`,
  ratio: (s.accountedPerEvent / s.retainedPerEvent).toFixed(2),
  target: "counted ≥ retained (ratio ≥ 1)",
  verdict: s.accountedPerEvent >= s.retainedPerEvent ? "met" : "missed",
}));
report("queue-memory", rows, { samples });
process.exit(0);
