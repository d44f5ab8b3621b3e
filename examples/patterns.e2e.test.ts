// The pattern examples (examples/fan-out, dead-letters, sync-http-api) applied as written to a real
// API server, with only their functions' in-cluster URLs pointed at function servers of this test;
// a real operator and gateway; events published as the examples' comments describe, and counted
// where they arrive. `kubectl wait --for=condition=Ready` is all the waiting needed: Ready means
// the gateway has applied each object (Propagated). examples/two-clusters is applied by
// e2e/multicluster.e2e.test.ts.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { installCrds } from "../crds/install.ts";
import { type FunctionServer, startFunction } from "../e2e/functions.ts";
import { startGateway } from "../e2e/gateway.ts";
import { cleanup, exclusive, testCluster, testEtcd, uniqueName } from "../e2e/harness.ts";
import { startOperator } from "../e2e/operator.ts";
import { repoRoot } from "../e2e/tools.ts";

const cluster = await testCluster();
await exclusive(cluster, "operator");
await installCrds(cluster);
const etcdUrl = await testEtcd();
const clusterName = uniqueName("examples");

/** Function servers by the in-cluster host name the examples give them (`NAME.NAMESPACE`). */
const functions = new Map<string, FunctionServer>();
const fn = async (host: string, answer?: Parameters<typeof startFunction>[0]): Promise<FunctionServer> => {
  const server = await startFunction(answer);
  cleanup(() => server.close());
  functions.set(host, server);
  return server;
};

/** The example's manifests with `http://NAME.NAMESPACE.svc.cluster.local:8080` pointed at this test's function server of that name. */
const manifests = (file: string): string =>
  readFileSync(join(repoRoot, "examples", file), "utf8").replace(
    /http:\/\/([a-z0-9-]+\.[a-z0-9-]+)\.svc\.cluster\.local:8080/g,
    (_all, host: string) => {
      const server = functions.get(host);
      if (server === undefined) throw new Error(`no function server for ${host}`);
      return server.url;
    },
  );

/** Applies an example, removes it when the test ends (before the operator stops), waits until all of it is Ready. */
const applyReady = async (file: string, namespace: string): Promise<void> => {
  const yaml = manifests(file);
  await cluster.kubectl(["apply", "-f", "-"], yaml);
  cleanup(async () => {
    await cluster.kubectl(["delete", "--ignore-not-found", "--timeout=60s", "-f", "-"], yaml);
  });
  for (const kind of ["functions.switchboard.dev", "subscriptions.switchboard.dev"])
    await cluster.kubectl(["wait", "--for=condition=Ready", "--timeout=60s", "-n", namespace, kind, "--all"]);
};

const operator = await startOperator(cluster, {
  clusterName,
  id: "examples-op",
  etcd: etcdUrl,
  leaseNamespace: "default",
});
cleanup(() => operator.proc.stop());
const gateway = await startGateway({ etcd: etcdUrl, clusterName, dir: cluster.dir, name: "examples" });
cleanup(() => gateway.proc.stop());
// Ready then means this gateway routes it.
await operator.knowsGateways(["examples"]);

/** Publishes a binary-mode CloudEvent; the gateway's answer. */
const publish = async (
  token: string,
  attrs: { id: string; type: string },
  data: unknown,
): Promise<{ status: number; body: string }> => {
  const res = await fetch(`${gateway.url}/`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "ce-specversion": "1.0",
      "ce-id": attrs.id,
      "ce-source": "/examples",
      "ce-type": attrs.type,
      "content-type": "application/json",
    },
    body: JSON.stringify(data),
  });
  return { status: res.status, body: await res.text() };
};

const ids = (server: FunctionServer): string[] =>
  server.received.map((r) => String(r.headers["ce-id"])).sort();

test("fan-out: one event reaches every function whose Subscription matches it, once each", async () => {
  const billing = await fn("billing.fanout");
  const shipping = await fn("shipping.fanout");
  const analytics = await fn("analytics.fanout");
  await applyReady("fan-out/fan-out.yaml", "fanout");
  const token = "fanout-example-token";
  const order = "com.example.order.created";
  assert.deepEqual(await publish(token, { id: "o-1", type: order }, { ship: true }), {
    status: 202,
    body: '{"accepted":1,"deliveries":3}',
  });
  assert.deepEqual(await publish(token, { id: "o-2", type: order }, { ship: false }), {
    status: 202,
    body: '{"accepted":1,"deliveries":2}',
  });
  assert.deepEqual(await publish(token, { id: "v-1", type: "com.example.page.viewed" }, {}), {
    status: 202,
    body: '{"accepted":1,"deliveries":1}',
  });
  await Promise.all([billing.waitFor(2), shipping.waitFor(1), analytics.waitFor(3)]);
  assert.deepEqual(ids(billing), ["o-1", "o-2"]);
  assert.deepEqual(ids(shipping), ["o-1"]);
  assert.deepEqual(ids(analytics), ["o-1", "o-2", "v-1"]);
});

test("dead letters: an event its function keeps refusing is retried 3 times, then reaches the dead-letter function", async () => {
  const charge = await fn("charge.payments", () => ({ status: 500, body: "card processor down" }));
  const dlq = await fn("payments-dlq.payments");
  await applyReady("dead-letters/dead-letters.yaml", "payments");
  assert.equal(
    (
      await publish(
        "payments-example-token",
        { id: "p-1", type: "com.example.payment.authorized" },
        { amount: 5 },
      )
    ).status,
    202,
  );
  const [dead] = await dlq.waitFor(1);
  assert.equal(dead?.headers["ce-id"], "p-1");
  assert.equal(dead?.headers["ce-type"], "com.example.payment.authorized");
  assert.equal(dead?.headers["ce-deadletterroute"], "payments/charge-payments");
  assert.equal(dead?.headers["ce-deadletterfunction"], "payments/charge");
  assert.equal(dead?.headers["ce-deadletterattempts"], "4");
  assert.equal(JSON.parse(dead?.body ?? "null").amount, 5);
  assert.deepEqual(ids(charge), ["p-1", "p-1", "p-1", "p-1"], "the first attempt and 3 retries");
});

test("sync HTTP API: GET /quotes/:symbol is answered by the function, and so is a published quote request", async () => {
  await fn("quotes.quotes", (req) => {
    const type = String(req.headers["ce-type"]);
    const data = JSON.parse(req.body || "{}") as { params?: { symbol?: string }; symbol?: string };
    const symbol = type === "http.request" ? data.params?.symbol : data.symbol;
    return {
      status: 200,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ symbol, price: 42 }),
    };
  });
  await applyReady("sync-http-api/sync-http-api.yaml", "quotes");
  const token = "quotes-example-token";
  const res = await fetch(`${gateway.url}/quotes/ACME`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { symbol: "ACME", price: 42 });
  const missing = await fetch(`${gateway.url}/stocks/ACME`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(missing.status, 404, "no route for another path");
  await missing.text();
  assert.deepEqual(
    await publish(token, { id: "q-1", type: "com.example.quote.requested" }, { symbol: "INIT" }),
    {
      status: 200,
      body: '{"symbol":"INIT","price":42}',
    },
  );
});
