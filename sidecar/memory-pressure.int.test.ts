// Load shedding by memory (common/memory-pressure.ts), done to a real gateway: compiled, with the
// image's Node flags, in a memory cgroup of 256 MiB and told to shed at 25 % of it (64 MiB), so
// that requests held by a function that does not answer yet bring it there without any risk of
// an OOM kill. Held sync requests, one per connection, are sent until the gateway refuses one for
// memory; then every further request is refused the same way, the refusals are counted exactly
// once each, and once the function answers every admitted request gets its 200 and the function
// has seen exactly those. With nothing in progress the gateway admits requests again, and with no
// request coming the pressure ends once its memory is back. The same is done to a gateway whose
// V8 heap limit is small (Node's --max-old-space-size-percentage) in a cgroup far larger than what it holds: it sheds for
// its heap, before Node would end it with "JavaScript heap out of memory".
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { cgroupsAvailable, memoryCgroup } from "../e2e/cgroup.ts";
import { startGateway } from "../e2e/gateway.ts";
import { cleanup, uniqueName } from "../e2e/harness.ts";
import { waitFor } from "../e2e/proc.ts";
import { programArgs } from "../e2e/programs.ts";
import { repoRoot } from "../e2e/tools.ts";
import { compile, PROJECTS } from "../scripts/image/compile.ts";
import { gatedTenant, subscriptionLoaded } from "./testing/full-queue.ts";
import { testRegistry } from "./testing/tenant.ts";

const MiB = 2 ** 20;
const LIMIT = 256 * MiB;
const SHED_AT_PERCENT = 25;
/**
 * The heap case: V8's old generation capped at this share of a cgroup of HEAP_CASE_LIMIT (about
 * 31 MiB; the image's own flag is the same one at 50, and the last one given wins).
 */
const HEAP_CASE_OLD_SPACE_PERCENT = 3;
const HEAP_CASE_LIMIT = 1024 * MiB;
/** Connections the test opens at most: about 75 MiB of held requests, far below the limit. */
const MAX_HELD = 3000;
const skip = cgroupsAvailable() ? false : "needs root and a memory cgroup controller";

/** What became of one request sent on its own connection: the answer's status line and headers, and its body. */
interface Sent {
  /** Settles when the connection closes (every request asks for `connection: close`). */
  readonly answered: Promise<{ status: number; head: string; body: string }>;
}

/** One case: the gateway's cgroup and Node flags, what its start log says, and the detail of its refusals. */
interface Case {
  limit: number;
  shedAtPercent: number;
  nodeFlags: string[];
  /** What the start log's memoryShedding says, given V8's heap limit. */
  shedding: (heapLimit: number) => string;
  detail: string;
}

const shedsAndLosesNothing = async (t: TestContext, c: Case): Promise<void> => {
  compile(PROJECTS.programs);
  const { etcdUrl, etcd, cluster, writer } = await testRegistry("shed");
  const { tenant, server, open } = await gatedTenant(writer, cluster, { mode: "sync", concurrency: 100 });
  cleanup(() => server.close());

  const cgroup = memoryCgroup(uniqueName("shed"), c.limit);
  const gw = await startGateway({
    etcd: etcdUrl,
    clusterName: cluster,
    dir: mkdtempSync(join(repoRoot, ".work", "shed-")),
    name: uniqueName("shed"),
    namespace: tenant.namespace,
    prefix: cgroup.prefix,
    compiled: true,
    // The image's Node flags, then the case's (the last of a flag wins).
    entry: [process.execPath, ...programArgs("gateway", true, c.nodeFlags)],
    extraArgs: [`--memory-shed-at=${c.shedAtPercent}`, "--max-connections=10000", "--request-timeout=300s"],
  });
  cleanup(async () => {
    await gw.proc.stop();
    cgroup.remove();
  });
  await subscriptionLoaded(gw, etcd, tenant, cluster);
  const heapLimit = Number(/V8's heap limit \((\d+) bytes\)/.exec(readFileSync(gw.proc.log, "utf8"))?.[1]);
  assert.match(readFileSync(gw.proc.log, "utf8"), new RegExp(`"memoryShedding":"${c.shedding(heapLimit)}"`));

  const port = Number(new URL(gw.url).port);
  const body = JSON.stringify({ order: 42, items: ["a", "b"] });
  const sockets = new Set<ReturnType<typeof connect>>();
  cleanup(() => {
    for (const socket of sockets) socket.destroy();
  });
  const send = (i: number): Sent => {
    const socket = connect(port, "127.0.0.1");
    sockets.add(socket);
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.write(
      [
        "POST / HTTP/1.1",
        "host: gateway",
        `authorization: Bearer ${tenant.token}`,
        "ce-specversion: 1.0",
        `ce-id: held-${i}`,
        "ce-source: /shed",
        `ce-type: ${tenant.type}`,
        "content-type: application/json",
        `content-length: ${body.length}`,
        "connection: close",
        "",
        body,
      ].join("\r\n"),
    );
    const answered = new Promise<{ status: number; head: string; body: string }>((resolve, reject) => {
      socket.on("error", reject);
      socket.on("close", () => {
        const text = Buffer.concat(chunks).toString();
        const [head = "", rest = ""] = text.split("\r\n\r\n");
        resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, body: rest });
      });
    });
    return { answered };
  };

  // Held requests, a batch at a time, each batch taken in (its connections open at the gateway,
  // or refused) before the next, until one is refused.
  const sent: Sent[] = [];
  const refusals = async (): Promise<number> =>
    (await gw.metric('switchboard_gateway_requests_refused_total{reason="memory"}')) ?? 0;
  while ((await refusals()) === 0) {
    assert.ok(
      sent.length < MAX_HELD,
      `a refusal within ${MAX_HELD} held requests (working set ${cgroup.workingSetMb().toFixed(1)} MiB)`,
    );
    for (let i = 0; i < 50; i++) sent.push(send(sent.length));
    await waitFor(`${sent.length} connections open at the gateway or refused`, async () => {
      const open = (await gw.metric("switchboard_gateway_open_connections")) ?? 0;
      return open + (await refusals()) >= sent.length ? true : undefined;
    });
  }
  assert.equal(await gw.metric("switchboard_gateway_memory_pressure"), 1, "the gateway reports the pressure");
  // Under pressure at most half of what was in progress is admitted at once: these are all refused.
  const underPressure = Array.from({ length: 20 }, (_, i) => send(sent.length + i));
  sent.push(...underPressure);
  const statuses = await Promise.race([
    Promise.all(underPressure.map(({ answered }) => answered.then((a) => a.status))),
    // A bound on the wait, not a synchronisation: an admitted request would wait for the gate.
    new Promise<"held">((r) => setTimeout(() => r("held"), 20_000).unref()),
  ]);
  assert.deepEqual(statuses, Array(20).fill(503));
  await waitFor("every request not refused to be in progress, held by the function", async () => {
    const inProgress = await gw.metric("switchboard_gateway_requests_in_progress");
    return inProgress === sent.length - (await refusals()) ? true : undefined;
  });

  open();
  const answers = await Promise.all(sent.map((s) => s.answered));
  const refused = answers.filter((a) => a.status === 503);
  const served = answers.filter((a) => a.status === 200);
  assert.equal(refused.length + served.length, answers.length, "every request is answered 200 or 503");
  for (const a of refused) {
    assert.match(a.head, /\r\nretry-after: 1\r\n/i);
    const problem = JSON.parse(a.body) as { type: string; detail: string };
    assert.match(problem.type, /\/overloaded$/);
    assert.equal(problem.detail, c.detail);
  }
  assert.equal(
    await gw.metric('switchboard_gateway_requests_refused_total{reason="memory"}'),
    refused.length,
    "each refusal counted once",
  );
  assert.equal(server.received.length, served.length, "the function saw exactly the admitted requests");
  assert.equal(cgroup.oomKills(), 0);
  await waitFor("nothing in progress", async () =>
    (await gw.metric("switchboard_gateway_requests_in_progress")) === 0 ? true : undefined,
  );

  // Nothing in progress now: a request is admitted whatever the working set.
  const after = await send(-1).answered;
  assert.equal(after.status, 200);
  // No request comes now: the gateway goes quiet, collects its heap and trims, and still sees its
  // memory come back and the pressure end (the memory check runs until then).
  await waitFor("the pressure to end with no request coming", async () =>
    (await gw.metric("switchboard_gateway_memory_pressure")) === 0 ? true : undefined,
  );
  t.diagnostic(
    `${served.length} held requests admitted, ${refused.length} refused; working set ${cgroup.workingSetMb().toFixed(1)} MiB, peak ${cgroup.peakMb().toFixed(1)} MiB`,
  );
};

test(
  "memory near the container's limit: further requests refused 503 overloaded and counted, every admitted one answered, none lost",
  {
    skip,
  },
  (t) =>
    shedsAndLosesNothing(t, {
      limit: LIMIT,
      shedAtPercent: SHED_AT_PERCENT,
      // V8's heap limit as large as the container's: its heap in use cannot reach 25 % of that
      // before the working set (which holds it) reaches 25 % of the container's limit.
      nodeFlags: ["--max-old-space-size-percentage=100"],
      shedding: (heapLimit) =>
        `at ${SHED_AT_PERCENT}% of ${LIMIT} bytes \\(the container's limit\\) or V8's heap limit \\(${heapLimit} bytes\\)`,
      detail: "the gateway's memory is near its container's limit",
    }),
);

test(
  "V8's heap near its limit: the same, before Node would end the gateway with a heap out of memory",
  {
    skip,
  },
  (t) =>
    shedsAndLosesNothing(t, {
      limit: HEAP_CASE_LIMIT,
      shedAtPercent: 85,
      nodeFlags: [`--max-old-space-size-percentage=${HEAP_CASE_OLD_SPACE_PERCENT}`],
      shedding: (heapLimit) => {
        // The flag took: the heap limit is the capped old generation and the young one, far below the cgroup's.
        assert.ok(heapLimit < 64 * MiB, `V8's heap limit ${heapLimit} bytes`);
        return `at 85% of ${HEAP_CASE_LIMIT} bytes \\(the container's limit\\) or V8's heap limit \\(${heapLimit} bytes\\)`;
      },
      detail: "the gateway's memory is near V8's heap limit",
    }),
);
