import assert from "node:assert/strict";
import { test } from "node:test";
import { Registry } from "prom-client";
import { silentLogger } from "../../common/log.ts";
import { createOperatorMetrics } from "../metrics.ts";
import { runController, TerminalError } from "./controller.ts";
import { createQueue } from "./queue.ts";

const setup = () => {
  const registry = new Registry();
  const metrics = createOperatorMetrics(registry);
  const queue = createQueue({ baseDelayMs: 1, maxDelayMs: 4, jitter: 0 });
  return { registry, metrics, queue, log: silentLogger() };
};

const count = async (registry: Registry, result: string): Promise<number> => {
  const metric = await registry.getSingleMetric("switchboard_operator_reconciles_total")?.get();
  return metric?.values.find((v) => v.labels.result === result)?.value ?? 0;
};

test("a failing reconcile is retried with backoff until it succeeds, and counted", async () => {
  const { registry, metrics, queue, log } = setup();
  const abort = new AbortController();
  let calls = 0;
  const succeeded = Promise.withResolvers<void>();
  const running = runController(
    {
      kind: "Function",
      queue,
      metrics,
      log,
      reconcile: async () => {
        calls++;
        if (calls < 3) throw new Error("etcd unavailable");
        succeeded.resolve();
        return undefined;
      },
    },
    abort.signal,
  );
  queue.add("ns/a");
  await succeeded.promise;
  abort.abort();
  await running;
  assert.equal(calls, 3);
  assert.equal(await count(registry, "error"), 2);
  assert.equal(await count(registry, "success"), 1);
  assert.equal(queue.failures("ns/a"), 0, "backoff reset after success");
});

test("a terminal error is not retried", async () => {
  const { registry, metrics, queue, log } = setup();
  const abort = new AbortController();
  const seen: string[] = [];
  const second = Promise.withResolvers<void>();
  const running = runController(
    {
      kind: "Subscription",
      queue,
      metrics,
      log,
      reconcile: async (key) => {
        seen.push(key);
        if (key === "ns/bad") throw new TerminalError("filter does not compile");
        second.resolve();
        return undefined;
      },
      workers: 1,
    },
    abort.signal,
  );
  queue.add("ns/bad");
  queue.add("ns/good");
  await second.promise;
  abort.abort();
  await running;
  assert.deepEqual(seen, ["ns/bad", "ns/good"]);
  assert.equal(await count(registry, "terminal"), 1);
});
