// The product's main path: the chart installed and Ready through its real probes under Pod
// Security "restricted"; examples/ applied with real function pods, every object Ready; an event
// published through the gateway Service reaches a function pod; the sync HTTP route answers.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { get, list } from "../../helm/chart-kit.ts";
import { waitFor } from "../proc.ts";
import { repoRoot } from "../tools.ts";
import { helm, kubectl, loggedIds, publishAccepted, type ScenarioEnv, waitReady } from "./env.ts";
import { GATEWAY, installArgs, NAMESPACE, namespaceManifest, OPERATOR, RELEASE } from "./install.ts";
import { exampleFunctions, SHOP } from "./manifests.ts";
import type { Scenario } from "./scenario.ts";

/** The example publisher's bearer token (examples/10-publisher-secret.yaml). */
export const exampleToken = (): string => {
  const secret: unknown = parse(readFileSync(join(repoRoot, "examples/10-publisher-secret.yaml"), "utf8"));
  const token = get(secret, "stringData", "token");
  if (typeof token !== "string") throw new Error("examples/10-publisher-secret.yaml has no stringData.token");
  return token;
};
export const ORDER_CREATED = "com.example.order.created";

const json = async (env: ScenarioEnv, args: readonly string[]): Promise<unknown> =>
  JSON.parse(await kubectl(env, [...args, "-o", "json"]));

/** A privileged pod, refused by the namespace's Pod Security "restricted" (checked with a server-side dry run). */
const privilegedPod = `apiVersion: v1
kind: Pod
metadata: {name: psa-probe, namespace: ${NAMESPACE}}
spec:
  containers: [{name: c, image: busybox, securityContext: {privileged: true}}]
`;

export const install: Scenario = {
  name: "install",
  summary:
    "helm install with the bundled etcd, the injector and sealed records under Pod Security restricted; the operator (2 replicas, one leading) and the shared gateway Ready through their probes, read-only root, memory limits",
  run: async (env) => {
    await kubectl(env, ["apply", "-f", "-"], namespaceManifest());
    const refused = await kubectl(env, ["apply", "--dry-run=server", "-f", "-"], privilegedPod).then(
      () => "",
      (err: unknown) => String(err),
    );
    assert.match(refused, /violates PodSecurity "restricted:latest"/);
    const started = performance.now();
    await helm(env, installArgs(env.clusterName, env.images));
    env.note(`helm install --wait: ${Math.round(performance.now() - started)} ms`);
    for (const name of [OPERATOR, GATEWAY]) {
      const deployment = await json(env, ["-n", NAMESPACE, "get", "deployment", name]);
      assert.equal(get(deployment, "status", "readyReplicas"), 2, `${name}: 2 ready replicas`);
    }
    const pods = list(await json(env, ["-n", NAMESPACE, "get", "pods"]), "items");
    for (const pod of pods) {
      const name = String(get(pod, "metadata", "name"));
      for (const c of list(pod, "spec", "containers")) {
        assert.equal(get(c, "securityContext", "readOnlyRootFilesystem"), true, `${name}: read-only root`);
        assert.equal(typeof get(c, "resources", "limits", "memory"), "string", `${name}: a memory limit`);
        if (!name.includes("-etcd-"))
          assert.equal(get(c, "readinessProbe", "httpGet", "path"), "/readyz", `${name}: a readiness probe`);
      }
    }
    const lease = await json(env, [
      "-n",
      NAMESPACE,
      "get",
      "lease",
      `switchboard-operator-${env.clusterName}`,
    ]);
    const holder = String(get(lease, "spec", "holderIdentity"));
    const operators = pods
      .map((p) => String(get(p, "metadata", "name")))
      .filter((n) => n.startsWith(OPERATOR));
    assert.ok(operators.includes(holder), `the leader ${holder} is one of ${operators.join(", ")}`);
    env.note(`release ${RELEASE}: leader ${holder}`);
  },
};

export const examples: Scenario = {
  name: "examples",
  summary:
    "kubectl apply -f examples/ with the orders and audit function pods (the echo image); every example object Ready; an event through the gateway Service reaches an orders pod; GET /orders/42 answers through the Service",
  run: async (env) => {
    await kubectl(env, ["apply", "-f", join(repoRoot, "examples/00-namespace.yaml")]);
    await kubectl(env, ["apply", "-f", "-"], exampleFunctions(env.images.echo));
    await kubectl(env, ["apply", "-f", join(repoRoot, "examples")]);
    for (const d of ["orders", "audit"])
      await kubectl(env, ["-n", SHOP, "rollout", "status", `deployment/${d}`, "--timeout=120s"]);
    await waitReady(env, undefined, "vpn/shop");
    await waitReady(env, SHOP, "functions.switchboard.dev", "--all");
    await waitReady(env, SHOP, "subscriptions.switchboard.dev", "--all");

    const url = await env.gatewayUrl();
    const id = `order-${Date.now()}`;
    await publishAccepted({ url, id, type: ORDER_CREATED, token: exampleToken() });
    await waitFor(
      `an orders pod to log ${id}`,
      async () => ((await loggedIds(env, SHOP, "orders")).includes(id) ? true : undefined),
      { intervalMs: 500 },
    );
    const sync = await fetch(new URL("/orders/42", url), {
      headers: { authorization: `Bearer ${exampleToken()}` },
    });
    const answer: unknown = await sync.json();
    assert.equal(sync.status, 200);
    assert.match(String(sync.headers.get("x-pod")), /^orders-/);
    assert.equal(get(answer, "path"), "/events");
    assert.equal(get(answer, "headers", "ce-type"), "http.request");
  },
};
