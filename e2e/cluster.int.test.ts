import assert from "node:assert/strict";
import { test } from "node:test";
import { CoreV1Api, type KubernetesObject, makeInformer, type V1ConfigMap } from "@kubernetes/client-node";
import { testCluster, testNamespace } from "./harness.ts";

const cluster = await testCluster();
const namespace = await testNamespace(cluster, "cluster");

test("the API server reports the version it was built as", async () => {
  const out = JSON.parse(await cluster.kubectl(["version", "-o", "json"])) as {
    serverVersion: { gitVersion: string };
  };
  assert.match(out.serverVersion.gitVersion, /^v1\.34\.\d+$/);
});

test("a ConfigMap applied with kubectl is read back through client-node get and an informer", async (t) => {
  const kc = cluster.kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const informer = makeInformer<V1ConfigMap>(kc, `/api/v1/namespaces/${namespace}/configmaps`, () =>
    core.listNamespacedConfigMap({ namespace }),
  );
  const seen = new Promise<V1ConfigMap>((resolve) => {
    const onObject = (obj: KubernetesObject) => {
      if (obj.metadata?.name === "settings") resolve(obj as V1ConfigMap);
    };
    informer.on("add", onObject);
    informer.on("update", onObject);
  });
  await informer.start();
  t.after(() => informer.stop());

  const manifest = `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: ${namespace}
data:
  mode: async
`;
  const applied = await cluster.kubectl(["apply", "-f", "-"], manifest);
  assert.match(applied, /configmap\/settings created/);

  const got = await core.readNamespacedConfigMap({ name: "settings", namespace });
  assert.deepEqual(got.data, { mode: "async" });
  const informed = await seen;
  assert.deepEqual(informed.data, { mode: "async" });
  assert.deepEqual(informer.get("settings", namespace)?.data, { mode: "async" });
});

test("RBAC is enforced: a user without bindings is refused", async () => {
  await assert.rejects(
    cluster.kubectl(["get", "configmaps", "-n", namespace, "--as", "nobody"]),
    /forbidden/,
  );
});
