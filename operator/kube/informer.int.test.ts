// The self-restarting informer against a real API server: it survives errors that stop
// client-node's own informer (here: listing a resource whose CRD does not exist yet) and a
// stalled watch.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CustomObjectsApi, type KubernetesListObject, type KubernetesObject } from "@kubernetes/client-node";
import { Registry } from "prom-client";
import { silentLogger } from "../../common/log.ts";
import { cleanup, testCluster, testNamespace, uniqueName } from "../../e2e/harness.ts";
import { waitFor } from "../../e2e/proc.ts";
import { createOperatorMetrics } from "../metrics.ts";
import { watchResource } from "./informer.ts";

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
