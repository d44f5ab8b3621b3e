// The ingress handler in process, over a real routing table built from records and a
// deliverer that holds deliveries open, so admission control can be observed exactly.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { Registry } from "prom-client";
import { silentLogger } from "../../common/log.ts";
import { payloadBytes } from "../../common/malloc.ts";
import type { VpnLimitsRecord } from "../../registry/types.ts";
import { createAsyncEngine } from "../delivery/async-engine.ts";
import type { Deliverer, Final } from "../delivery/index.ts";
import { createGatewayMetrics } from "../metrics.ts";
import { buildRoutingTable, type RoutingTable } from "../routing/index.ts";
import { functionRecord, snapshotOf, subscriptionRecord, vpnRecord } from "../testing/routing.ts";
import type { Reply } from "../types.ts";
import { createBodyBudget } from "./budget.ts";
import { createIngress } from "./index.ts";
import { createVpnLimiter } from "./vpn-limits.ts";

const sha = (t: string): string => createHash("sha256").update(t).digest("hex");

const tableWith = (limits: VpnLimitsRecord, mode: "async" | "sync" = "async"): RoutingTable => {
  const sub = subscriptionRecord({ name: "all" });
  return buildRoutingTable(
    snapshotOf([
      vpnRecord("blue", "east", {
        namespaces: ["team"],
        publishers: [{ name: "ci", tokenSha256: sha("tok") }],
        limits,
      }),
      functionRecord({ vpn: "blue", namespace: "team", name: "fn", cluster: "east" }),
      { ...sub, spec: { ...sub.spec, mode } },
    ]),
  );
};

/** A deliverer whose deliveries stay in flight until `release()`. */
const holdingDeliverer = () => {
  const pending: (() => void)[] = [];
  const final: Final = {
    outcome: { status: 200 },
    headers: {},
    body: undefined,
    attempts: 1,
    endpoint: undefined,
  };
  const deliverer: Deliverer = {
    attempt: async () => ({ ...final }),
    deliver: () => new Promise((resolve) => pending.push(() => resolve(final))),
    attempts: () => 0,
  };
  return {
    deliverer,
    pending,
    release: () => {
      for (const f of pending.splice(0)) f();
    },
  };
};

/** The ingress over `table` (null: no snapshot loaded yet). */
const setup = ({
  table = tableWith({}),
  maxEvents = 100,
  maxEventBytes = 2048,
}: {
  table?: RoutingTable | null;
  maxEvents?: number;
  maxEventBytes?: number;
} = {}) => {
  const registry = new Registry();
  const metrics = createGatewayMetrics(registry);
  const held = holdingDeliverer();
  let draining = false;
  const engine = createAsyncEngine({
    deliverer: held.deliverer,
    resolveFn: () => undefined,
    metrics,
    log: silentLogger(),
    maxEvents,
  });
  const ingress = createIngress({
    table: () => table ?? undefined,
    engine,
    deliverer: held.deliverer,
    limiter: createVpnLimiter(),
    budget: createBodyBudget({ maxBytes: 1 << 20, maxBytesPerVpn: 1 << 20 }),
    metrics,
    log: silentLogger(),
    config: {
      namespace: undefined,
      maxEventBytes,
      maxBatch: 10,
      clusterName: "east",
      id: "t",
    },
    draining: () => draining,
  });
  const app = (
    init: { method: string; headers: Record<string, string>; body: string | null },
    read: () => Promise<Uint8Array> = async () => Buffer.from(init.body ?? ""),
  ) =>
    ingress({
      method: init.method,
      target: "/",
      headers: new Headers(init.headers),
      bodyBytes: Buffer.byteLength(init.body ?? ""),
      body: read,
      remoteAddress: "10.1.2.3",
    });
  const drain = (): void => {
    draining = true;
  };
  /** The events_received count for VPN blue and `result`. */
  const received = async (result: string): Promise<number> =>
    (await metrics.eventsReceived.get()).values.find(
      (v) => v.labels.vpn === "blue" && v.labels.result === result,
    )?.value ?? 0;
  /** A sample of the registry as a scrape gives it: `name`'s value for the labels that match. */
  const scraped = async (name: string, labels: Record<string, string> = {}): Promise<number | undefined> =>
    (await registry.getMetricsAsJSON())
      .find((m) => m.name === name.replace(/_count$/, ""))
      ?.values.find(
        (v) =>
          (v as { metricName?: string }).metricName === (name.endsWith("_count") ? name : undefined) &&
          Object.entries(labels).every(([k, x]) => v.labels[k] === x),
      )?.value;
  return { app, engine, held, drain, received, scraped };
};

let n = 0;
const event = (extra: Record<string, string> = {}) => ({
  method: "POST",
  headers: {
    authorization: "Bearer tok",
    "ce-specversion": "1.0",
    "ce-id": `e${++n}`,
    "ce-source": "/t",
    "ce-type": "x.y",
    ...extra,
  },
  body: "{}",
});

const problem = (res: Reply) => ({
  status: res.status,
  retryAfter: res.headers["retry-after"],
  type: (JSON.parse(String(res.body)) as { type: string }).type,
});

test("a full delivery queue answers 503 with Retry-After and accepts nothing of the request", async () => {
  const { app, engine, held } = setup({ maxEvents: 2 });
  assert.equal((await app(event())).status, 202);
  assert.equal((await app(event())).status, 202);
  assert.deepEqual(problem(await app(event())), {
    status: 503,
    retryAfter: "1",
    type: "https://switchboard.dev/problems/queue-full",
  });
  assert.equal(engine.held().events, 2);
  held.release();
});

test("a VPN's events/s limit answers 429 with Retry-After", async () => {
  const { app, held } = setup({ table: tableWith({ eventsPerSecond: 1, burst: 2 }) });
  assert.equal((await app(event())).status, 202);
  assert.equal((await app(event())).status, 202);
  const limited = problem(await app(event()));
  assert.equal(limited.status, 429);
  assert.ok(Number(limited.retryAfter) >= 1);
  held.release();
});

test("a VPN's maxInFlight answers 503 while that many requests are in flight", async () => {
  const { app, held } = setup({ table: tableWith({ maxInFlight: 1 }, "sync") });
  const first = app(event());
  while (held.pending.length === 0) await new Promise((r) => setImmediate(r));
  assert.equal(problem(await app(event())).status, 503);
  held.release();
  assert.equal((await first).status, 200);
  const again = app(event());
  while (held.pending.length === 0) await new Promise((r) => setImmediate(r));
  held.release();
  assert.equal((await again).status, 200, "the slot is free again");
});

test("a scrape reads the request-body bytes in progress; a sync delivery is timed once, as sync", async () => {
  const { app, held, scraped } = setup({ table: tableWith({}, "sync") });
  assert.equal(await scraped("switchboard_gateway_inflight_body_bytes"), 0);
  const first = app(event());
  while (held.pending.length === 0) await new Promise((r) => setImmediate(r));
  assert.equal(await scraped("switchboard_gateway_inflight_body_bytes"), 2, "the held request's body: {}");
  assert.equal(
    await scraped("switchboard_gateway_delivery_duration_seconds_count", { mode: "sync" }),
    undefined,
  );
  held.release();
  assert.equal((await first).status, 200);
  assert.equal(await scraped("switchboard_gateway_inflight_body_bytes"), 0);
  assert.equal(await scraped("switchboard_gateway_delivery_duration_seconds_count", { mode: "sync" }), 1);
});

test("a body reader that throws at once or rejects gives back the body budget and the VPN's in-flight slot", async () => {
  const { app, held, scraped } = setup({ table: tableWith({ maxInFlight: 1 }, "sync") });
  const throwing = await app(event(), () => {
    throw new Error("the reader broke");
  });
  assert.equal(throwing.status, 500);
  const rejecting = await app(event(), () => Promise.reject(new Error("the reader broke")));
  assert.equal(rejecting.status, 500);
  assert.equal(await scraped("switchboard_gateway_inflight_body_bytes"), 0);
  // The VPN's one slot is free again: the next request is delivered, not refused.
  const next = app(event());
  while (held.pending.length === 0) await new Promise((r) => setImmediate(r));
  held.release();
  assert.equal((await next).status, 200);
});

test("a body that malloc gives pages of its own reserves its whole pages", async () => {
  const { app, held, scraped } = setup({ table: tableWith({}, "sync"), maxEventBytes: 1 << 20 });
  const body = JSON.stringify({ pad: "x".repeat(140_000) });
  const first = app({ ...event(), body });
  while (held.pending.length === 0) await new Promise((r) => setImmediate(r));
  const pages = Math.ceil((body.length + 16) / 4096) * 4096;
  assert.equal(payloadBytes(body.length), pages, "140 KB is above glibc's mmap threshold");
  assert.equal(await scraped("switchboard_gateway_inflight_body_bytes"), pages);
  held.release();
  assert.equal((await first).status, 200);
  assert.equal(await scraped("switchboard_gateway_inflight_body_bytes"), 0);
});

test("before the first snapshot and while draining the gateway answers 503; a CloudEvent by GET is 405", async () => {
  const notReady = setup({ table: null });
  assert.deepEqual(problem(await notReady.app(event())), {
    status: 503,
    retryAfter: "1",
    type: "https://switchboard.dev/problems/not-ready",
  });
  const { app, drain } = setup();
  const get = await app({ ...event(), method: "GET", body: null });
  assert.equal(get.status, 405);
  assert.equal(get.headers.allow, "POST");
  drain();
  assert.deepEqual(problem(await app(event())), {
    status: 503,
    retryAfter: "1",
    type: "https://switchboard.dev/problems/draining",
  });
});

const batch = (count: number) => ({
  method: "POST",
  headers: { authorization: "Bearer tok", "content-type": "application/cloudevents-batch+json" },
  body: JSON.stringify(
    Array.from({ length: count }, () => ({ specversion: "1.0", id: `b${++n}`, source: "/t", type: "x.y" })),
  ),
});

test("a batch refused after the rate limiter admitted it gives its tokens back", async () => {
  const { app, held } = setup({ table: tableWith({ eventsPerSecond: 0.001, burst: 4 }), maxEvents: 3 });
  // 4 tokens; the queue holds 3: a batch of 4 is admitted by the limiter, then refused by the queue.
  assert.equal(problem(await app(batch(4))).status, 503);
  // Without the refund the bucket would be empty now and this would be 429.
  assert.equal((await app(batch(3))).status, 202);
  assert.equal(problem(await app(batch(2))).status, 429, "one token is left after the accepted batch");
  held.release();
});

test("every refusal is counted once in events_received, by what refused it and for each event it held", async () => {
  const { app, held, received } = setup({ table: tableWith({ maxInFlight: 1 }, "sync"), maxEvents: 100 });
  const first = app(event());
  while (held.pending.length === 0) await new Promise((r) => setImmediate(r));
  assert.equal(problem(await app(event())).status, 503, "maxInFlight");
  assert.equal(await received("overloaded"), 1);
  held.release();
  assert.equal((await first).status, 200);
  assert.equal(await received("accepted"), 1);
  const large = await app({ ...event(), body: "x".repeat(4096) });
  assert.equal(large.status, 413);
  const wrongType = await app({
    method: "POST",
    headers: { authorization: "Bearer tok", "content-type": "application/cloudevents+avro" },
    body: "{}",
  });
  assert.equal(wrongType.status, 415);
  const get = await app({ ...event(), method: "GET", body: null });
  assert.equal(get.status, 405);
  assert.equal(await received("rejected"), 3, "413, 415 and 405");
  const noVersion = await app({
    method: "POST",
    headers: { authorization: "Bearer tok", "ce-id": "1", "ce-type": "t", "ce-source": "/s" },
    body: "{}",
  });
  assert.equal(noVersion.status, 400);
  assert.equal(
    (JSON.parse(String(noVersion.body)) as { detail: string }).detail,
    "ce-specversion is missing: a binary-mode CloudEvent needs ce-specversion: 1.0",
  );
  assert.equal(await received("rejected"), 4);
});
