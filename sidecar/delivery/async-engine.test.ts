import assert from "node:assert/strict";
import { test } from "node:test";
import { Registry } from "prom-client";
import { silentLogger } from "../../common/log.ts";
import { createGatewayMetrics } from "../metrics.ts";
import { buildRoutingTable } from "../routing/index.ts";
import { functionRecord, snapshotOf, subscriptionRecord, vpnRecord } from "../testing/routing.ts";
import { createAsyncEngine, HELD_EVENT_OVERHEAD, heldBytes } from "./async-engine.ts";
import type { Deliverer } from "./index.ts";

test("a held event counts its overhead, its payload and its attribute values", () => {
  const attributes = { id: "1", source: "/s", specversion: "1.0", type: "t", retries: 3 };
  const strings = 1 + 2 + 3 + 1;
  assert.equal(heldBytes({ attributes, data: undefined }), HELD_EVENT_OVERHEAD + strings);
  const data = Buffer.alloc(1000);
  assert.equal(heldBytes({ attributes, data }), HELD_EVENT_OVERHEAD + 1000 + strings);
});

test("drain with a full queue: every held event's delivery is stopped, counted abandoned, and drain returns", async () => {
  const sub = subscriptionRecord({ name: "all" });
  const table = buildRoutingTable(
    snapshotOf([
      vpnRecord("blue", "east", { namespaces: ["team"] }),
      functionRecord({ vpn: "blue", namespace: "team", name: "fn", cluster: "east" }),
      sub,
    ]),
  );
  const route = table.route("blue", "team", "all");
  assert.ok(route);
  // Every delivery waits until shutdown aborts it, as a delivery waiting out a retry does; then
  // they end one at a time, a turn of the event loop apart, as deliveries in flight end.
  let started = 0;
  const stopped: (() => void)[] = [];
  const endOneByOne = (): void => {
    const next = stopped.shift();
    if (next === undefined) return;
    next();
    setImmediate(endOneByOne);
  };
  const deliverer: Deliverer = {
    attempt: () => Promise.reject(new Error("not used")),
    deliver: (_route, _fn, _event, _keepBody, signal) => {
      started++;
      return new Promise((resolve) => {
        stopped.push(() =>
          resolve({
            outcome: { error: "network" },
            headers: {},
            body: undefined,
            attempts: 1,
            endpoint: undefined,
          }),
        );
        if (started === 1) signal?.addEventListener("abort", () => setImmediate(endOneByOne));
      });
    },
    attempts: () => 0,
  };
  const metrics = createGatewayMetrics(new Registry());
  const engine = createAsyncEngine({
    deliverer,
    resolveFn: table.fn,
    metrics,
    log: silentLogger(),
    maxEvents: 10_000,
  });
  const event = { attributes: { id: "e", source: "/s", specversion: "1.0", type: "t" }, data: undefined };
  // The default --queue-max-events, offered in batches.
  for (let i = 0; i < 100; i++)
    assert.equal(await engine.offer(Array.from({ length: 100 }, () => ({ route, event }))), "accepted");
  assert.deepEqual(engine.held(), { events: 10_000, bytes: engine.held().bytes });
  assert.equal(await engine.offer([{ route, event }]), "full");
  assert.equal(started, 10_000);
  assert.equal(await engine.drain(0), 10_000);
  assert.equal(engine.held().events, 0);
  const abandoned = (await metrics.deliveries.get()).values.find(
    (v) => v.labels.mode === "async" && v.labels.outcome === "abandoned",
  );
  assert.equal(abandoned?.value, 10_000);
});
