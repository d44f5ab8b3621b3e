// Nothing accepted is lost: the gateway killed with -9 mid-delivery and restarted on the same
// data directory delivers every accepted event at least once, also after a torn write, and a
// full log refuses new events (503) without losing the accepted ones.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { appendFileSync, mkdtempSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { type FunctionServer, startFunction } from "../../e2e/functions.ts";
import { type GatewayProcess, startGateway } from "../../e2e/gateway.ts";
import { cleanup, uniqueName } from "../../e2e/harness.ts";
import { waitFor } from "../../e2e/proc.ts";
import { mountTmpfs } from "../../e2e/tmpfs.ts";
import { repoRoot } from "../../e2e/tools.ts";
import { subscriptionKey } from "../../registry/keys.ts";
import { testRegistry } from "../testing/tenant.ts";

const { etcdUrl, etcd, cluster, writer } = await testRegistry("dur");
const vpn = uniqueName("v");
const ns = uniqueName("ns");
const token = "durable-token";
const gateways: GatewayProcess[] = [];
const servers: FunctionServer[] = [];
cleanup(async () => {
  for (const g of gateways) await g.proc.stop();
  for (const s of servers) await s.close();
});

const owner = (name: string, namespace?: string) => ({
  cluster,
  uid: `u-${name}`,
  generation: 1,
  name,
  ...(namespace ? { namespace } : {}),
});
await writer.sync(
  { kind: "vpn", name: vpn },
  {
    schema: 1,
    kind: "vpn",
    vpn,
    owner: owner(vpn),
    spec: {
      namespaces: [ns],
      publishers: [{ name: "p", tokenSha256: createHash("sha256").update(token).digest("hex") }],
      limits: {},
    },
  },
);

/** The subscription written last: a new gateway waits until it has loaded it. */
let lastRoute = "";

/** A function and an async subscription to it for `type`; retries generously so only a crash interrupts delivery. */
const route = async (name: string, type: string, server: FunctionServer): Promise<void> => {
  lastRoute = name;
  await writer.sync(
    { kind: "function", namespace: ns, name },
    {
      schema: 1,
      kind: "function",
      vpn,
      owner: owner(name, ns),
      spec: { endpoints: [`${server.url}/`], timeoutMs: 5000, concurrency: 1, headers: {} },
    },
  );
  await writer.sync(
    { kind: "subscription", namespace: ns, name },
    {
      schema: 1,
      kind: "subscription",
      vpn,
      owner: owner(name, ns),
      spec: {
        function: { namespace: ns, name },
        mode: "async",
        filters: [{ exact: { type } }],
        delivery: { retry: 100, backoffPolicy: "exponential", backoffDelayMs: 20, maxBackoffMs: 200 },
      },
    },
  );
};

const gateway = async (name: string, dataDir: string, extra: string[] = []): Promise<GatewayProcess> => {
  const g = await startGateway({
    etcd: etcdUrl,
    clusterName: cluster,
    dir: dataDir,
    name,
    extraArgs: [`--data-dir=${dataDir}/log`, ...extra],
  });
  gateways.push(g);
  const key = subscriptionKey({ vpn, namespace: ns, name: lastRoute, cluster });
  const written = Number((await etcd.get(key).exec()).kvs[0]?.mod_revision ?? 0);
  await waitFor("the gateway to load the routes", async () =>
    ((await g.metric("switchboard_gateway_config_revision")) ?? 0) >= written ? true : undefined,
  );
  return g;
};

const publish = (g: GatewayProcess, type: string, id: string, size = 0) =>
  fetch(`${g.url}/`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "ce-specversion": "1.0",
      "ce-id": id,
      "ce-source": "/durable",
      "ce-type": type,
      "content-type": "text/plain",
    },
    body: `payload ${id}`.padEnd(size, "."),
  });

/** A function that holds every request until `open()` is called. */
const gatedFunction = async (): Promise<{ server: FunctionServer; open: () => void }> => {
  const gate = Promise.withResolvers<void>();
  const server = await startFunction(async () => {
    await gate.promise;
    return { status: 200 };
  });
  servers.push(server);
  return { server, open: () => gate.resolve() };
};

const distinctIds = (server: FunctionServer): Set<string> =>
  new Set(server.received.map((r) => String(r.headers["ce-id"])));

test("kill -9 mid-delivery, restart on the same data dir: every accepted id arrives at least once", async () => {
  const dir = mkdtempSync(join(repoRoot, ".work", "durable-"));
  const slow = await startFunction(async () => {
    await new Promise((r) => setTimeout(r, 20));
    return { status: 200 };
  });
  servers.push(slow);
  await route("slow", "com.test.durable", slow);
  const first = await gateway("crash-1", dir);
  const accepted: string[] = [];
  for (let i = 0; i < 60; i++) {
    const res = await publish(first, "com.test.durable", `d-${i}`);
    if (res.status === 202) accepted.push(`d-${i}`);
  }
  assert.equal(accepted.length, 60);
  await slow.waitFor(5);
  first.proc.stop(0); // SIGKILL at once
  await first.proc.exited;
  const deliveredBeforeCrash = distinctIds(slow).size;
  assert.ok(deliveredBeforeCrash < 60, "the crash happened mid-way");

  const second = await gateway("crash-2", dir);
  await waitFor("every accepted id to arrive", async () =>
    accepted.every((id) => distinctIds(slow).has(id)) ? true : undefined,
  );
  assert.equal(distinctIds(slow).size, accepted.length);
  // Delivered events were acknowledged: the restart replays what was not delivered (plus at most
  // the one in flight at the crash), not the whole log.
  assert.ok(
    slow.received.length <= accepted.length + 2,
    `${slow.received.length} deliveries for ${accepted.length} events`,
  );
  await second.proc.stop();
});

test("a torn write at the end of the log is detected and truncated; every accepted id still arrives", async () => {
  const dir = mkdtempSync(join(repoRoot, ".work", "durable-"));
  const { server: held, open: openGate } = await gatedFunction();
  await route("held", "com.test.torn", held);
  const first = await gateway("torn-1", dir);
  const accepted: string[] = [];
  for (let i = 0; i < 10; i++)
    if ((await publish(first, "com.test.torn", `t-${i}`)).status === 202) accepted.push(`t-${i}`);
  first.proc.stop(0);
  await first.proc.exited;
  const segments = readdirSync(join(dir, "log"))
    .filter((f) => f.endsWith(".seg"))
    .sort();
  const last = segments.at(-1);
  assert.ok(last);
  // What a crash in the middle of writing a record leaves: a length, a checksum, half a payload.
  appendFileSync(join(dir, "log", last), Buffer.from([0, 0, 1, 0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3]));
  openGate();
  const second = await gateway("torn-2", dir);
  await waitFor("every accepted id to arrive", async () =>
    accepted.every((id) => distinctIds(held).has(id)) ? true : undefined,
  );
  assert.equal(await second.metric("switchboard_gateway_delivery_log_corruptions_total"), 1);
  await second.proc.stop();
});

test("a full log answers 503 with Retry-After; the events it accepted are all delivered later", async () => {
  const dir = mkdtempSync(join(repoRoot, ".work", "durable-"));
  const { server: held, open: openGate } = await gatedFunction();
  await route("full", "com.test.full", held);
  const g = await gateway("full-1", dir, ["--data-max-bytes=4000"]);
  const accepted: string[] = [];
  let refused: Response | undefined;
  for (let i = 0; i < 100 && !refused; i++) {
    const res = await publish(g, "com.test.full", `f-${i}`);
    if (res.status === 202) accepted.push(`f-${i}`);
    else refused = res;
  }
  assert.ok(refused, "the log filled up");
  assert.equal(refused.status, 503);
  assert.equal(refused.headers.get("retry-after"), "1");
  assert.equal(
    ((await refused.json()) as { type: string }).type,
    "https://switchboard.dev/problems/log-full",
  );
  assert.ok(accepted.length > 5);
  openGate();
  await waitFor("every accepted id to arrive", async () =>
    accepted.every((id) => distinctIds(held).has(id)) ? true : undefined,
  );
  await g.proc.stop();
});

/** Publishes 2 KB events until five in a row are refused; the ids accepted, and the last refusal. */
const fillDisk = async (
  g: GatewayProcess,
  type: string,
  prefix: string,
): Promise<{ accepted: string[]; refused: Response }> => {
  const accepted: string[] = [];
  let refused: Response | undefined;
  for (let i = 0, refusals = 0; i < 2000 && refusals < 5; i++) {
    const res = await publish(g, type, `${prefix}-${i}`, 2000);
    if (res.status === 202) accepted.push(`${prefix}-${i}`);
    else refused = res;
    refusals = res.status === 202 ? 0 : refusals + 1;
  }
  if (!refused) return assert.fail("the disk never filled up");
  return { accepted, refused };
};

test("a full disk: 503 log-failed and not ready, never a 202 for bytes not on disk; kill -9 and restart deliver every accepted id", async () => {
  const dir = mkdtempSync(join(repoRoot, ".work", "durable-"));
  await mountTmpfs(join(dir, "log"), 1024 * 1024);
  const { server: held, open: openGate } = await gatedFunction();
  await route("disk", "com.test.disk", held);
  // The cap is far above the disk: the file system is what fills.
  const first = await gateway("disk-1", dir, ["--data-max-bytes=67108864"]);
  const { accepted, refused } = await fillDisk(first, "com.test.disk", "x");
  assert.equal(refused.status, 503);
  assert.ok(refused.headers.get("retry-after"));
  assert.equal(
    ((await refused.json()) as { type: string }).type,
    "https://switchboard.dev/problems/log-failed",
  );
  const ready = await fetch(`${first.adminUrl}/readyz`);
  assert.equal(ready.status, 503);
  assert.match(await ready.text(), /delivery log cannot be written/);
  assert.ok(accepted.length > 100, `${accepted.length} accepted`);
  first.proc.stop(0);
  await first.proc.exited;

  openGate();
  const second = await gateway("disk-2", dir, ["--data-max-bytes=67108864"]);
  await waitFor("every accepted id to arrive", async () =>
    accepted.every((id) => distinctIds(held).has(id)) ? true : undefined,
  );
  assert.equal(await second.metric("switchboard_gateway_delivery_log_corruptions_total"), 0);
  // Delivered, acknowledged, deleted: the disk has room again and the gateway accepts again.
  await waitFor("the gateway to accept again", async () =>
    (await publish(second, "com.test.disk", "after")).status === 202 ? true : undefined,
  );
  assert.equal((await fetch(`${second.adminUrl}/readyz`)).status, 200);
  await second.proc.stop();
});

test("a full disk without a restart: once the function is back, the log frees its room and the gateway is ready again", async () => {
  const dir = mkdtempSync(join(repoRoot, ".work", "durable-"));
  await mountTmpfs(join(dir, "log"), 1024 * 1024);
  const { server: held, open: openGate } = await gatedFunction();
  await route("refill", "com.test.refill", held);
  const g = await gateway("refill-1", dir, ["--data-max-bytes=67108864"]);
  const { accepted } = await fillDisk(g, "com.test.refill", "r");
  assert.equal((await fetch(`${g.adminUrl}/readyz`)).status, 503);
  // The log's state is sampled every second.
  await waitFor("the failing state in the metrics", async () =>
    (await g.metric('switchboard_gateway_delivery_log_state{state="failing"}')) === 1 ? true : undefined,
  );
  openGate();
  await waitFor("every accepted id to arrive", async () =>
    accepted.every((id) => distinctIds(held).has(id)) ? true : undefined,
  );
  await waitFor("the gateway to be ready again", async () =>
    (await fetch(`${g.adminUrl}/readyz`)).status === 200 ? true : undefined,
  );
  assert.equal((await publish(g, "com.test.refill", "again")).status, 202);
  await waitFor("the ok state in the metrics", async () =>
    (await g.metric('switchboard_gateway_delivery_log_state{state="ok"}')) === 1 ? true : undefined,
  );
  await g.proc.stop();
});

test("a small cap on a normal disk: delivered events free their room, so the log never stays full", async () => {
  const dir = mkdtempSync(join(repoRoot, ".work", "durable-"));
  const fast = await startFunction();
  servers.push(fast);
  await route("smallcap", "com.test.smallcap", fast);
  const g = await gateway("smallcap-1", dir, ["--data-max-bytes=262144"]);
  // 3000 events of 2 KB: 23 times the cap, accepted one after another as each is delivered.
  for (let i = 0; i < 3000; i++) {
    const res = await publish(g, "com.test.smallcap", `s-${i}`, 2000);
    if (res.status !== 202) assert.fail(`event ${i}: ${res.status} ${await res.text()}`);
  }
  await fast.waitFor(3000);
  await g.proc.stop();
});
