// The operator's view of its cluster's gateway presence records, against a real etcd: listed,
// then watched (a report that does not parse is ignored), objects waiting for a gateway are
// re-queued when it reports, and a record that goes is no longer counted.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Etcd3 } from "etcd3";
import { silentLogger } from "../../common/log.ts";
import { cleanup, testEtcd, uniqueName } from "../../e2e/harness.ts";
import { waitFor } from "../../e2e/proc.ts";
import { encodePresence, type GatewayPresence } from "../../registry/heartbeat/presence.ts";
import { presenceKey, presencePrefix } from "../../registry/keys.ts";
import { worldOf } from "../plan/world.ts";
import { createPropagation } from "./propagation.ts";

const etcd = new Etcd3({ hosts: await testEtcd() });
cleanup(() => etcd.close());

test("presence records are listed and watched; a waiting object is re-queued when its gateway catches up, not at every report", async () => {
  const cluster = uniqueName("presence");
  const report = (id: string, appliedRevision: number): GatewayPresence => ({
    id,
    cluster,
    version: "test",
    appliedRevision,
    appliedAt: "2026-11-30T00:00:00.000Z",
    startedAt: "2026-11-30T00:00:00.000Z",
  });
  await etcd
    .put(presenceKey(cluster, "gw-a"))
    .value(encodePresence(report("gw-a", 5)))
    .exec();
  await etcd
    .put(`${presencePrefix(cluster)}junk`)
    .value("not json")
    .exec();
  const queued: string[] = [];
  const flushes: number[] = [];
  const propagation = createPropagation({
    etcd,
    cluster,
    enqueue: (kind, key) => queued.push(`${kind} ${key}`),
    log: silentLogger(),
    relistMs: 60_000,
    onFlushed: (requeued) => flushes.push(requeued),
  });
  const world = worldOf({});
  const before = propagation.check("subscription", "shop/orders", "shop", 10, world);
  assert.deepEqual(
    [before.condition.status, before.condition.reason, before.done],
    ["Unknown", "WaitingForGateways", false],
  );

  const abort = new AbortController();
  const running = propagation.run(abort.signal);
  cleanup(async () => {
    abort.abort();
    await running;
  });
  await waitFor("the first listing", async () => (queued.length > 0 ? true : undefined));
  assert.deepEqual(queued.splice(0), ["subscription shop/orders"], "re-queued once the records are read");
  assert.deepEqual([...propagation.gateways().keys()], ["gw-a"], "the unreadable record is ignored");

  const behind = propagation.check("subscription", "shop/orders", "shop", 10, world);
  assert.equal(behind.done, false);
  assert.match(
    behind.condition.message,
    /^0\/1 gateways; record at revision 10 not yet applied by gw-a \(applied revision 5 at /,
  );

  // A gateway that moves but stays behind changes nothing the condition says: no reconcile.
  flushes.length = 0;
  await etcd
    .put(presenceKey(cluster, "gw-a"))
    .value(encodePresence(report("gw-a", 7)))
    .exec();
  await waitFor("the report to be looked at", async () => (flushes.length > 0 ? true : undefined));
  assert.deepEqual([flushes, queued], [[0], []]);

  await etcd
    .put(presenceKey(cluster, "gw-a"))
    .value(encodePresence(report("gw-a", 12)))
    .exec();
  await waitFor("the waiting Subscription to be re-queued", async () =>
    queued.length > 0 ? true : undefined,
  );
  assert.deepEqual(queued.splice(0), ["subscription shop/orders"]);
  assert.deepEqual(propagation.check("subscription", "shop/orders", "shop", 10, world), {
    condition: { type: "Propagated", status: "True", reason: "Propagated", message: "1/1 gateways" },
    done: true,
  });

  await etcd.delete().key(presenceKey(cluster, "gw-a")).exec();
  await waitFor("the gone gateway to leave the view", async () =>
    propagation.gateways().size === 0 ? true : undefined,
  );
  assert.equal(propagation.check("vpn", "shop", "shop", 20, world).condition.reason, "NoGateways");
});
