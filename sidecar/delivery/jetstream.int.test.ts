// Async delivery on JetStream (--durability jetstream), with real gateways, a real three-member
// NATS cluster and real function servers: every accepted id arrives through a gateway's death, a
// NATS member's death and a function down for a minute; dead letters are kept with their context
// and redriven exactly once; a full stream answers 503 and loses nothing it accepted.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, test } from "node:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { Etcd3 } from "etcd3";
import { startEtcd } from "../../e2e/etcd.ts";
import { type FunctionServer, type Received, startFunction } from "../../e2e/functions.ts";
import { type GatewayProcess, startGateway } from "../../e2e/gateway.ts";
import { cleanup, uniqueName } from "../../e2e/harness.ts";
import { startNatsCluster } from "../../e2e/nats.ts";
import { createCa, createCert } from "../../e2e/pki.ts";
import { freePort } from "../../e2e/ports.ts";
import { start, waitFor } from "../../e2e/proc.ts";
import { programArgs, programEnv } from "../../e2e/programs.ts";
import { repoRoot } from "../../e2e/tools.ts";
import { subscriptionKey } from "../../registry/keys.ts";
import type { DeliveryRecord } from "../../registry/types.ts";
import { openWriter } from "../../registry/writer/index.ts";
import { failuresStream } from "./jetstream.ts";

const dir = mkdtempSync(join(repoRoot, ".work", "jetstream-"));
const nats = await startNatsCluster({ dir, size: 3 });
// An etcd of its own: every gateway here creates streams for every VPN with an async
// subscription in the registry it reads, and the shared registry holds every other test's VPNs.
const privateEtcd = await startEtcd(mkdtempSync(join(dir, "etcd-")));
cleanup(() => privateEtcd.stop());
const etcdUrl = privateEtcd.url;
const etcd = new Etcd3({ hosts: etcdUrl });
const cluster = uniqueName("js");
const writer = await openWriter({ client: etcd, cluster, identity: "test" });
const vpn = uniqueName("v");
const ns = uniqueName("ns");
const token = "jetstream-token";
const gateways: GatewayProcess[] = [];
const servers: FunctionServer[] = [];
// Every gateway consumes every subscription: each test counts on its own gateways only, so those
// of a test stop when it ends, passed or failed.
afterEach(async () => {
  for (const g of gateways.splice(0)) await g.proc.stop();
});
cleanup(async () => {
  for (const g of gateways) await g.proc.stop();
  for (const s of servers) await s.close();
  writer.close();
  etcd.close();
  await nats.stop();
});

const owner = (name: string, namespace?: string) => ({
  cluster,
  uid: `u-${name}`,
  generation: 1,
  name,
  ...(namespace ? { namespace } : {}),
});
/** A VPN of namespace `namespace` whose publishers send `secret`. */
const vpnRecord = (name: string, namespace: string, secret = token) =>
  writer.sync(
    { kind: "vpn", name },
    {
      schema: 1,
      kind: "vpn",
      vpn: name,
      owner: owner(name),
      spec: {
        namespaces: [namespace],
        publishers: [{ name: "p", tokenSha256: createHash("sha256").update(secret).digest("hex") }],
        limits: {},
      },
    },
  );
await vpnRecord(vpn, ns);

let lastRoute = { vpn, ns, name: "" };
/** A function at `url` and an async subscription `name` to it for events of type `name` (in `at`, the test's VPN by default). */
const route = async (
  name: string,
  url: string,
  delivery: DeliveryRecord,
  at: { vpn: string; ns: string } = { vpn, ns },
): Promise<void> => {
  const { vpn, ns } = at;
  lastRoute = { vpn, ns, name };
  await writer.sync(
    { kind: "function", namespace: ns, name },
    {
      schema: 1,
      kind: "function",
      vpn,
      owner: owner(name, ns),
      spec: { endpoints: [`${url}/`], timeoutMs: 5000, concurrency: 16, headers: {} },
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
        filters: [{ exact: { type: name } }],
        delivery,
      },
    },
  );
};

const gateway = async (name: string, extra: string[] = []): Promise<GatewayProcess> => {
  const g = await startGateway({
    etcd: etcdUrl,
    clusterName: cluster,
    dir,
    name,
    extraArgs: ["--durability=jetstream", `--nats=${nats.urls.join(",")}`, "--nats-ack-wait=3s", ...extra],
  });
  gateways.push(g);
  const key = subscriptionKey({ vpn: lastRoute.vpn, namespace: lastRoute.ns, name: lastRoute.name, cluster });
  const written = Number((await etcd.get(key).exec()).kvs[0]?.mod_revision ?? 0);
  await waitFor(`gateway ${name} to load the routes`, async () =>
    ((await g.metric("switchboard_gateway_config_revision")) ?? 0) >= written ? true : undefined,
  );
  return g;
};

const publish = (g: GatewayProcess, type: string, id: string, size = 0, secret = token): Promise<Response> =>
  fetch(`${g.url}/`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${secret}`,
      "ce-specversion": "1.0",
      "ce-id": id,
      "ce-source": "/jetstream",
      "ce-type": type,
      "content-type": "text/plain",
    },
    body: `payload ${id}`.padEnd(size, "."),
  }).catch(() => new Response(null, { status: 599 }));

const ids = (received: readonly Received[]): string[] => received.map((r) => String(r.headers["ce-id"]));
/** How many deliveries each id got. */
const counts = (received: readonly Received[]): Map<string, number> => {
  const n = new Map<string, number>();
  for (const id of ids(received)) n.set(id, (n.get(id) ?? 0) + 1);
  return n;
};

const admin = (g: GatewayProcess, path: string, init: RequestInit = {}) =>
  fetch(`${g.adminUrl}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
  });

test("steady load through two gateways: one killed for good, a NATS member killed and back, the function down 60 s; every accepted id arrives", {
  timeout: 240_000,
}, async (t) => {
  // 50 ms per event: each gateway always has deliveries in flight, so the one killed leaves some.
  const answer = async () => {
    await new Promise((r) => setTimeout(r, 50));
    return { status: 200 };
  };
  let fn = await startFunction(answer);
  const received: Received[] = [];
  const port = Number(new URL(fn.url).port);
  await route("steady", fn.url, {
    retry: 1000,
    backoffPolicy: "exponential",
    backoffDelayMs: 100,
    maxBackoffMs: 2000,
  });
  const a = await gateway("steady-a");
  const b = await gateway("steady-b");
  const accepted = new Set<string>();
  let refused = 0;
  let sent = 0;
  let publishing = true;
  /** Publishes one event at a time through `g` until told to stop or it dies; counts each 202. */
  const load = async (g: GatewayProcess, prefix: string): Promise<void> => {
    while (publishing) {
      const id = `${prefix}-${sent++}`;
      const res = await publish(g, "steady", id);
      if (res.status === 202) {
        accepted.add(id);
        // Paced: about 100 events/s per gateway, a steady load rather than a flood.
        await new Promise((r) => setTimeout(r, 10));
      } else {
        refused++;
        if (res.status === 599) return; // the gateway is gone
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  const loads = [load(a, "a"), load(b, "b")];
  const atLeast = (n: number) =>
    waitFor(`${n} accepted`, async () => (accepted.size >= n ? true : undefined));
  await atLeast(200);
  const heldByB = (await b.metric("switchboard_gateway_queue_events")) ?? 0;
  b.proc.stop(0); // SIGKILL, never restarted: what it held unacknowledged is delivered by a
  await b.proc.exited;
  await atLeast(400);
  await nats.kill(1);
  await atLeast(600);
  await nats.restart(1);
  await atLeast(800);
  // The function goes away (connections refused) for 60 s while events keep being accepted.
  received.push(...fn.received);
  await fn.close();
  const downAt = Date.now();
  const acceptedWhenDown = accepted.size;
  await waitFor(
    "60 s with the function down",
    async () => (Date.now() - downAt >= 60_000 ? true : undefined),
    {
      timeoutMs: 70_000,
      intervalMs: 500,
    },
  );
  assert.ok(accepted.size > acceptedWhenDown, "events were accepted while the function was down");
  fn = await startFunction(answer, { port });
  servers.push(fn);
  await atLeast(accepted.size + 100);
  publishing = false;
  await Promise.all(loads);
  await waitFor(
    "every accepted id to arrive",
    async () => {
      const seen = new Set(ids([...received, ...fn.received]));
      return [...accepted].every((id) => seen.has(id)) ? true : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 500 },
  );
  const all = counts([...received, ...fn.received]);
  const duplicates = [...all.values()].reduce((n, c) => n + c - 1, 0);
  t.diagnostic(
    `accepted ${accepted.size}, refused ${refused}, in flight on the gateway killed ${heldByB}, deliveries ${[...all.values()].reduce((n, c) => n + c, 0)}, duplicates ${duplicates}`,
  );
  for (const id of accepted) assert.ok((all.get(id) ?? 0) >= 1, `${id} arrived`);
  // Nothing arrives that was not published.
  for (const id of all.keys()) assert.match(id, /^[ab]-\d+$/);
});

test("a function that fails every request: dead letters kept with their context, redriven exactly once, backlog back to 0", {
  timeout: 120_000,
}, async () => {
  let fixed = false;
  const fn = await startFunction(() => ({ status: fixed ? 200 : 500 }));
  servers.push(fn);
  await route("failing", fn.url, {
    retry: 2,
    backoffPolicy: "linear",
    backoffDelayMs: 50,
    maxBackoffMs: 50,
  });
  const g = await gateway("dead");
  const sent = ["f-0", "f-1", "f-2", "f-3", "f-4"];
  for (const id of sent) assert.equal((await publish(g, "failing", id)).status, 202);
  const backlog = `switchboard_gateway_dead_letter_backlog{vpn="${vpn}"}`;
  await waitFor("5 dead letters", async () => ((await g.metric(backlog)) === 5 ? true : undefined));
  // Three attempts each (the first and two retries), then kept.
  assert.equal(fn.received.length, 15);
  // Their first failures were recorded for the dead letters, then forgotten.
  const nc = await connect({ servers: [...nats.urls] });
  const jsm = await jetstreamManager(nc);
  await waitFor("the first failures forgotten", async () =>
    (await jsm.streams.info(failuresStream(vpn))).state.messages === 0 ? true : undefined,
  );
  await nc.close();
  assert.equal(await g.metric('switchboard_gateway_dead_letters_total{outcome="kept"}'), 5);
  assert.equal(
    await g.metric('switchboard_gateway_deliveries_total{mode="async",outcome="dead_lettered"}'),
    5,
  );
  const listed = await admin(g, `/deadletters?vpn=${vpn}&subscription=${ns}/failing`);
  assert.equal(listed.status, 200);
  const body = (await listed.json()) as { deadLetters: Record<string, unknown>[] };
  assert.deepEqual(body.deadLetters.map((d) => d.id).sort(), sent);
  for (const d of body.deadLetters) {
    assert.equal(d.subscription, `${ns}/failing`);
    assert.equal(d.function, `${ns}/failing`);
    assert.equal(d.status, "500");
    assert.equal(d.attempts, 3);
    assert.equal(d.source, "/jetstream");
    assert.ok(Date.parse(String(d.acceptedAt)) <= Date.parse(String(d.firstFailureAt)));
    // The first of three attempts failed before the last, two backoffs apart.
    assert.ok(Date.parse(String(d.firstFailureAt)) < Date.parse(String(d.lastFailureAt)), JSON.stringify(d));
  }
  // Only the VPN's publishers see them.
  const stranger = await fetch(`${g.adminUrl}/deadletters?vpn=${vpn}&subscription=${ns}/failing`, {
    headers: { authorization: "Bearer nope" },
  });
  assert.equal(stranger.status, 401);

  fixed = true;
  const before = fn.received.length;
  const one = await admin(g, `/deadletters/redrive?vpn=${vpn}&subscription=${ns}/failing`, {
    method: "POST",
    body: JSON.stringify({ ids: ["f-2"] }),
  });
  assert.deepEqual(await one.json(), { vpn, subscription: `${ns}/failing`, redriven: 1 });
  const rest = await admin(g, `/deadletters/redrive?vpn=${vpn}&subscription=${ns}/failing`, {
    method: "POST",
    body: "{}",
  });
  assert.deepEqual(await rest.json(), { vpn, subscription: `${ns}/failing`, redriven: 4 });
  await fn.waitFor(before + 5);
  await waitFor("the backlog back to 0", async () => ((await g.metric(backlog)) === 0 ? true : undefined));
  const after = counts(fn.received.slice(before));
  assert.deepEqual([...after.keys()].sort(), sent);
  for (const id of sent) assert.equal(after.get(id), 1, `${id} redriven once`);
  const empty = (await (await admin(g, `/deadletters?vpn=${vpn}&subscription=${ns}/failing`)).json()) as {
    deadLetters: unknown[];
  };
  assert.deepEqual(empty.deadLetters, []);
  const bad = await admin(g, `/deadletters/redrive?vpn=${vpn}&subscription=${ns}/failing`, {
    method: "POST",
    body: JSON.stringify({ from: "yesterday" }),
  });
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { detail: string }).detail, /"from" must be an RFC 3339 time/);
});

test("a full stream answers 503 with Retry-After; every event it accepted is delivered", {
  timeout: 120_000,
}, async () => {
  const gate = Promise.withResolvers<void>();
  const fn = await startFunction(async () => {
    await gate.promise;
    return { status: 200 };
  });
  servers.push(fn);
  const full = uniqueName("full");
  // A VPN of its own: its streams take this gateway's small cap.
  const at = { vpn: uniqueName("v"), ns: uniqueName("ns") };
  await vpnRecord(at.vpn, at.ns, "full-token");
  await route(full, fn.url, { retry: 5, backoffPolicy: "linear", backoffDelayMs: 50, maxBackoffMs: 50 }, at);
  const g = await gateway("full", ["--nats-max-bytes=20000"]);
  const accepted: string[] = [];
  let answer: Response | undefined;
  for (let i = 0; i < 200; i++) {
    const res = await publish(g, full, `s-${i}`, 1000, "full-token");
    if (res.status === 202) accepted.push(`s-${i}`);
    else {
      answer = res;
      break;
    }
  }
  assert.ok(answer, "the stream filled up");
  assert.equal(answer.status, 503);
  assert.ok(answer.headers.get("retry-after"));
  assert.match(((await answer.json()) as { type: string }).type, /stream-full$/);
  assert.ok(accepted.length > 5 && accepted.length < 20, `${accepted.length} accepted`);
  gate.resolve();
  await waitFor("every accepted event to arrive", async () => {
    const seen = new Set(ids(fn.received));
    return accepted.every((id) => seen.has(id)) ? true : undefined;
  });
});

test("a NATS that requires TLS and a user: the gateway with the CA and the password delivers; with a wrong password it does not start, and says why", {
  timeout: 60_000,
}, async () => {
  const tlsDir = mkdtempSync(join(dir, "tls-"));
  const ca = await createCa(tlsDir, "nats-test-ca");
  const serving = await createCert(tlsDir, ca, {
    name: "nats",
    commonName: "nats",
    dnsNames: ["localhost"],
    ips: ["127.0.0.1"],
    usage: "server",
  });
  const secured = await startNatsCluster({
    dir: mkdtempSync(join(dir, "secured-")),
    size: 1,
    tls: serving,
    users: [{ user: "gateway", password: "s3cret" }],
  });
  cleanup(() => secured.stop());
  const password = join(tlsDir, "password");
  writeFileSync(password, "s3cret\n");
  const wrong = join(tlsDir, "wrong");
  writeFileSync(wrong, "guess\n");
  const fn = await startFunction();
  servers.push(fn);
  const name = uniqueName("sec");
  await route(name, fn.url, { retry: 0, backoffPolicy: "linear", backoffDelayMs: 50, maxBackoffMs: 50 });
  const flags = (passwordFile: string) => [
    "--durability=jetstream",
    `--nats=${secured.urls.join(",")}`,
    "--nats-replicas=1",
    `--nats-ca=${ca.cert}`,
    "--nats-user=gateway",
    `--nats-password-file=${passwordFile}`,
  ];
  const g = await startGateway({
    etcd: etcdUrl,
    clusterName: cluster,
    dir,
    name: "secured",
    extraArgs: flags(password),
  });
  gateways.push(g);
  assert.ok(secured.urls[0]?.startsWith("tls://"));
  await waitFor(
    "the route loaded",
    async () => ((await g.metric("switchboard_gateway_config_revision")) ?? 0) > 0 || undefined,
  );
  assert.equal((await publish(g, name, "sec-1")).status, 202);
  await fn.waitFor(1);
  assert.equal(fn.received[0]?.headers["ce-id"], "sec-1");

  const refused = start({
    name: "gateway refused by NATS",
    command: process.execPath,
    args: [
      ...programArgs("gateway"),
      `--etcd=${etcdUrl}`,
      "--listen=127.0.0.1:0",
      `--cluster-name=${cluster}`,
      "--metrics-addr=127.0.0.1:0",
      ...flags(wrong),
    ],
    log: join(dir, "gateway-refused.log"),
    env: programEnv(),
  });
  assert.equal(await refused.exited, 1);
  assert.match(refused.tail(5), /cannot connect to NATS \(tls:\/\/127\.0\.0\.1:\d+\): .*[Aa]uthorization/);
});

test("a Function URL naming a NATS server is refused by the egress policy: the event ends a dead letter with status egress-denied", {
  timeout: 60_000,
}, async () => {
  const name = uniqueName("sneaky");
  const natsAddress = (nats.urls[0] ?? "").replace(/^nats:/, "http:");
  await route(name, natsAddress, { retry: 0, backoffPolicy: "linear", backoffDelayMs: 50, maxBackoffMs: 50 });
  const g = await gateway("sneaky");
  assert.equal((await publish(g, name, "sneaky-1")).status, 202);
  const listed = await waitFor("the refused event kept as a dead letter", async () => {
    const res = await admin(g, `/deadletters?vpn=${vpn}&subscription=${ns}/${name}`);
    const body = (await res.json()) as { deadLetters: { id: string; status: string; attempts: number }[] };
    return body.deadLetters.length > 0 ? body.deadLetters : undefined;
  });
  assert.deepEqual(
    listed.map((d) => [d.id, d.status, d.attempts]),
    [["sneaky-1", "egress-denied", 1]],
  );
  assert.equal(await g.metric('switchboard_gateway_delivery_attempts_total{result="egress-denied"}'), 1);
});

test("a gateway started before NATS waits for it, then accepts and delivers", {
  timeout: 60_000,
}, async () => {
  const port = await freePort();
  const fn = await startFunction();
  servers.push(fn);
  const name = uniqueName("late");
  await route(name, fn.url, { retry: 0, backoffPolicy: "linear", backoffDelayMs: 50, maxBackoffMs: 50 });
  const starting = gateway("late", [`--nats=nats://127.0.0.1:${port}`, "--nats-replicas=1"]);
  const log = join(dir, "gateway-late.log");
  await waitFor("the gateway to wait for NATS", async () =>
    existsSync(log) && readFileSync(log, "utf8").includes("waiting for the NATS servers") ? true : undefined,
  );
  const late = await startNatsCluster({ dir: mkdtempSync(join(dir, "late-")), size: 1, clientPorts: [port] });
  cleanup(() => late.stop());
  const g = await starting;
  assert.equal((await publish(g, name, "late-1")).status, 202);
  await fn.waitFor(1);
  assert.equal(fn.received[0]?.headers["ce-id"], "late-1");
});
