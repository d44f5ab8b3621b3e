// Egress enforcement against real HTTP servers on loopback: the deliverer with the gateway's
// connection pools refuses what the policy denies before any byte is sent, tells why, never
// retries it, keeps each VPN's allow-list to its own connections, and does not follow redirects.
// Every test runs with both delivery clients (node:http and undici).
import assert from "node:assert/strict";
import { test } from "node:test";
import { Registry } from "prom-client";
import { parseEgressList } from "../../common/egress/rules.ts";
import { silentLogger } from "../../common/log.ts";
import { startFunction } from "../../e2e/functions.ts";
import { cleanup } from "../../e2e/harness.ts";
import { toBinaryHeaders } from "../cloudevents/index.ts";
import { createGatewayMetrics } from "../metrics.ts";
import type { CloudEvent, FunctionView, Route } from "../types.ts";
import { createBalancer } from "./balancer.ts";
import type { PoolFactory } from "./client.ts";
import { createEgress, type Egress, resolveHost } from "./egress.ts";
import { createDeliverer } from "./index.ts";
import { nodePools } from "./node-client.ts";
import { undiciPools } from "./undici-client.ts";

const server = await startFunction((req) =>
  req.path === "/redirect" ? { status: 302, headers: { location: "http://169.254.169.254/latest/" } } : {},
);
const port = Number(new URL(server.url).port);
const etcdLike = await startFunction();
const etcdPort = Number(new URL(etcdLike.url).port);
cleanup(() => server.close());
cleanup(() => etcdLike.close());

/** Names a test maps to addresses (the gateway's resolver otherwise): "rebind.test" → loopback. */
const resolve = async (host: string) =>
  host === "rebind.test" ? [{ address: "127.0.0.1" }] : resolveHost(host);

const setup = (pools: PoolFactory, allow: string, vpnAllow: Record<string, string[]> = {}) => {
  const egress: Egress = createEgress({
    allow: parseEgressList(allow),
    deny: [],
    protect: [{ host: "127.0.0.1", port: etcdPort, reason: "the registry etcd" }],
    resolve,
    pools,
  });
  cleanup(() => egress.close());
  const registry = new Registry();
  const deliverer = createDeliverer({
    pool: (vpn) => egress.pool(vpnAllow[vpn] ?? []),
    balancer: createBalancer(),
    localCluster: "east",
    encode: toBinaryHeaders,
    metrics: createGatewayMetrics(registry),
    log: silentLogger(),
  });
  const attempts = async (result: string): Promise<number> =>
    (await registry.getSingleMetric("switchboard_gateway_delivery_attempts_total")?.get())?.values.find(
      (v) => v.labels.result === result,
    )?.value ?? 0;
  return { deliverer, attempts };
};

const fnAt = (url: string, vpn = "a"): FunctionView => ({
  vpn,
  namespace: "ns",
  name: "f",
  instances: new Map([["east", { endpoints: [url], timeoutMs: 5000, concurrency: 4, headers: {} }]]),
});

const route = (fn: FunctionView, retry: number): Route => ({
  key: "k",
  vpn: fn.vpn,
  namespace: "ns",
  name: "s",
  fn,
  deadLetter: undefined,
  subscription: {
    function: { namespace: "ns", name: "f" },
    mode: "sync",
    filters: [],
    delivery: { retry, backoffPolicy: "linear", backoffDelayMs: 1, maxBackoffMs: 1 },
  },
});

const event: CloudEvent = {
  attributes: { specversion: "1.0", id: "1", source: "/t", type: "t" },
  data: Buffer.from('{"key":"L3N3aXRjaGJvYXJk"}'),
};

const reasonOf = (outcome: { error: string } | { status: number }): string =>
  "error" in outcome && "reason" in outcome && typeof outcome.reason === "string" ? outcome.reason : "";

for (const [kind, pools] of [
  ["node:http", nodePools],
  ["undici", undiciPools],
] as const) {
  test(`${kind}: loopback by IP, by localhost, by *.localhost and by a name resolving to it is refused before any request, once, never retried`, async () => {
    const { deliverer, attempts } = setup(pools, "");
    const before = server.received.length;
    const cases: [string, string][] = [
      [`http://127.0.0.1:${port}/`, `127.0.0.1:${port} is refused: loopback (egress rule "127.0.0.0/8")`],
      [`http://[::ffff:127.0.0.1]:${port}/`, `[::ffff:7f00:1]:${port} is refused: loopback`],
      [`http://localhost:${port}/`, `127.0.0.1:${port} (localhost) is refused: loopback`],
      [`http://metadata.localhost:${port}/`, `(metadata.localhost) is refused: loopback`],
      [`http://rebind.test:${port}/`, `127.0.0.1:${port} (rebind.test) is refused: loopback`],
      ["http://169.254.169.254/latest/meta-data/", `169.254.169.254:80 is refused: link-local`],
    ];
    for (const [url, reason] of cases) {
      const final = await deliverer.deliver(route(fnAt(url), 3), fnAt(url), event, true);
      assert.equal("error" in final.outcome && final.outcome.error, "egress-denied", url);
      assert.ok(reasonOf(final.outcome).includes(reason), `${url}: ${reasonOf(final.outcome)}`);
      assert.equal(final.attempts, 1, "a refusal is not retried");
    }
    assert.equal(server.received.length, before, "nothing reached the server");
    assert.equal(await attempts("egress-denied"), cases.length);
  });

  test(`${kind}: an explicit allow entry reaches loopback; the protected etcd port stays refused`, async () => {
    const { deliverer } = setup(pools, "127.0.0.1");
    const before = server.received.length;
    const ok = await deliverer.deliver(route(fnAt(`${server.url}/`), 0), fnAt(`${server.url}/`), event, true);
    assert.deepEqual(ok.outcome, { status: 200 });
    assert.equal(server.received.length, before + 1);
    const viaName = await deliverer.deliver(
      route(fnAt(`http://localhost:${port}/`), 0),
      fnAt(`http://localhost:${port}/`),
      event,
      true,
    );
    assert.deepEqual(viaName.outcome, { status: 200 }, "localhost connects to the allowed 127.0.0.1");
    const etcd = await deliverer.deliver(
      route(fnAt(`${etcdLike.url}/v3/kv/range`), 2),
      fnAt(`${etcdLike.url}/v3/kv/range`),
      event,
      true,
    );
    assert.equal(
      reasonOf(etcd.outcome),
      `127.0.0.1:${etcdPort} is refused: the registry etcd (egress rule "127.0.0.1:${etcdPort}")`,
    );
    assert.equal(etcdLike.received.length, 0);
  });

  test(`${kind}: a VPN's allow-list applies to its own deliveries only, even with its connection open`, async () => {
    const { deliverer } = setup(pools, "", { a: ["127.0.0.1"] });
    const url = `${server.url}/`;
    const before = server.received.length;
    const a = await deliverer.deliver(route(fnAt(url, "a"), 0), fnAt(url, "a"), event, true);
    assert.deepEqual(a.outcome, { status: 200 });
    const b = await deliverer.deliver(route(fnAt(url, "b"), 0), fnAt(url, "b"), event, true);
    assert.equal("error" in b.outcome && b.outcome.error, "egress-denied");
    assert.equal(server.received.length, before + 1);
  });

  test(`${kind}: a redirect to a forbidden address is not followed: the 302 is the outcome`, async () => {
    const { deliverer } = setup(pools, "127.0.0.1");
    const url = `${server.url}/redirect`;
    const before = server.received.length;
    const final = await deliverer.deliver(route(fnAt(url), 3), fnAt(url), event, true);
    assert.equal("status" in final.outcome && final.outcome.status, 302);
    assert.equal(final.attempts, 1);
    assert.equal(server.received.length, before + 1);
  });
}
