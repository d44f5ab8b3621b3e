// The self-restarting informer against a real API server: it survives errors that stop
// client-node's own informer (here: listing a resource whose CRD does not exist yet) and a
// stalled watch; the operator's Secret informer leaves Helm's release records out.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CustomObjectsApi, type KubernetesListObject, type KubernetesObject } from "@kubernetes/client-node";
import { Registry } from "prom-client";
import { silentLogger } from "../../common/log.ts";
import { cleanup, testCluster, testNamespace, uniqueName } from "../../e2e/harness.ts";
import { waitFor } from "../../e2e/proc.ts";
import { createOperatorMetrics } from "../metrics.ts";
import { watchResource } from "./informer.ts";
import { createInformers } from "./informers.ts";

const cluster = await testCluster();
const namespace = await testNamespace(cluster, "informer");

const restarts = async (registry: Registry): Promise<number> => {
  const m = await registry.getSingleMetric("switchboard_operator_informer_restarts_total")?.get();
  return m?.values.reduce((n, v) => n + v.value, 0) ?? 0;
};

const crd = (group: string): string => `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: widgets.${group} }
spec:
  group: ${group}
  names: { plural: widgets, singular: widget, kind: Widget }
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema: { openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true } }
`;

test("an informer started before its resource exists keeps retrying and syncs once it appears; its cache holds no managedFields", async () => {
  const group = `${uniqueName("g")}.test.switchboard.dev`;
  cleanup(async () => {
    await cluster.kubectl(["delete", "crd", `widgets.${group}`, "--ignore-not-found"]);
  });
  const registry = new Registry();
  const metrics = createOperatorMetrics(registry);
  const kc = cluster.kubeConfig();
  const custom = kc.makeApiClient(CustomObjectsApi);
  const seen: string[] = [];
  const informer = watchResource<KubernetesObject>({
    kc,
    resource: "widgets",
    path: `/apis/${group}/v1/widgets`,
    list: async (): Promise<KubernetesListObject<KubernetesObject>> =>
      custom.listCustomObjectForAllNamespaces({ group, version: "v1", resourcePlural: "widgets" }),
    onChange: (obj, change) => seen.push(`${change} ${obj.metadata?.name}`),
    metrics,
    log: silentLogger(),
    baseBackoffMs: 50,
    maxBackoffMs: 200,
    stallMs: 1500,
  });
  const abort = new AbortController();
  const running = informer.run(abort.signal);
  try {
    await waitFor("the informer to fail and restart", async () =>
      (await restarts(registry)) >= 2 ? true : undefined,
    );
    await cluster.kubectl(["apply", "-f", "-"], crd(group));
    await cluster.kubectl(["wait", "--for=condition=Established", `crd/widgets.${group}`, "--timeout=30s"]);
    await informer.synced;
    await cluster.kubectl(
      ["apply", "-f", "-"],
      `apiVersion: ${group}/v1\nkind: Widget\nmetadata: { name: first, namespace: ${namespace} }\n`,
    );
    await waitFor("the informer to see the first widget", async () =>
      seen.includes("add first") ? true : undefined,
    );
    assert.equal(informer.get("first", namespace)?.metadata?.name, "first");
    // The API server keeps server-side apply bookkeeping on the object; the cache does not.
    const manager = await cluster.kubectl([
      "get",
      `widgets.${group}`,
      "first",
      "-n",
      namespace,
      "-o",
      "jsonpath={.metadata.managedFields[0].manager}",
    ]);
    assert.notEqual(manager, "");
    assert.equal(informer.get("first", namespace)?.metadata?.managedFields, undefined);

    // A watch with no traffic for longer than stallMs is restarted, and events flow afterwards.
    const before = await restarts(registry);
    await waitFor("the watchdog to restart a silent watch", async () =>
      (await restarts(registry)) > before ? true : undefined,
    );
    await cluster.kubectl(
      ["apply", "-f", "-"],
      `apiVersion: ${group}/v1\nkind: Widget\nmetadata: { name: second, namespace: ${namespace} }\n`,
    );
    await waitFor("the informer to see the second widget", async () =>
      seen.includes("add second") ? true : undefined,
    );
  } finally {
    abort.abort();
    await running;
  }
});

test("the operator's Secret informer caches no Helm release record, listed or watched, and every other Secret", async () => {
  const registry = new Registry();
  const informers = createInformers(
    cluster.kubeConfig(),
    { vpn() {}, fn() {}, subscription() {}, namespace() {}, service() {}, endpointSlice() {}, secret() {} },
    createOperatorMetrics(registry),
    silentLogger(),
  );
  const secret = (name: string, type: string): string => `apiVersion: v1
kind: Secret
metadata: { name: ${name}, namespace: ${namespace} }
type: ${type}
stringData: { release: "${"x".repeat(1000)}" }
`;
  const [listedHelm, listedToken] = [uniqueName("sh.helm.release.v1.listed"), uniqueName("listed-token")];
  await cluster.kubectl(
    ["apply", "-f", "-"],
    `${secret(listedHelm, "helm.sh/release.v1")}---\n${secret(listedToken, "Opaque")}`,
  );
  const abort = new AbortController();
  const running = informers.secrets.run(abort.signal);
  try {
    await informers.secrets.synced;
    const [watchedHelm, watchedToken] = [
      uniqueName("sh.helm.release.v1.watched"),
      uniqueName("watched-token"),
    ];
    await cluster.kubectl(
      ["apply", "-f", "-"],
      `${secret(watchedHelm, "helm.sh/release.v1")}---\n${secret(watchedToken, "Opaque")}`,
    );
    await waitFor("the watched Opaque Secret in the cache", async () =>
      informers.secrets.get(watchedToken, namespace) ? true : undefined,
    );
    assert.ok(informers.secrets.get(listedToken, namespace), "listed");
    assert.equal(informers.secrets.get(listedHelm, namespace), undefined, "a listed Helm release record");
    assert.equal(informers.secrets.get(watchedHelm, namespace), undefined, "a watched Helm release record");
  } finally {
    abort.abort();
    await running;
  }
});
