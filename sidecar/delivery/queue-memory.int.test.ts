// A full async queue stays inside the container's memory: a real gateway started in a 128 MiB
// memory cgroup, with the budgets the injector gives a sidecar of that size (a quarter of it for
// held events, a quarter for request bodies in progress), is sent events for a function that holds
// every delivery until released, until it answers 503 queue-full. It is not OOM-killed and does not
// exit, and once the function answers, every accepted id arrives and no refused one does. Two
// shapes: events with no data (what a held event costs beyond its data decides) and 16 KiB events
// (the data decides). The gateway runs compiled, with the image's Node flags and environment, as a
// sidecar does. Once delivered and quiet, it gives the memory back (--idle-reclaim, --malloc-trim).
// bench/queue-memory.ts measures what a held event really retains.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { cgroupsAvailable, memoryCgroup } from "../../e2e/cgroup.ts";
import { startGateway } from "../../e2e/gateway.ts";
import { cleanup, uniqueName } from "../../e2e/harness.ts";
import { GiveUp, waitFor } from "../../e2e/proc.ts";
import { repoRoot } from "../../e2e/tools.ts";
import { compile, PROJECTS } from "../../scripts/image/compile.ts";
import { fillQueue, gatedTenant, receivedIds, subscriptionLoaded } from "../testing/full-queue.ts";
import { testRegistry } from "../testing/tenant.ts";

const LIMIT = 128 * 2 ** 20;
const skip = cgroupsAvailable() ? false : "needs root and a memory cgroup controller";

if (!skip) compile(PROJECTS.programs);
const { etcdUrl, etcd, cluster, writer } = await testRegistry("qmem");

for (const dataBytes of [0, 16 * 1024]) {
  test(`a full queue of ${dataBytes}-byte events: no OOM kill in ${LIMIT / 2 ** 20} MiB, every accepted id delivered`, {
    skip,
  }, async (t) => {
    const { tenant, server, open } = await gatedTenant(writer, cluster);
    cleanup(() => server.close());
    const cgroup = memoryCgroup(uniqueName("qmem"), LIMIT);
    const quarter = Math.floor(LIMIT / 4);
    const gw = await startGateway({
      etcd: etcdUrl,
      clusterName: cluster,
      dir: mkdtempSync(join(repoRoot, ".work", "qmem-")),
      name: uniqueName("qmem"),
      namespace: tenant.namespace,
      prefix: cgroup.prefix,
      compiled: true,
      extraArgs: [
        `--queue-max-bytes=${quarter}`,
        `--max-inflight-bytes=${quarter}`,
        `--max-inflight-bytes-per-vpn=${quarter}`,
        "--idle-reclaim=1s",
      ],
    });
    let exited: number | string | undefined;
    void gw.proc.exited.then((code) => {
      exited = code;
    });
    /** Fails the wait at once when the gateway has ended (an OOM kill shows in the cgroup's count). */
    const alive = (): void => {
      if (exited !== undefined)
        throw new GiveUp(`the gateway ended (${exited}); OOM kills in its cgroup: ${cgroup.oomKills()}`);
    };
    cleanup(async () => {
      await gw.proc.stop();
      cgroup.remove();
    });
    await subscriptionLoaded(gw, etcd, tenant, cluster);

    const { accepted, refused, other } = await fillQueue(gw, tenant, dataBytes);
    assert.deepEqual(other, [], "every answer is 202 or 503 queue-full");
    assert.ok(accepted.size > 0 && refused.size >= 200 * 16);
    const full = { workingSetMb: cgroup.workingSetMb(), peakMb: cgroup.peakMb() };
    const heapAtFull = (await gw.metric("nodejs_heap_size_total_bytes")) ?? 0;
    assert.equal(cgroup.oomKills(), 0, `no OOM kill with the queue full (${JSON.stringify(full)})`);
    assert.equal(exited, undefined, "the gateway is still running");

    open();
    await waitFor(
      `${accepted.size} accepted events to arrive`,
      async () => {
        alive();
        return receivedIds(server).size >= accepted.size ? true : undefined;
      },
      { timeoutMs: 120_000 },
    );
    await waitFor("the queue to empty", async () =>
      (await gw.metric("switchboard_gateway_queue_events")) === 0 ? true : undefined,
    );
    // Quiet once delivered, the gateway gives the memory back (--idle-reclaim): V8's heap ends
    // below what it was with the queue full, through the gateway's own collections (V8 alone
    // kept a heap it had grown for as long as the gateway stayed quiet).
    await waitFor("the heap to shrink below its size with the queue full", async () => {
      const collections = (await gw.metric("switchboard_gateway_idle_collections_total")) ?? 0;
      const heap = (await gw.metric("nodejs_heap_size_total_bytes")) ?? Number.POSITIVE_INFINITY;
      return collections > 0 && heap < heapAtFull ? true : undefined;
    });
    // And glibc gives back the free memory in its arenas (common/malloc-trim.ts): the compiled
    // gateway loaded its Node-API module and trims after busy intervals.
    assert.equal(gw.started.mallocTrim, "every 5000 ms with activity");
    let trims = 0;
    let released = 0;
    await waitFor("glibc's free memory to be given back", async () => {
      trims = (await gw.metric("switchboard_gateway_malloc_trims_total")) ?? 0;
      released = (await gw.metric("switchboard_gateway_malloc_trim_released_bytes_total")) ?? 0;
      return trims > 0 && released > 0 ? true : undefined;
    });
    const arrived = receivedIds(server);
    assert.deepEqual(
      [...arrived].filter((id) => !accepted.has(id)),
      [],
      "no refused or unknown id arrives",
    );
    assert.equal(arrived.size, accepted.size, "every accepted id arrives");
    assert.equal(cgroup.oomKills(), 0);
    t.diagnostic(
      `accepted ${accepted.size}, working set at full ${full.workingSetMb.toFixed(1)} MiB, peak ${full.peakMb.toFixed(1)} MiB (${cgroup.peakMb().toFixed(1)} MiB once delivered), ${cgroup.workingSetMb().toFixed(1)} MiB once quiet; ${trims} trims gave back ${(released / 2 ** 20).toFixed(1)} MiB`,
    );
  });
}
