// The gateway as a process against a real etcd (records written with the operator's registry
// writer) and real function servers on loopback.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { type FunctionServer, startFunction } from "../e2e/functions.ts";
import { type GatewayProcess, startGateway } from "../e2e/gateway.ts";
import { cleanup, uniqueName } from "../e2e/harness.ts";
import { waitFor } from "../e2e/proc.ts";
import { repoRoot } from "../e2e/tools.ts";
import { subscriptionKey } from "../registry/keys.ts";
import type { FilterRecord, FunctionRecord, SubscriptionRecord, VpnRecord } from "../registry/types.ts";
import { testRegistry } from "./testing/tenant.ts";

const { etcdUrl, etcd, cluster, writer } = await testRegistry("gw");
const dir = mkdtempSync(join(repoRoot, ".work", "gateway-"));
const [vpnA, vpnB] = [uniqueName("a"), uniqueName("b")];
const [nsA, nsB] = [uniqueName("ns-a"), uniqueName("ns-b")];
const servers: FunctionServer[] = [];
const gateways: GatewayProcess[] = [];
cleanup(async () => {
  await Promise.all(gateways.map((g) => g.proc.stop()));
  await Promise.all(servers.map((s) => s.close()));
});

const sha = (t: string): string => createHash("sha256").update(t).digest("hex");
const owner = (name: string, namespace?: string) => ({
  cluster,
  uid: `uid-${name}`,
  generation: 1,
  name,
  ...(namespace ? { namespace } : {}),
});

const putVpn = (vpn: string, ns: string, token: string) => {
  const record: VpnRecord = {
    schema: 1,
    kind: "vpn",
    vpn,
    owner: owner(vpn),
    spec: { namespaces: [ns], publishers: [{ name: "ci", tokenSha256: sha(token) }], limits: {} },
  };
  return writer.sync({ kind: "vpn", name: vpn }, record);
};
const putFunction = async (
  vpn: string,
  ns: string,
  name: string,
  server: FunctionServer,
  timeoutMs = 2000,
) => {
  const record: FunctionRecord = {
    schema: 1,
    kind: "function",
    vpn,
    owner: owner(name, ns),
    spec: { endpoints: [`${server.url}/in`], timeoutMs, concurrency: 10, headers: { "x-fn": name } },
  };
  await writer.sync({ kind: "function", namespace: ns, name }, record);
};
const putSubscription = async (
  vpn: string,
  ns: string,
  name: string,
  fn: string,
  extra: {
    mode?: "async" | "sync";
    filters?: FilterRecord[];
    retry?: number;
    deadLetter?: string;
    http?: { method: string; path: string };
    cel?: string;
  } = {},
) => {
  const record: SubscriptionRecord = {
    schema: 1,
    kind: "subscription",
    vpn,
    owner: owner(name, ns),
    spec: {
      function: { namespace: ns, name: fn },
      mode: extra.mode ?? "async",
      filters: extra.filters ?? [],
      ...(extra.cel ? { cel: extra.cel } : {}),
      ...(extra.http ? { http: extra.http } : {}),
      delivery: {
        retry: extra.retry ?? 3,
        backoffPolicy: "exponential",
        backoffDelayMs: 20,
        maxBackoffMs: 5000,
        ...(extra.deadLetter ? { deadLetter: { namespace: ns, name: extra.deadLetter } } : {}),
      },
    },
  };
  await writer.sync({ kind: "subscription", namespace: ns, name }, record);
};
const fn = async (answer?: Parameters<typeof startFunction>[0]): Promise<FunctionServer> => {
  const s = await startFunction(answer);
  servers.push(s);
  return s;
};

let seq = 0;
const publish = (
  gw: GatewayProcess,
  type: string,
  {
    token,
    data = { amount: 5 },
    headers = {},
  }: { token?: string; data?: unknown; headers?: Record<string, string> } = {},
) =>
  fetch(`${gw.url}/`, {
    method: "POST",
    headers: {
      "ce-specversion": "1.0",
      "ce-id": `evt-${++seq}`,
      "ce-source": "/tests",
      "ce-type": type,
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: JSON.stringify(data),
  });

// VPN A and VPN B subscribe to the same event type; each has its own function.
const fnA = await fn();
const fnB = await fn();
const [tokenA, tokenB] = [uniqueName("token-a"), uniqueName("token-b")];
await putVpn(vpnA, nsA, tokenA);
await putVpn(vpnB, nsB, tokenB);
await putFunction(vpnA, nsA, "fa", fnA);
await putFunction(vpnB, nsB, "fb", fnB);
await putSubscription(vpnA, nsA, "sa", "fa", {
  filters: [{ exact: { type: "com.test.shared" } }],
  cel: "data.amount > 1",
});
await putSubscription(vpnB, nsB, "sb", "fb", { filters: [{ exact: { type: "com.test.shared" } }] });
const gw = await startGateway({ etcd: etcdUrl, clusterName: cluster, dir, name: "main" });
gateways.push(gw);

test("an event reaches exactly the subscribed function of its VPN, in binary mode with its id", async () => {
  const res = await publish(gw, "com.test.shared", { token: tokenA });
  assert.equal(res.status, 202, await res.clone().text());
  const [got] = await fnA.waitFor(1);
  assert.equal(got?.headers["ce-type"], "com.test.shared");
  assert.equal(got?.headers["ce-id"], `evt-${seq}`);
  assert.equal(got?.headers["x-fn"], "fa");
  assert.equal(got?.path, "/in");
  assert.deepEqual(JSON.parse(got?.body ?? ""), { amount: 5 });
  const resB = await publish(gw, "com.test.shared", { token: tokenB });
  assert.equal(resB.status, 202);
  await fnB.waitFor(1);
  assert.equal(fnA.received.length, 1, "VPN B's event never reaches VPN A's function");
});

test("VPNs cannot be crossed: unknown or missing tokens are refused, a VPN sees only its own routes", async () => {
  const none = await publish(gw, "com.test.shared");
  assert.equal(none.status, 401);
  assert.equal(none.headers.get("content-type"), "application/problem+json");
  assert.match(none.headers.get("www-authenticate") ?? "", /^Bearer/);
  assert.equal((await publish(gw, "com.test.shared", { token: "token-c" })).status, 401);
  assert.equal(
    (await publish(gw, "com.test.shared", { token: tokenA, headers: { authorization: "Basic x" } })).status,
    401,
  );
  // A CEL filter that rejects keeps the event from A's function: accepted, delivered nowhere, and
  // counted as unrouted; B's token never selects A's routes.
  const unroutedBefore =
    (await gw.metric(`switchboard_gateway_events_received_total{vpn="${vpnA}",result="unrouted"}`)) ?? 0;
  const filtered = await publish(gw, "com.test.shared", { token: tokenA, data: { amount: 0 } });
  assert.equal(filtered.status, 202);
  assert.deepEqual(await filtered.json(), { accepted: 1, deliveries: 0 });
  assert.equal(
    await gw.metric(`switchboard_gateway_events_received_total{vpn="${vpnA}",result="unrouted"}`),
    unroutedBefore + 1,
  );
  const before = [fnA.received.length, fnB.received.length];
  // Sidecar placement: loopback without a token publishes as the pod's namespace's VPN.
  const sidecarB = await startGateway({
    etcd: etcdUrl,
    clusterName: cluster,
    dir,
    name: "sidecar-b",
    namespace: nsB,
  });
  gateways.push(sidecarB);
  assert.equal((await publish(sidecarB, "com.test.shared")).status, 202);
  await fnB.waitFor((before[1] ?? 0) + 1);
  const outsider = await startGateway({
    etcd: etcdUrl,
    clusterName: cluster,
    dir,
    name: "sidecar-z",
    namespace: "not-in-any-vpn",
  });
  gateways.push(outsider);
  assert.equal((await publish(outsider, "com.test.shared")).status, 403);
  assert.equal(fnA.received.length, before[0], "nothing of B ever reached A");
});

test("sync returns the function's answer; an HTTP route with params becomes an http.request event", async () => {
  const answering = await fn((req) => ({
    status: 201,
    headers: { "x-answer": "yes", "content-type": "application/json" },
    body: req.body,
  }));
  await putFunction(vpnA, nsA, "echo", answering);
  await putSubscription(vpnA, nsA, "sync-echo", "echo", {
    mode: "sync",
    filters: [{ exact: { type: "com.test.sync" } }],
  });
  await putSubscription(vpnA, nsA, "orders-api", "echo", {
    mode: "sync",
    http: { method: "GET", path: "/orders/:id" },
  });
  await caughtUp(gw, vpnA, nsA, "orders-api");
  const sync = await publish(gw, "com.test.sync", { token: tokenA, data: { q: 1 } });
  assert.equal(sync.status, 201);
  assert.equal(sync.headers.get("x-answer"), "yes");
  assert.deepEqual(await sync.json(), { q: 1 });
  const route = await fetch(`${gw.url}/orders/42?verbose=1`, {
    headers: { authorization: `Bearer ${tokenA}` },
  });
  assert.equal(route.status, 201);
  const event = (await route.json()) as {
    method: string;
    path: string;
    params: Record<string, string>;
    query: Record<string, string[]>;
  };
  assert.deepEqual(
    [event.method, event.path, event.params, event.query],
    ["GET", "/orders/42", { id: "42" }, { verbose: ["1"] }],
  );
  assert.equal(answering.received.at(-1)?.headers["ce-type"], "http.request");
  assert.equal(
    (await fetch(`${gw.url}/orders`, { headers: { authorization: `Bearer ${tokenA}` } })).status,
    404,
  );
});

/** Waits until the gateway's routing table includes the subscription record just written. */
const caughtUp = async (g: GatewayProcess, vpn: string, ns: string, name: string): Promise<void> => {
  const key = subscriptionKey({ vpn, namespace: ns, name, cluster });
  const res = await etcd.get(key).exec();
  const written = Number(res.kvs[0]?.mod_revision ?? Number.POSITIVE_INFINITY);
  await waitFor(`gateway to apply revision ${written}`, async () =>
    ((await g.metric("switchboard_gateway_config_revision")) ?? 0) >= written ? true : undefined,
  );
};

test("a sync publisher that leaves while waiting for the function's only slot does not take it from the next", async () => {
  const [vpn, ns, token] = [uniqueName("held"), uniqueName("ns-held"), uniqueName("token-held")];
  const gates: (() => void)[] = [];
  const held = await fn(async () => {
    await new Promise<void>((r) => gates.push(r));
    return { status: 200 };
  });
  await putVpn(vpn, ns, token);
  const record: FunctionRecord = {
    schema: 1,
    kind: "function",
    vpn,
    owner: owner("one-slot", ns),
    spec: { endpoints: [`${held.url}/in`], timeoutMs: 10_000, concurrency: 1, headers: {} },
  };
  await writer.sync({ kind: "function", namespace: ns, name: "one-slot" }, record);
  await putSubscription(vpn, ns, "held-sync", "one-slot", {
    mode: "sync",
    retry: 0,
    filters: [{ exact: { type: "com.test.held" } }],
  });
  await caughtUp(gw, vpn, ns, "held-sync");
  const accepted = async (n: number): Promise<void> => {
    await waitFor(`${n} events accepted for ${vpn}`, async () =>
      ((await gw.metric(`switchboard_gateway_events_received_total{vpn="${vpn}",result="accepted"}`)) ?? 0) >=
      n
        ? true
        : undefined,
    );
  };
  const send = (id: string, signal?: AbortSignal) =>
    fetch(`${gw.url}/`, {
      method: "POST",
      headers: {
        "ce-specversion": "1.0",
        "ce-id": id,
        "ce-source": "/tests",
        "ce-type": "com.test.held",
        authorization: `Bearer ${token}`,
      },
      ...(signal ? { signal } : {}),
    });

  const first = send("first");
  await held.waitFor(1);
  // The second waits for the slot (accepted, then queued for the function), then its publisher leaves.
  const leaving = new AbortController();
  const second = send("second", leaving.signal).catch((err: unknown) => err);
  await accepted(2);
  const open = (await gw.metric("switchboard_gateway_open_connections")) ?? 0;
  leaving.abort();
  await second;
  await waitFor("the gateway to see the second publisher's connection closed", async () =>
    ((await gw.metric("switchboard_gateway_open_connections")) ?? 0) < open ? true : undefined,
  );
  const third = send("third");
  await accepted(3);

  gates.shift()?.();
  assert.equal((await first).status, 200);
  await held.waitFor(2);
  gates.shift()?.();
  assert.equal((await third).status, 200);
  assert.deepEqual(
    held.received.map((r) => r.headers["ce-id"]),
    ["first", "third"],
    "the function never got the request of the publisher that left",
  );
  assert.equal(await gw.metric('switchboard_gateway_deliveries_total{mode="sync",outcome="abandoned"}'), 1);
});

test("delivery follows the status table: retried until success, 500 ends in the dead-letter function, 400 is not retried", async () => {
  const dead = await fn();
  const flaky = await fn((_r, i) => ({ status: i < 2 ? 503 : 200 }));
  const broken = await fn(() => ({ status: 500 }));
  const refusing = await fn(() => ({ status: 400 }));
  await putFunction(vpnA, nsA, "dead", dead);
  await putFunction(vpnA, nsA, "flaky", flaky);
  await putFunction(vpnA, nsA, "broken", broken);
  await putFunction(vpnA, nsA, "refusing", refusing);
  await putSubscription(vpnA, nsA, "to-flaky", "flaky", {
    filters: [{ exact: { type: "com.test.flaky" } }],
    retry: 3,
  });
  await putSubscription(vpnA, nsA, "to-broken", "broken", {
    filters: [{ exact: { type: "com.test.broken" } }],
    retry: 2,
    deadLetter: "dead",
  });
  await putSubscription(vpnA, nsA, "to-refusing", "refusing", {
    filters: [{ exact: { type: "com.test.refusing" } }],
    retry: 5,
    deadLetter: "dead",
  });

  await caughtUp(gw, vpnA, nsA, "to-refusing");
  assert.equal((await publish(gw, "com.test.flaky", { token: tokenA })).status, 202);
  const attempts = await flaky.waitFor(3);
  assert.deepEqual(
    new Set(attempts.map((a) => a.headers["ce-id"])).size,
    1,
    "every attempt carries the same event id",
  );

  assert.equal((await publish(gw, "com.test.broken", { token: tokenA })).status, 202);
  const id = `evt-${seq}`;
  const [deadLettered] = await dead.waitFor(1);
  assert.equal(broken.received.length, 3, "the first attempt and 2 retries");
  assert.equal(deadLettered?.headers["ce-id"], id);
  assert.equal(deadLettered?.headers["ce-deadletterstatus"], "500");
  assert.equal(deadLettered?.headers["ce-deadletterattempts"], "3");
  assert.equal(deadLettered?.headers["ce-deadletterfunction"], `${nsA}/broken`);
  assert.equal(deadLettered?.headers["ce-deadletterroute"], `${nsA}/to-broken`);

  assert.equal((await publish(gw, "com.test.refusing", { token: tokenA })).status, 202);
  const [second] = (await dead.waitFor(2)).slice(1);
  assert.equal(refusing.received.length, 1, "400 is not retried");
  assert.equal(second?.headers["ce-deadletterstatus"], "400");
  assert.equal(second?.headers["ce-deadletterattempts"], "1");
});

test("Retry-After from the function is honoured", async () => {
  const slowDown = await fn((_r, i) =>
    i === 0 ? { status: 429, headers: { "retry-after": "1" } } : { status: 200 },
  );
  await putFunction(vpnA, nsA, "slow-down", slowDown);
  await putSubscription(vpnA, nsA, "to-slow-down", "slow-down", {
    filters: [{ exact: { type: "com.test.retryafter" } }],
  });
  await caughtUp(gw, vpnA, nsA, "to-slow-down");
  assert.equal((await publish(gw, "com.test.retryafter", { token: tokenA })).status, 202);
  const [first, second] = await slowDown.waitFor(2);
  assert.ok(first && second);
  assert.ok(
    second.at - first.at >= 950,
    `retried after ${second.at - first.at} ms, Retry-After asked for 1 s`,
  );
});

test("bad input gets precise problem details", async () => {
  const malformed = await fetch(`${gw.url}/`, {
    method: "POST",
    headers: { "content-type": "application/cloudevents+json", authorization: `Bearer ${tokenA}` },
    body: JSON.stringify({ specversion: "1.0", id: "x", type: "t", time: "yesterday" }),
  });
  assert.equal(malformed.status, 400);
  const problem = (await malformed.json()) as { errors: { attribute?: string }[] };
  assert.deepEqual(problem.errors.map((e) => e.attribute).sort(), ["source", "time"]);
  const big = await publish(gw, "com.test.shared", {
    token: tokenA,
    data: { pad: "x".repeat(2 * 1024 * 1024) },
  });
  assert.equal(big.status, 413);
  const wrongVersion = await publish(gw, "com.test.shared", {
    token: tokenA,
    headers: { "ce-specversion": "0.3" },
  });
  assert.equal(wrongVersion.status, 400);
});

test("the explain endpoint says which subscriptions an event reaches and why not the others", async () => {
  const res = await fetch(`${gw.adminUrl}/explain?vpn=${vpnA}`, {
    method: "POST",
    headers: {
      "ce-specversion": "1.0",
      "ce-id": "x",
      "ce-source": "/t",
      "ce-type": "com.test.shared",
      "content-type": "application/json",
      authorization: `Bearer ${tokenA}`,
    },
    body: JSON.stringify({ amount: 0 }),
  });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { subscriptions: { name: string; matched: boolean; reason: string }[] };
  const sa = body.subscriptions.find((s) => s.name === "sa");
  assert.equal(sa?.matched, false);
  assert.match(sa?.reason ?? "", /cel/);
  assert.ok(
    body.subscriptions.every((s) => s.name !== "sb"),
    "explain never shows another VPN's subscriptions",
  );
  assert.ok(
    ((await gw.metric(`switchboard_gateway_events_received_total{vpn="${vpnA}",result="accepted"}`)) ?? 0) >=
      1,
  );
});

test("each full registry sync is timed, the first load included", async () => {
  const count = await gw.metric("switchboard_gateway_registry_sync_seconds_count");
  assert.ok(count !== undefined && count >= 1, `observations: ${count}`);
  assert.ok(((await gw.metric("switchboard_gateway_registry_sync_seconds_sum")) ?? 0) > 0);
});

test("redirects are never followed: a 302 is a final failure that goes to the dead-letter function", async () => {
  const dead = await fn();
  const target = await fn();
  const redirecting = await fn(() => ({ status: 302, headers: { location: `${target.url}/elsewhere` } }));
  await putFunction(vpnA, nsA, "dead-2", dead);
  await putFunction(vpnA, nsA, "redirecting", redirecting);
  await putSubscription(vpnA, nsA, "to-redirecting", "redirecting", {
    filters: [{ exact: { type: "com.test.redirect" } }],
    deadLetter: "dead-2",
  });
  await caughtUp(gw, vpnA, nsA, "to-redirecting");
  assert.equal((await publish(gw, "com.test.redirect", { token: tokenA })).status, 202);
  const [dl] = await dead.waitFor(1);
  assert.equal(dl?.headers["ce-deadletterstatus"], "302");
  assert.equal(redirecting.received.length, 1);
  assert.equal(target.received.length, 0);
});

test("oversized headers are refused before any work", async () => {
  const res = await fetch(`${gw.url}/`, {
    method: "POST",
    headers: { "x-big": "y".repeat(20 * 1024), authorization: `Bearer ${tokenA}` },
  });
  assert.equal(res.status, 431);
});

test("on SIGTERM the gateway stops accepting, finishes the delivery in flight, and exits 0", async () => {
  const gate = Promise.withResolvers<void>();
  const blocking = await fn(async () => {
    await gate.promise;
    return { status: 200 };
  });
  await putFunction(vpnA, nsA, "blocking", blocking, 10_000);
  await putSubscription(vpnA, nsA, "to-blocking", "blocking", {
    filters: [{ exact: { type: "com.test.drain" } }],
  });
  const draining = await startGateway({ etcd: etcdUrl, clusterName: cluster, dir, name: "draining" });
  await caughtUp(draining, vpnA, nsA, "to-blocking");
  assert.equal((await publish(draining, "com.test.drain", { token: tokenA })).status, 202);
  await blocking.waitFor(1);
  process.kill(draining.proc.pid, "SIGTERM");
  await waitFor("the gateway to report it is shutting down", async () => {
    const res = await fetch(`${draining.adminUrl}/readyz`);
    return res.status === 503 && (await res.text()).includes("shutting down") ? true : undefined;
  });
  gate.resolve();
  assert.equal(await draining.proc.exited, 0);
  assert.doesNotMatch(draining.proc.tail(50), /abandoned/);
});

test("a bad flag exits 2 with one line", async () => {
  const { spawnSync } = await import("node:child_process");
  const res = spawnSync(
    process.execPath,
    [join(repoRoot, "sidecar/main.ts"), "--etcd", etcdUrl, "--cluster-name", "x"],
    { encoding: "utf8" },
  );
  assert.equal(res.status, 2);
  assert.equal(res.stderr.trim().split("\n").length, 1);
  assert.match(res.stderr, /--listen \(or SWITCHBOARD_LISTEN\) is required/);
});
