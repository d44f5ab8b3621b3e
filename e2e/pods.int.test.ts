import assert from "node:assert/strict";
import { test } from "node:test";
import { DiscoveryV1Api } from "@kubernetes/client-node";
import { cleanup, testCluster, testNamespace } from "./harness.ts";
import { type SimulatedPod, startPod } from "./pods.ts";
import { waitFor } from "./proc.ts";

const cluster = await testCluster();
const namespace = await testNamespace(cluster, "pods");
const pods: SimulatedPod[] = [];
cleanup(async () => {
  await Promise.all(pods.map((p) => p.stop()));
});

test("a simulated pod answers HTTP at its non-loopback pod address from the root namespace", async () => {
  const pod = await startPod(cluster, { namespace, name: "echo-1", labels: { app: "echo" } });
  pods.push(pod);
  assert.match(pod.ip, /^10\.213\.\d+\.\d+$/);
  const res = await fetch(`${pod.url}/hello?x=1`, { method: "POST", body: "ping" });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { pod: string; method: string; path: string; body: string };
  assert.deepEqual([body.pod, body.method, body.path, body.body], ["echo-1", "POST", "/hello?x=1", "ping"]);
  const podObj = JSON.parse(
    await cluster.kubectl(["get", "pod", "echo-1", "-n", namespace, "-o", "json"]),
  ) as {
    status: { podIP: string; phase: string };
  };
  assert.equal(podObj.status.podIP, pod.ip);
  assert.equal(podObj.status.phase, "Running");
});

test("a Service selecting simulated pods gets EndpointSlices with their ready addresses", async () => {
  const second = await startPod(cluster, {
    namespace,
    name: "echo-2",
    labels: { app: "echo" },
    ready: false,
  });
  pods.push(second);
  await cluster.kubectl(
    ["apply", "-f", "-"],
    `apiVersion: v1
kind: Service
metadata: { name: echo, namespace: ${namespace} }
spec:
  selector: { app: echo }
  ports: [{ name: http, port: 80, targetPort: 8080 }]
`,
  );
  const discovery = cluster.kubeConfig().makeApiClient(DiscoveryV1Api);
  const readyAddresses = async (): Promise<string[]> => {
    const slices = await discovery.listNamespacedEndpointSlice({
      namespace,
      labelSelector: "kubernetes.io/service-name=echo",
    });
    return slices.items
      .flatMap((s) => s.endpoints ?? [])
      .filter((e) => e.conditions?.ready === true)
      .flatMap((e) => e.addresses)
      .sort();
  };
  const [first] = pods;
  assert.ok(first);
  const only = (want: string[]) => async () => {
    const got = await readyAddresses();
    return JSON.stringify(got) === JSON.stringify(want) ? got : undefined;
  };
  await waitFor("only the ready pod in the EndpointSlice", only([first.ip]));
  await second.setReady(true);
  await waitFor("both pods ready in the EndpointSlice", only([first.ip, second.ip].sort()));
  await first.setReady(false);
  await waitFor("the unready pod to leave the ready addresses", only([second.ip]));
});
