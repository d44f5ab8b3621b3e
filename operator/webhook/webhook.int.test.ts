// The injection webhook against the real kube-apiserver: the real operator process serves it over
// TLS (a certificate for 127.0.0.1 from a fresh CA), a MutatingWebhookConfiguration points the API
// server at it, and pods created with kubectl come back mutated, untouched or refused. The
// namespace enforces Pod Security "restricted", which the API server checks after the mutation.
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { errorMessage } from "../../common/errors.ts";
import { installCrds } from "../../crds/install.ts";
import { cleanup, exclusive, testCluster, testEtcd, testNamespace, uniqueName } from "../../e2e/harness.ts";
import { startOperator } from "../../e2e/operator.ts";
import { base64File, createCa, createCert, type KeyPair } from "../../e2e/pki.ts";
import { waitFor } from "../../e2e/proc.ts";
import { startedLine } from "../../e2e/started.ts";
import { GATEWAY_NODE_FLAGS } from "../../scripts/image/spec.ts";

const cluster = await testCluster();
await exclusive(cluster, "operator");
await installCrds(cluster);
const etcdUrl = await testEtcd();
const leaseNamespace = await testNamespace(cluster, "webhook-leases");
const ns = await testNamespace(cluster, "webhook-app");
await cluster.kubectl(["label", "namespace", ns, "pod-security.kubernetes.io/enforce=restricted"]);
const clusterName = uniqueName("inject");
const IMAGE = "registry.example/switchboard:webhook-test";

const pki = join(cluster.dir, uniqueName("webhook-pki"));
const issue = async (name: string): Promise<{ ca: KeyPair; serving: KeyPair }> => {
  const dir = join(pki, name);
  mkdirSync(dir, { recursive: true });
  const ca = await createCa(dir, `${name}-webhook-ca`);
  const serving = await createCert(dir, ca, {
    name: "serving",
    commonName: "switchboard-webhook",
    ips: ["127.0.0.1"],
    usage: "server",
  });
  return { ca, serving };
};
const first = await issue("first");
const certFile = join(pki, "tls.crt");
const keyFile = join(pki, "tls.key");
const install = (pair: KeyPair): void => {
  copyFileSync(pair.cert, certFile);
  copyFileSync(pair.key, keyFile);
};
install(first.serving);
/** The CA of the serving certificate installed now (the rotation test replaces it). */
let servingCa = first.ca;

const operator = await startOperator(cluster, {
  clusterName,
  id: `${clusterName}-op`,
  etcd: etcdUrl,
  leaseNamespace,
  // Injected gateways get the operator's egress rules.
  egressAllow: ["10.20.0.0/16"],
  extraArgs: [
    "--egress-deny=*:9090",
    "--webhook-addr=127.0.0.1:0",
    `--webhook-cert-file=${certFile}`,
    `--webhook-key-file=${keyFile}`,
    "--webhook-cert-reload=200ms",
    `--injector-image=${IMAGE}`,
    "--injector-etcd-secret=gateway-etcd",
  ],
});
cleanup(() => operator.proc.stop());
const started = await startedLine(operator.proc, "operator started");
const webhookAddr: unknown = started.webhook;
assert.ok(
  typeof webhookAddr === "string",
  `the operator logs its webhook address: ${JSON.stringify(started)}`,
);

const configName = uniqueName("switchboard-inject-test");
const webhookConfig = (caBundle: string): string =>
  JSON.stringify({
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "MutatingWebhookConfiguration",
    metadata: { name: configName },
    webhooks: [
      {
        name: "inject.switchboard.dev",
        clientConfig: { url: `https://${webhookAddr}/inject`, caBundle },
        rules: [
          {
            operations: ["CREATE"],
            apiGroups: [""],
            apiVersions: ["v1"],
            resources: ["pods"],
            scope: "Namespaced",
          },
        ],
        // Only this file's namespace: other test files share the control plane.
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ns } },
        // Fail, so that a webhook that is not called or not trusted fails the test instead of hiding.
        failurePolicy: "Fail",
        sideEffects: "None",
        admissionReviewVersions: ["v1"],
        timeoutSeconds: 5,
        reinvocationPolicy: "IfNeeded",
      },
    ],
  });
await cluster.kubectl(["apply", "-f", "-"], webhookConfig(base64File(first.ca.cert)));
cleanup(async () => {
  await cluster.kubectl(["delete", "mutatingwebhookconfiguration", configName, "--ignore-not-found"]);
  await cluster.kubectl(["delete", "namespace", ns, leaseNamespace, "--wait=false", "--ignore-not-found"]);
});

interface Container {
  name: string;
  image?: string;
  args?: string[];
  ports?: unknown[];
  env?: unknown[];
  securityContext?: unknown;
  volumeMounts?: { name: string; mountPath: string }[];
  resources?: unknown;
}
interface Pod {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: { containers: Container[]; volumes?: { name: string; secret?: { secretName: string } }[] };
}

interface PodManifest {
  apiVersion: "v1";
  kind: "Pod";
  metadata: { name: string; labels: Record<string, string>; annotations: Record<string, string> };
  spec: { securityContext: unknown; containers: Record<string, unknown>[] };
}

/** A Pod manifest that meets Pod Security "restricted" on its own. */
const appPod = (name: string, annotations: Record<string, string>): PodManifest => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, labels: { app: "orders" }, annotations },
  spec: {
    securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: "RuntimeDefault" } },
    containers: [
      {
        name: "app",
        image: "registry.example/orders:1",
        ports: [{ containerPort: 8080 }],
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
      },
    ],
  },
});

const isPod = (value: unknown): value is Pod =>
  typeof value === "object" && value !== null && "spec" in value && "metadata" in value;

const create = async (manifest: object, extra: string[] = []): Promise<Pod> => {
  const out: unknown = JSON.parse(
    await cluster.kubectl(["create", "-n", ns, "-o", "json", ...extra, "-f", "-"], JSON.stringify(manifest)),
  );
  assert.ok(isPod(out));
  return out;
};

const read = async (name: string): Promise<Pod> => {
  const out: unknown = JSON.parse(await cluster.kubectl(["get", "pod", name, "-n", ns, "-o", "json"]));
  assert.ok(isPod(out));
  return out;
};

const gateways = (pod: Pod): Container[] =>
  pod.spec.containers.filter((c) => c.name === "switchboard-gateway");

// The API server picks up a new webhook configuration asynchronously: wait until a dry run is mutated.
const waitInjecting = (what: string) =>
  waitFor(
    what,
    async () => {
      const dry = await create(appPod(uniqueName("probe"), { "switchboard.dev/inject": "true" }), [
        "--dry-run=server",
      ]);
      return gateways(dry).length === 1 ? true : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  );
await waitInjecting("the API server to call the webhook");

test("an annotated pod gets the switchboard-gateway container, its volumes and label, and passes restricted admission", async () => {
  await create(appPod("orders", { "switchboard.dev/inject": "true", "switchboard.dev/durability": "fsync" }));
  const pod = await read("orders");
  assert.deepEqual(
    pod.spec.containers.map((c) => c.name),
    ["app", "switchboard-gateway"],
  );
  const [gw] = gateways(pod);
  assert.ok(gw);
  assert.equal(gw.image, IMAGE);
  assert.deepEqual(gw.args, [
    ...GATEWAY_NODE_FLAGS,
    "dist/sidecar/main.js",
    "--listen=127.0.0.1:3580",
    `--cluster-name=${clusterName}`,
    "--namespace=$(SWITCHBOARD_NAMESPACE)",
    `--etcd=${etcdUrl}`,
    "--etcd-ca=/etc/switchboard/etcd/ca.crt",
    "--etcd-cert=/etc/switchboard/etcd/tls.crt",
    "--etcd-key=/etc/switchboard/etcd/tls.key",
    "--metrics-addr=0.0.0.0:9580",
    `--queue-max-bytes=${(192 * 2 ** 20) / 4}`,
    `--max-inflight-bytes=${(192 * 2 ** 20) / 4}`,
    `--max-inflight-bytes-per-vpn=${(192 * 2 ** 20) / 4}`,
    "--drain-timeout=25s",
    "--presence-ttl=0s",
    "--log-level=info",
    "--egress-allow=10.20.0.0/16",
    "--egress-deny=*:9090",
    "--data-dir=/var/lib/switchboard/data",
    "--durability=fsync",
    `--data-max-bytes=${256 * 2 ** 20}`,
  ]);
  assert.deepEqual(gw.env?.[0], {
    name: "SWITCHBOARD_NAMESPACE",
    valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } },
  });
  assert.deepEqual(gw.securityContext, {
    runAsNonRoot: true,
    runAsUser: 10001,
    runAsGroup: 10001,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    privileged: false,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  });
  assert.deepEqual(gw.resources, { requests: { cpu: "50m", memory: "192Mi" }, limits: { memory: "192Mi" } });
  const volumes = new Map((pod.spec.volumes ?? []).map((v) => [v.name, v]));
  assert.equal(volumes.get("switchboard-etcd-tls")?.secret?.secretName, "gateway-etcd");
  assert.ok(volumes.has("switchboard-data") && volumes.has("switchboard-tmp"));
  assert.equal(pod.metadata.labels?.["switchboard.dev/sidecar"], "injected");
  assert.equal(pod.metadata.labels?.app, "orders", "the pod's own labels are kept");

  // The namespace really enforces "restricted" (so the gateway container above passed it).
  const lax = appPod("lax", { "switchboard.dev/inject": "true" });
  lax.spec.containers[0] = { name: "app", image: "registry.example/orders:1" };
  const refused = await create(lax).then(() => "created", errorMessage);
  assert.match(refused, /violates PodSecurity "restricted/);
  assert.doesNotMatch(refused, /switchboard-gateway/, "only the app container breaks the profile");
});

test('a plain pod, and one annotated "false", are untouched', async () => {
  await create(appPod("plain", {}));
  await create(appPod("opted-out", { "switchboard.dev/inject": "false" }));
  for (const name of ["plain", "opted-out"]) {
    const pod = await read(name);
    assert.deepEqual(
      pod.spec.containers.map((c) => c.name),
      ["app"],
      name,
    );
    assert.equal(pod.metadata.labels?.["switchboard.dev/sidecar"], undefined, name);
  }
});

test("a pod created from an already-injected spec keeps exactly one gateway container", async () => {
  const injected = await read("orders");
  const { metadata, spec } = injected;
  await create({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "orders-copy", labels: metadata.labels, annotations: metadata.annotations },
    spec,
  });
  const copy = await read("orders-copy");
  assert.equal(gateways(copy).length, 1);
  assert.deepEqual(
    copy.spec.containers.map((c) => c.name),
    ["app", "switchboard-gateway"],
  );
  assert.equal(copy.spec.volumes?.filter((v) => v.name === "switchboard-tmp").length, 1);
});

test("a pod with an invalid annotation is refused with the webhook's message", async () => {
  const refused = await create(
    appPod("bad-port", { "switchboard.dev/inject": "true", "switchboard.dev/port": "abc" }),
  ).then(() => "created", errorMessage);
  assert.match(
    refused,
    /admission webhook "inject\.switchboard\.dev" denied the request: switchboard sidecar injection refused: switchboard\.dev\/port: "abc" is not a port number from 1 to 65535/,
  );
  const pods = await cluster.kubectl(["get", "pods", "-n", ns, "-o", "name"]);
  assert.doesNotMatch(pods, /bad-port/);
  assert.ok(
    ((await operator.metric('switchboard_operator_webhook_requests_total{result="denied"}')) ?? 0) >= 1,
  );
  assert.ok(
    ((await operator.metric('switchboard_operator_webhook_requests_total{result="injected"}')) ?? 0) >= 2,
  );
});

test("a rotated certificate is served without restarting the operator", async () => {
  const second = await issue("second");
  install(second.serving);
  servingCa = second.ca;
  await cluster.kubectl(["apply", "-f", "-"], webhookConfig(base64File(second.ca.cert)));
  // Both the operator (reloading its files) and the API server (the new caBundle) must switch.
  await waitInjecting("the API server to trust the rotated certificate");
  const reloads = await operator.metric(
    'switchboard_operator_webhook_certificate_reloads_total{result="success"}',
  );
  assert.equal(reloads, 1);
  await create(appPod("after-rotation", { "switchboard.dev/inject": "true" }));
  assert.equal(gateways(await read("after-rotation")).length, 1);
});

// The namespace-claim check: a ValidatingWebhookConfiguration sends VPN creates and updates (only
// this file's VPNs, by label: VPNs are cluster-scoped and other files share the control plane) to
// POST /validate/vpn of the same server.
const claimLabel = uniqueName("claims");
const validatingName = uniqueName("switchboard-vpn-claims-test");
const [held, free] = [uniqueName("held"), uniqueName("free")];
const holderVpn = uniqueName("holder");
cleanup(async () => {
  await cluster.kubectl(["delete", "validatingwebhookconfiguration", validatingName, "--ignore-not-found"]);
  await cluster.kubectl(["delete", "vpns", "-l", `switchboard.dev/test=${claimLabel}`, "--wait=false"]);
});

const registerValidating = () =>
  cluster.kubectl(
    ["apply", "-f", "-"],
    JSON.stringify({
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingWebhookConfiguration",
      metadata: { name: validatingName },
      webhooks: [
        {
          name: "vpns.switchboard.dev",
          clientConfig: { url: `https://${webhookAddr}/validate/vpn`, caBundle: base64File(servingCa.cert) },
          rules: [
            {
              operations: ["CREATE", "UPDATE"],
              apiGroups: ["switchboard.dev"],
              apiVersions: ["*"],
              resources: ["vpns"],
              scope: "Cluster",
            },
          ],
          objectSelector: { matchLabels: { "switchboard.dev/test": claimLabel } },
          // Fail here so that a webhook the API server does not call fails the test; the chart uses Ignore.
          failurePolicy: "Fail",
          sideEffects: "None",
          admissionReviewVersions: ["v1"],
          timeoutSeconds: 5,
        },
      ],
    }),
  );

const vpnManifest = (name: string, namespaces: string[]): string =>
  JSON.stringify({
    apiVersion: "switchboard.dev/v1alpha1",
    kind: "VPN",
    metadata: { name, labels: { "switchboard.dev/test": claimLabel } },
    spec: { namespaces: { names: namespaces } },
  });
const applyVpn = (name: string, namespaces: string[], extra: string[] = []): Promise<string> =>
  cluster
    .kubectl(["apply", ...extra, "-f", "-"], vpnManifest(name, namespaces))
    .then(() => "applied", errorMessage);

test("a VPN claiming a namespace another VPN holds is refused at kubectl apply, naming both; others pass", async () => {
  await registerValidating();
  assert.equal(await applyVpn(holderVpn, [held]), "applied");
  await cluster.kubectl(["wait", "--for=condition=Ready", "--timeout=30s", `vpn/${holderVpn}`]);
  // The API server picks up the configuration asynchronously: wait until a dry run is refused.
  const rival = uniqueName("rival");
  const refused = await waitFor(
    "the API server to call /validate/vpn",
    async () => {
      const out = await applyVpn(rival, [free, held], ["--dry-run=server"]);
      return out === "applied" ? undefined : out;
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  );
  assert.match(
    refused,
    new RegExp(
      `admission webhook "vpns\\.switchboard\\.dev" denied the request: VPN ${rival} refused: namespace ${held} is already held by VPN ${holderVpn}`,
    ),
  );
  assert.match(await applyVpn(rival, [free, held]), /Error from server \(Conflict\): .*already held by VPN/);
  assert.equal(
    (await cluster.kubectl(["get", "vpns", "-l", `switchboard.dev/test=${claimLabel}`, "-o", "name"])).trim(),
    `vpn.switchboard.dev/${holderVpn}`,
    "the refused VPN was not created",
  );

  // A VPN claiming only free namespaces passes; adding the held one later is refused as an update.
  assert.equal(await applyVpn(rival, [free]), "applied");
  assert.match(
    await applyVpn(rival, [free, held]),
    new RegExp(`namespace ${held} is already held by VPN ${holderVpn}`),
  );
  // The holder itself can still be edited, keeping its namespace.
  assert.equal(await applyVpn(holderVpn, [held, uniqueName("more")]), "applied");
  assert.ok(
    ((await operator.metric('switchboard_operator_webhook_vpn_claims_total{result="refused"}')) ?? 0) >= 3,
  );
});

// The Subscription check: creates and updates of this file's Subscriptions (by label) go to
// POST /validate/subscription; a CEL expression that does not compile is refused with its position.
const subscriptionsWebhook = uniqueName("switchboard-subscription-checks-test");
cleanup(async () => {
  await cluster.kubectl([
    "delete",
    "validatingwebhookconfiguration",
    subscriptionsWebhook,
    "--ignore-not-found",
  ]);
});

test("a Subscription whose CEL does not compile is refused at kubectl apply with where the error is", async () => {
  const namespace = await testNamespace(cluster, "subcheck");
  await cluster.kubectl(
    ["apply", "-f", "-"],
    JSON.stringify({
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingWebhookConfiguration",
      metadata: { name: subscriptionsWebhook },
      webhooks: [
        {
          name: "subscriptions.switchboard.dev",
          clientConfig: {
            url: `https://${webhookAddr}/validate/subscription`,
            caBundle: base64File(servingCa.cert),
          },
          rules: [
            {
              operations: ["CREATE", "UPDATE"],
              apiGroups: ["switchboard.dev"],
              apiVersions: ["*"],
              resources: ["subscriptions"],
              scope: "Namespaced",
            },
          ],
          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } },
          failurePolicy: "Fail",
          sideEffects: "None",
          admissionReviewVersions: ["v1"],
          timeoutSeconds: 5,
        },
      ],
    }),
  );
  const subscription = (cel: string): string =>
    JSON.stringify({
      apiVersion: "switchboard.dev/v1alpha1",
      kind: "Subscription",
      metadata: { name: "orders", namespace },
      spec: { vpn: "shop", function: "orders", mode: "async", filters: [{ exact: { type: "t" } }], cel },
    });
  const apply = (cel: string, extra: string[] = []): Promise<string> =>
    cluster.kubectl(["apply", ...extra, "-f", "-"], subscription(cel)).then(() => "applied", errorMessage);
  const refused = await waitFor(
    "the API server to call /validate/subscription",
    async () => {
      const out = await apply("data.amount >> 3", ["--dry-run=server"]);
      return out === "applied" ? undefined : out;
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  );
  assert.match(
    refused,
    new RegExp(
      `admission webhook "subscriptions\\.switchboard\\.dev" denied the request: Subscription ${namespace}/orders refused: spec\\.cel: Unexpected token: GT at line 1, column 14`,
    ),
  );
  assert.equal(await apply("data.amount > 3"), "applied");
  assert.match(await apply("1 + 2"), /yields int; a filter must yield bool/);
  assert.equal(
    await operator.metric('switchboard_operator_webhook_subscription_checks_total{result="refused"}'),
    2,
  );
});
