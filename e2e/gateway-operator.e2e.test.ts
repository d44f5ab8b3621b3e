// The product end to end: kubectl apply → the real operator writes the registry → the real
// gateway routes events to a simulated pod (a real server at a real pod address) and to a URL
// function, with a VPN token as a publisher would use it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Etcd3 } from "etcd3";
import { installCrds } from "../crds/install.ts";
import { vpnKey } from "../registry/keys.ts";
import { startFunction } from "./functions.ts";
import { startGateway } from "./gateway.ts";
import { cleanup, exclusive, tenantYaml, testCluster, testEtcd, uniqueName, waitReady } from "./harness.ts";
import { startOperator } from "./operator.ts";
import { startPod } from "./pods.ts";

const cluster = await testCluster();
await exclusive(cluster, "operator");
await installCrds(cluster);
const etcdUrl = await testEtcd();
const clusterName = uniqueName("e2e");
const ns = uniqueName("store");
const vpn = uniqueName("store");
const token = `token-${uniqueName("t")}`;

test("kubectl apply → operator → registry → gateway → function pod, for a sync HTTP route and an async event", async () => {
  const audit = await startFunction();
  cleanup(() => audit.close());
  await cluster.kubectl(
    ["apply", "-f", "-"],
    `${tenantYaml(ns, vpn, token)}apiVersion: v1
kind: Service
metadata: { name: items, namespace: ${ns} }
spec: { selector: { app: items }, ports: [{ name: http, port: 80, targetPort: 8080 }] }
---
apiVersion: switchboard.dev/v1alpha1
kind: Function
metadata: { name: items, namespace: ${ns} }
spec: { vpn: ${vpn}, target: { service: { name: items, port: 80, path: /fn } } }
---
apiVersion: switchboard.dev/v1alpha1
kind: Function
metadata: { name: audit, namespace: ${ns} }
spec: { vpn: ${vpn}, target: { url: "${audit.url}/audit" } }
---
apiVersion: switchboard.dev/v1alpha1
kind: Subscription
metadata: { name: items-api, namespace: ${ns} }
spec: { vpn: ${vpn}, function: items, mode: sync, http: { method: GET, path: "/items/:id" } }
---
apiVersion: switchboard.dev/v1alpha1
kind: Subscription
metadata: { name: audit-all, namespace: ${ns} }
spec: { vpn: ${vpn}, function: audit, mode: async, filters: [{ prefix: { type: com.example. } }] }
`,
  );
  const pod = await startPod(cluster, { namespace: ns, name: "items-1", labels: { app: "items" } });
  cleanup(() => pod.stop());
  const operator = await startOperator(cluster, {
    clusterName,
    id: "e2e-op",
    etcd: etcdUrl,
    leaseNamespace: ns,
  });
  cleanup(() => operator.proc.stop());
  await waitReady(cluster, [`vpn/${vpn}`]);
  await waitReady(cluster, ["functions.switchboard.dev", "--all"], ns);
  await waitReady(cluster, ["subscriptions.switchboard.dev", "--all"], ns);

  const gateway = await startGateway({ etcd: etcdUrl, clusterName, dir: cluster.dir, name: "e2e" });
  cleanup(() => gateway.proc.stop());

  const res = await fetch(`${gateway.url}/items/42`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200, await res.clone().text());
  const answer = (await res.json()) as {
    pod: string;
    path: string;
    headers: Record<string, string>;
    body: string;
  };
  assert.equal(answer.pod, "items-1", "answered by the simulated pod at its pod address");
  assert.equal(answer.path, "/fn");
  assert.equal(answer.headers["ce-type"], "http.request");
  assert.deepEqual((JSON.parse(answer.body) as { params: unknown }).params, { id: "42" });

  const published = await fetch(`${gateway.url}/`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/cloudevents+json",
    },
    body: JSON.stringify({
      specversion: "1.0",
      id: "order-1",
      source: "/shop",
      type: "com.example.order.created",
      data: { amount: 3 },
    }),
  });
  assert.equal(published.status, 202);
  const [delivered] = await audit.waitFor(1);
  assert.equal(delivered?.headers["ce-id"], "order-1");
  assert.equal(delivered?.path, "/audit");

  const wrongToken = await fetch(`${gateway.url}/items/42`, {
    headers: { authorization: "Bearer not-a-token" },
  });
  assert.equal(wrongToken.status, 401);
  const etcd = new Etcd3({ hosts: etcdUrl });
  cleanup(() => etcd.close());
  const stored = await etcd.get(vpnKey(vpn, clusterName)).string();
  assert.ok(stored !== null && !stored.includes(token), "the registry holds the token's hash only");
});
