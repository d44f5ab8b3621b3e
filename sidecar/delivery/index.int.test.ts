// The deliverer against real HTTP servers: the per-function concurrency limit and binary mode.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Registry } from "prom-client";
import { silentLogger } from "../../common/log.ts";
import { startFunction } from "../../e2e/functions.ts";
import { cleanup } from "../../e2e/harness.ts";
import { toBinaryHeaders } from "../cloudevents/index.ts";
import { createGatewayMetrics } from "../metrics.ts";
import type { CloudEvent, FunctionView } from "../types.ts";
import { createBalancer } from "./balancer.ts";
import { createDeliverer } from "./index.ts";
import { nodePools } from "./node-client.ts";

/** A deliverer on node:http pools, and function `fn` served by `server` at `concurrency`. */
const deliveringTo = (server: { url: string; close(): Promise<void> }, concurrency: number) => {
  const pool = nodePools(async (host) => ({ address: host }));
  cleanup(async () => {
    await server.close();
    await pool.close();
  });
  const deliverer = createDeliverer({
    pool: () => pool,
    balancer: createBalancer(),
    localCluster: "east",
    encode: toBinaryHeaders,
    metrics: createGatewayMetrics(new Registry()),
    log: silentLogger(),
  });
  const fn: FunctionView = {
    vpn: "v",
    namespace: "ns",
    name: "f",
    instances: new Map([
      ["east", { endpoints: [`${server.url}/`], timeoutMs: 30_000, concurrency, headers: {} }],
    ]),
  };
  return { deliverer, fn };
};

const event: CloudEvent = {
  attributes: { specversion: "1.0", id: "1", source: "/t", type: "t" },
  data: undefined,
};

test("no more requests are in flight to a function than its concurrency, per gateway", async () => {
  let inFlight = 0;
  let peak = 0;
  const gates: (() => void)[] = [];
  const server = await startFunction(async () => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    await new Promise<void>((r) => gates.push(r));
    inFlight--;
    return { status: 200 };
  });
  const { deliverer, fn } = deliveringTo(server, 2);
  const attempts = Array.from({ length: 5 }, () => deliverer.attempt(fn, event, undefined, false));
  let released = 0;
  while (released < 5) {
    await server.waitFor(released + Math.min(2, 5 - released));
    assert.ok(inFlight <= 2, `in flight: ${inFlight}`);
    const gate = gates.shift();
    gate?.();
    released++;
  }
  const results = await Promise.all(attempts);
  assert.deepEqual(
    results.map((r) => ("status" in r.outcome ? r.outcome.status : r.outcome.error)),
    [200, 200, 200, 200, 200],
  );
  assert.equal(peak, 2);
  assert.equal(server.received[0]?.headers["ce-id"], "1");
});

test("a wait list full of publishers that left does not refuse a live one: it is delivered once a slot frees", async () => {
  const gates: (() => void)[] = [];
  const server = await startFunction(async () => {
    await new Promise<void>((r) => gates.push(r));
    return { status: 200 };
  });
  const { deliverer, fn } = deliveringTo(server, 1);
  // Cleanups run last-registered first: held requests are let go before the server closes.
  cleanup(() => {
    for (const gate of gates) gate();
  });
  // The one slot is held by an attempt the function does not answer yet.
  const holding = deliverer.attempt(fn, event, undefined, true);
  await server.waitFor(1);
  // The wait list (10 000 places) fills with publishers that have gone away.
  const departed = Array.from({ length: 10_000 }, () =>
    deliverer.attempt(fn, event, undefined, true, () => true),
  );
  const live = deliverer.attempt(fn, event, undefined, true, () => false);
  gates.shift()?.();
  const first = await holding;
  assert.equal("status" in first.outcome ? first.outcome.status : first.outcome.error, 200);
  // The departed end without being sent; the live publisher's event is the function's second request.
  const ended = await Promise.all(departed);
  assert.deepEqual(
    new Set(ended.map((r) => ("error" in r.outcome ? r.outcome.error : r.outcome.status))),
    new Set(["abandoned"]),
  );
  await server.waitFor(2);
  gates.shift()?.();
  const result = await live;
  assert.equal("status" in result.outcome ? result.outcome.status : result.outcome.error, 200);
  assert.equal(server.received.length, 2);
});
