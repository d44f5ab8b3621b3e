// The JetStream cluster the durable-delivery tests run on behaves as a replicated store should:
// with three members and a stream of three replicas, publishes are acknowledged while one member
// is killed, and every acknowledged message is there to consume after it is back. Real
// nats-server processes (scripts/bootstrap.sh builds them), real clients.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { cleanup } from "./harness.ts";
import { startNatsCluster } from "./nats.ts";
import { repoRoot } from "./tools.ts";

const dir = mkdtempSync(join(repoRoot, ".work", "nats-"));
const cluster = await startNatsCluster({ dir, size: 3 });
cleanup(() => cluster.stop());

test("a stream of three replicas keeps every acknowledged publish through a member's death, none lost or doubled", {
  timeout: 120_000,
}, async () => {
  const nc = await connect({ servers: [...cluster.urls], maxReconnectAttempts: -1, reconnectTimeWait: 200 });
  cleanup(() => nc.close());
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"], num_replicas: 3 });
  const js = jetstream(nc);
  const acked: string[] = [];
  // While the stream elects a new leader after a member dies, a publish gets "no responders" (or
  // times out): the publisher sends it again with the same id, which the stream deduplicates, as
  // the durable backend does. Only acknowledged ids count, and the consume below must see each
  // exactly once.
  const publish = async (id: string): Promise<void> => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const ack = await js.publish("orders.created", JSON.stringify({ id }), { msgID: id, timeout: 2000 });
        assert.equal(ack.stream, "ORDERS");
        acked.push(id);
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  for (let i = 0; i < 50; i++) await publish(`before-${i}`);
  await cluster.kill(2);
  for (let i = 0; i < 50; i++) await publish(`during-${i}`);
  await cluster.restart(2);
  for (let i = 0; i < 50; i++) await publish(`after-${i}`);
  // A redelivered publish with the same id is deduplicated by the stream.
  const again = await js.publish("orders.created", JSON.stringify({ id: "before-0" }), { msgID: "before-0" });
  assert.equal(again.duplicate, true);

  await jsm.consumers.add("ORDERS", { durable_name: "check", ack_policy: AckPolicy.Explicit });
  const consumer = await js.consumers.get("ORDERS", "check");
  const seen: string[] = [];
  while (seen.length < acked.length) {
    const batch = await consumer.fetch({ max_messages: 100, expires: 2000 });
    for await (const m of batch) {
      seen.push((m.json() as { id: string }).id);
      m.ack();
    }
  }
  assert.deepEqual(seen, acked);
});
