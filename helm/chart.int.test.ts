// The chart against the real local control plane: the API server accepts every rendered object;
// `helm install` creates them in a namespace that enforces Pod Security "restricted" (the
// controllers create the pods, so admission checks them; no kubelet runs them); the real operator,
// authenticated as the chart's ServiceAccount, reconciles a VPN, a Function and a Subscription to
// Ready (its RBAC is enough) and is refused what the chart does not grant (its RBAC is no more).
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { installCrds } from "../crds/install.ts";
import { cleanup, exclusive, testCluster, testEtcd, testNamespace, uniqueName } from "../e2e/harness.ts";
import { GiveUp, waitFor } from "../e2e/proc.ts";
import { toolPath } from "../e2e/tools.ts";
import {
  ALL_FEATURES,
  CHART_DIR,
  exec,
  find,
  get,
  helm,
  list,
  type Manifest,
  type Outcome,
  render,
  sets,
  template,
} from "./chart-kit.ts";
import { type RunningOperator, serviceAccountKubeconfig, startOperatorAs } from "./operator-as.ts";

const cluster = await testCluster();
await exclusive(cluster, "operator");
await installCrds(cluster);
const etcdUrl = await testEtcd();

const release = uniqueName("sb");
const clusterName = uniqueName("chart");
const releaseNs = await testNamespace(cluster, "sb-release");
const appNs = await testNamespace(cluster, "sb-app");
const vpnName = uniqueName("chart-vpn");
cleanup(async () => {
  await cluster.kubectl(["delete", "namespace", releaseNs, appNs, "--wait=false", "--ignore-not-found"]);
});

// Every feature the local control plane can hold (it has no Prometheus Operator CRDs).
const VALUES = [
  "-f",
  ALL_FEATURES,
  ...sets({
    clusterName,
    "monitoring.serviceMonitor.enabled": "false",
    "monitoring.podMonitor.enabled": "false",
    "monitoring.prometheusRule.enabled": "false",
  }),
];
const manifests = await render(VALUES, { release, namespace: releaseNs });
const operatorSa = find(manifests, "ServiceAccount", "-operator").name;
const gatewaySa = find(manifests, "ServiceAccount", "-gateway").name;

/** kubectl with `kubeconfig` and `input` on stdin; resolves with its exit code and output. */
const kubectlAs = (kubeconfig: string, args: readonly string[], input = ""): Promise<Outcome> =>
  exec(toolPath("kubectl"), ["--kubeconfig", kubeconfig, ...args], input);

/** The kubectl resource name of a manifest's kind: "Deployment.apps", "Service". */
const resourceOf = (m: Manifest): string => {
  const slash = m.apiVersion.indexOf("/");
  return slash < 0 ? m.kind : `${m.kind}.${m.apiVersion.slice(0, slash)}`;
};

test("the API server accepts every rendered object (kubectl apply --dry-run=server), without Pod Security warnings", async () => {
  await cluster.kubectl([
    "label",
    "namespace",
    releaseNs,
    "pod-security.kubernetes.io/enforce=restricted",
    "pod-security.kubernetes.io/warn=restricted",
    "pod-security.kubernetes.io/audit=restricted",
  ]);
  const defaults = sets({ clusterName, "etcd.endpoints[0]": etcdUrl });
  for (const values of [defaults, VALUES]) {
    const rendered = await template(["--include-crds", ...values], { release, namespace: releaseNs });
    const out = await kubectlAs(
      cluster.kubeconfig,
      [
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager=chart-dry-run",
        "--dry-run=server",
        "-f",
        "-",
      ],
      rendered,
    );
    assert.equal(out.code, 0, out.stderr);
    assert.doesNotMatch(out.stderr, /PodSecurity|would violate/i);
    assert.match(out.stdout, /deployment\.apps\/\S+-operator serverside-applied \(server dry run\)/);
  }
});

test("helm install creates every object; the controllers' pods pass restricted admission", async () => {
  const out = await helm([
    "install",
    release,
    CHART_DIR,
    "--kubeconfig",
    cluster.kubeconfig,
    "--namespace",
    releaseNs,
    ...VALUES,
  ]);
  assert.equal(out.code, 0, out.stderr);
  // The notes tell how to publish, explain, see status and upgrade the CRDs, with this release's
  // names, and where the kubectl plugin comes from.
  for (const line of [
    `kubectl -n ${releaseNs} port-forward svc/${release}-switchboard-gateway 8080:`,
    "/explain?vpn=<vpn>",
    "kubectl get switchboard -A",
    "kubectl apply --server-side -f helm/switchboard/crds/",
    "npm run plugin:install",
    "kubectl switchboard status",
  ])
    assert.ok(out.stdout.includes(line), `NOTES lack: ${line}\n${out.stdout}`);
  cleanup(async () => {
    await helm([
      "uninstall",
      release,
      "--kubeconfig",
      cluster.kubeconfig,
      "--namespace",
      releaseNs,
      "--wait",
    ]);
  });
  for (const m of manifests) {
    const namespace = m.namespace ? ["-n", m.namespace] : [];
    const got = await cluster.kubectl(["get", resourceOf(m), m.name, ...namespace, "-o", "name"]);
    assert.equal(got.trim().split("/").pop(), m.name, `${m.kind}/${m.name}`);
  }
  const expected = manifests
    .filter((m) => m.kind === "Deployment" || m.kind === "StatefulSet")
    .reduce((n, m) => n + Number(get(m.doc, "spec", "replicas")), 0);
  assert.equal(expected, 7, "operator 3, gateway 3, etcd 1 in the all-features values");
  const refusals = (): Promise<string> =>
    cluster.kubectl([
      "get",
      "events",
      "-n",
      releaseNs,
      "--field-selector",
      "reason=FailedCreate",
      "-o",
      "jsonpath={.items[*].message}",
    ]);
  await waitFor(`${expected} pods in ${releaseNs}`, async () => {
    const refused = await refusals();
    if (refused !== "") throw new GiveUp(`a controller was refused a pod: ${refused}`);
    const pods = await cluster.kubectl(["get", "pods", "-n", releaseNs, "-o", "name"]);
    return pods.trim().split("\n").filter(Boolean).length === expected ? true : undefined;
  });
  assert.equal(await refusals(), "", "no controller was refused a pod");

  // The namespace really enforces the profile: a pod that breaks it is refused.
  const bad = await kubectlAs(
    cluster.kubeconfig,
    ["apply", "-n", releaseNs, "-f", "-"],
    `apiVersion: v1
kind: Pod
metadata: { name: privileged }
spec:
  containers: [{ name: c, image: busybox, securityContext: { privileged: true } }]
`,
  );
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /violates PodSecurity "restricted/);
});

test("the injector's certificate survives helm upgrade; rotate=true issues a new one, trusting both CAs meanwhile", async () => {
  const secretName = find(manifests, "Secret", "-injector-tls").name;
  const webhookName = find(manifests, "MutatingWebhookConfiguration", "-injector").name;
  const state = async (): Promise<{ cert: string; bundle: string }> => ({
    cert: await cluster.kubectl([
      "get",
      "secret",
      secretName,
      "-n",
      releaseNs,
      "-o",
      "jsonpath={.data.tls\\.crt}",
    ]),
    bundle: Buffer.from(
      await cluster.kubectl([
        "get",
        "mutatingwebhookconfiguration",
        webhookName,
        "-o",
        "jsonpath={.webhooks[0].clientConfig.caBundle}",
      ]),
      "base64",
    ).toString("utf8"),
  });
  const upgrade = async (extra: string[]): Promise<void> => {
    const args = ["upgrade", release, CHART_DIR, "--kubeconfig", cluster.kubeconfig, "-n", releaseNs];
    const out = await helm([...args, ...VALUES, ...extra]);
    assert.equal(out.code, 0, out.stderr);
  };
  const installed = await state();
  assert.notEqual(installed.cert, "");
  assert.equal(installed.bundle.match(/BEGIN CERTIFICATE/g)?.length, 1);
  await upgrade([]);
  assert.deepEqual(await state(), installed, "a routine upgrade keeps the certificate and the CA bundle");
  await upgrade(sets({ "injector.certificate.rotate": "true" }));
  const rotated = await state();
  assert.notEqual(rotated.cert, installed.cert, "a new certificate");
  assert.equal(rotated.bundle.match(/BEGIN CERTIFICATE/g)?.length, 2, "the new and the previous CA");
  assert.ok(rotated.bundle.includes(installed.bundle.trim()), "the previous CA is still trusted");
  await upgrade([]);
  const settled = await state();
  assert.equal(settled.cert, rotated.cert);
  assert.equal(
    settled.bundle.match(/BEGIN CERTIFICATE/g)?.length,
    1,
    "the next upgrade drops the previous CA",
  );
});

let operator: RunningOperator | undefined;
let operatorKubeconfig = "";

test("the operator, as the chart's ServiceAccount, reconciles a VPN, a URL Function and an async Subscription to Ready", async () => {
  operatorKubeconfig = await serviceAccountKubeconfig(cluster, releaseNs, operatorSa);
  // The master key the chart created, mounted as the pod would see it.
  const keyFile = join(cluster.dir, `${release}-registry.key`);
  const key = await cluster.kubectl([
    "get",
    "secret",
    `${release}-switchboard-registry-key`,
    "-n",
    releaseNs,
    "-o",
    "jsonpath={.data.registry\\.key}",
  ]);
  writeFileSync(keyFile, Buffer.from(key, "base64"), { mode: 0o600 });
  operator = await startOperatorAs(cluster, {
    kubeconfig: operatorKubeconfig,
    clusterName,
    id: `${release}-op`,
    etcd: etcdUrl,
    leaseNamespace: releaseNs,
    extraArgs: [`--registry-key-file=${keyFile}`],
  });
  const running = operator;
  cleanup(() => running.proc.stop());
  await cluster.kubectl(
    ["apply", "-f", "-"],
    `apiVersion: v1
kind: Secret
metadata: { name: publisher, namespace: ${appNs} }
stringData: { token: chart-test-token }
---
apiVersion: switchboard.dev/v1alpha1
kind: VPN
metadata: { name: ${vpnName} }
spec:
  namespaces: { names: [${appNs}] }
  publishers: [{ name: p, tokenSecretRef: { namespace: ${appNs}, name: publisher, key: token } }]
---
apiVersion: switchboard.dev/v1alpha1
kind: Function
metadata: { name: sink, namespace: ${appNs} }
spec: { vpn: ${vpnName}, target: { url: "http://sink.example:8080/events" } }
---
apiVersion: switchboard.dev/v1alpha1
kind: Subscription
metadata: { name: orders, namespace: ${appNs} }
spec: { vpn: ${vpnName}, function: sink, mode: async, filters: [{ prefix: { type: com.example. } }] }
`,
  );
  // Registered now, so it runs before the operator stops: the finalizers need the operator.
  cleanup(async () => {
    await cluster.kubectl([
      "delete",
      "-n",
      appNs,
      "subscriptions.switchboard.dev,functions.switchboard.dev",
      "--all",
      "--timeout=60s",
    ]);
    await cluster.kubectl(["delete", "vpn", vpnName, "--timeout=60s", "--ignore-not-found"]);
  });
  await cluster.kubectl(["wait", "--for=condition=Ready", "--timeout=60s", `vpn/${vpnName}`]);
  await cluster.kubectl([
    "wait",
    "--for=condition=Ready",
    "--timeout=60s",
    "-n",
    appNs,
    "function/sink",
    "subscription/orders",
  ]);
  assert.equal(
    (await fetch(`${running.adminUrl}/readyz`)).status,
    200,
    "caches synced: every informer could list and watch",
  );
  const holder = await cluster.kubectl([
    "get",
    "lease",
    `switchboard-operator-${clusterName}`,
    "-n",
    releaseNs,
    "-o",
    "jsonpath={.spec.holderIdentity}",
  ]);
  assert.equal(holder, `${release}-op`);
  // Failures are recorded as Events: a Subscription naming a Function that does not exist.
  await cluster.kubectl(
    ["apply", "-f", "-"],
    `apiVersion: switchboard.dev/v1alpha1
kind: Subscription
metadata: { name: stray, namespace: ${appNs} }
spec: { vpn: ${vpnName}, function: missing, mode: async, filters: [{ prefix: { type: com.example. } }] }
`,
  );
  const events = await waitFor("the operator's Event on a failing Subscription", async () => {
    const out = await cluster.kubectl([
      "get",
      "events",
      "-n",
      appNs,
      "--field-selector",
      "involvedObject.name=stray,source=switchboard-operator",
      "-o",
      "jsonpath={.items[*].type}",
    ]);
    return out === "" ? undefined : out;
  });
  assert.match(events, /Warning/, "the operator recorded Events");
  await cluster.kubectl(["delete", "-n", appNs, "subscription/stray", "--timeout=60s"]);
  const vpnKey = await waitFor("the VPN key Secret in the VPN's namespace", async () => {
    const out = await cluster.kubectl(["get", "secret", "-n", appNs, "-o", "name"]);
    return out.includes("secret/switchboard-vpn-key") ? out : undefined;
  });
  assert.match(vpnKey, /switchboard-vpn-key/);
  const log = readFileSync(running.proc.log, "utf8");
  assert.doesNotMatch(log, /forbidden|could not record an Event/i, "no request of the operator was refused");
});

const canI = async (sa: string, ...args: string[]): Promise<string> => {
  const out = await exec(toolPath("kubectl"), [
    "--kubeconfig",
    cluster.kubeconfig,
    "auth",
    "can-i",
    `--as=system:serviceaccount:${releaseNs}:${sa}`,
    ...args,
  ]);
  return out.stdout.trim();
};

test("the operator's ServiceAccount is refused what it does not need", async () => {
  for (const args of [
    ["delete", "pods", "-n", appNs],
    ["update", "secrets/publisher", "-n", appNs],
    ["delete", "secrets/publisher", "-n", appNs],
    ["delete", "vpns.switchboard.dev"],
    ["create", "functions.switchboard.dev", "-n", appNs],
    ["delete", "subscriptions.switchboard.dev", "-n", appNs],
    ["get", "configmaps", "-n", appNs],
    ["update", "leases.coordination.k8s.io", "-n", appNs],
    ["update", "leases.coordination.k8s.io/someone-else", "-n", releaseNs],
    ["create", "clusterrolebindings"],
  ])
    assert.equal(await canI(operatorSa, ...args), "no", args.join(" "));
  for (const args of [
    ["list", "secrets", "--all-namespaces"],
    // RBAC cannot limit create by name; the chart's ValidatingAdmissionPolicy does (below).
    ["create", "secrets", "-n", appNs],
    ["update", "secrets/switchboard-vpn-key", "-n", appNs],
    ["patch", "functions.switchboard.dev", "--subresource=status", "-n", appNs],
    ["create", "events", "-n", appNs],
    ["update", `leases.coordination.k8s.io/switchboard-operator-${clusterName}`, "-n", releaseNs],
  ])
    assert.equal(await canI(operatorSa, ...args), "yes", args.join(" "));

  // And with its own token, the API server refuses the requests themselves.
  const del = await exec(toolPath("kubectl"), [
    "--kubeconfig",
    operatorKubeconfig,
    "delete",
    "vpn",
    vpnName,
    "--dry-run=server",
  ]);
  assert.notEqual(del.code, 0);
  assert.match(del.stderr, /forbidden/i);
  const secret = await exec(toolPath("kubectl"), [
    "--kubeconfig",
    operatorKubeconfig,
    "create",
    "secret",
    "generic",
    "stolen",
    "-n",
    appNs,
    "--from-literal=a=b",
  ]);
  assert.notEqual(secret.code, 0);
  assert.match(secret.stderr, /forbidden/i);
  assert.match(secret.stderr, /writes only Secrets named switchboard-vpn-key/);
});

test("the gateway's ServiceAccount has no Kubernetes API rights", async () => {
  for (const args of [
    ["get", "vpns.switchboard.dev"],
    ["list", "subscriptions.switchboard.dev", "--all-namespaces"],
    ["get", "secrets", "-n", releaseNs],
    ["get", "pods", "-n", releaseNs],
    ["get", "leases.coordination.k8s.io", "-n", releaseNs],
  ])
    assert.equal(await canI(gatewaySa, ...args), "no", args.join(" "));
  const bindings = await cluster.kubectl(["get", "rolebindings,clusterrolebindings", "-A", "-o", "json"]);
  const parsed: unknown = JSON.parse(bindings);
  const items = list(parsed, "items");
  const naming = items.filter((b) =>
    list(b, "subjects").some((s) => get(s, "name") === gatewaySa && get(s, "namespace") === releaseNs),
  );
  assert.deepEqual(naming, [], "no binding names the gateway ServiceAccount");
});
