// The chart without a cluster: helm lint, helm template with the default and the all-features
// values, the values schema's refusals, Pod Security "restricted" on every pod, least-privilege
// RBAC, and Prometheus objects that use the documented metric names.
import assert from "node:assert/strict";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../e2e/tools.ts";
import { parseOperatorConfig } from "../operator/config.ts";
import { GATEWAY_NODE_FLAGS, PROGRAMS } from "../scripts/image/spec.ts";
import { parseGatewayConfig } from "../sidecar/config.ts";
import {
  ALL_FEATURES,
  argsOf,
  CHART_DIR,
  containers,
  find,
  get,
  helm,
  isRecord,
  list,
  type Manifest,
  podSpec,
  render,
  sets,
} from "./chart-kit.ts";

const REQUIRED = sets({ clusterName: "east", "etcd.endpoints[0]": "https://registry.example:2379" });
const NAMESPACE = "switchboard-system";
const defaults = await render(REQUIRED);
const allFeatures = await render(["-f", ALL_FEATURES]);
const JETSTREAM = sets({
  clusterName: "east",
  "bundledEtcd.enabled": "true",
  "gateway.jetstream.enabled": "true",
  "bundledNats.enabled": "true",
  "networkPolicy.enabled": "true",
});
const bundledNats = await render(JETSTREAM);
const renders: [string, Manifest[]][] = [
  ["default values", defaults],
  ["all-features values", allFeatures],
  ["JetStream with the bundled NATS", bundledNats],
];

test("helm lint --strict passes with the required values and with every feature on", async () => {
  for (const args of [REQUIRED, ["-f", ALL_FEATURES]]) {
    const out = await helm(["lint", "--strict", CHART_DIR, ...args]);
    assert.equal(out.code, 0, `${out.stdout}${out.stderr}`);
  }
});

test("default values: the operator and gateway workloads, Services, RBAC and PDBs, nothing optional", () => {
  const kinds = defaults.map((m) => `${m.kind}/${m.name}`).sort();
  assert.deepEqual(kinds, [
    "ClusterRole/sb-switchboard-operator",
    "ClusterRoleBinding/sb-switchboard-operator",
    "Deployment/sb-switchboard-gateway",
    "Deployment/sb-switchboard-operator",
    "PodDisruptionBudget/sb-switchboard-gateway",
    "PodDisruptionBudget/sb-switchboard-operator",
    "Role/sb-switchboard-operator-leader-election",
    "RoleBinding/sb-switchboard-operator-leader-election",
    "Secret/sb-switchboard-registry-key",
    "Service/sb-switchboard-gateway",
    "Service/sb-switchboard-operator-metrics",
    "ServiceAccount/sb-switchboard-gateway",
    "ServiceAccount/sb-switchboard-operator",
    "ValidatingAdmissionPolicy/sb-switchboard-operator-secrets",
    "ValidatingAdmissionPolicyBinding/sb-switchboard-operator-secrets",
  ]);
  const clusterScoped = new Set([
    "ClusterRole",
    "ClusterRoleBinding",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
  ]);
  for (const m of defaults)
    assert.equal(m.namespace, clusterScoped.has(m.kind) ? undefined : NAMESPACE, `${m.kind}/${m.name}`);
});

test("the operator: 2 replicas, leader election in the release namespace, id from the pod name, probes on the metrics port", () => {
  const op = find(defaults, "Deployment", "-operator");
  assert.equal(get(op.doc, "spec", "replicas"), 2);
  const args = argsOf(op, "operator");
  assert.equal(args[0], "dist/operator/main.js");
  for (const flag of [
    "--etcd=https://registry.example:2379",
    "--cluster-name=east",
    "--metrics-addr=0.0.0.0:8080",
    "--leader-election-namespace=$(POD_NAMESPACE)",
    "--id=$(POD_NAME)",
    "--resync-period=5m",
    "--kube-write-qps=500",
    "--kube-write-burst=1000",
  ])
    assert.ok(args.includes(flag), `${flag} in ${args.join(" ")}`);
  assert.ok(!args.some((a) => a.startsWith("--etcd-cert")), "no client TLS without etcd.operatorSecret");
  const container = get(podSpec(op), "containers", 0);
  const env = list(container, "env");
  assert.deepEqual(
    env.find((e) => get(e, "name") === "POD_NAMESPACE"),
    { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
  );
  assert.deepEqual(
    env.find((e) => get(e, "name") === "POD_NAME"),
    { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
  );
  assert.deepEqual(get(container, "ports"), [{ name: "metrics", containerPort: 8080, protocol: "TCP" }]);
  assert.deepEqual(get(container, "livenessProbe", "httpGet"), { path: "/healthz", port: "metrics" });
  assert.deepEqual(get(container, "readinessProbe", "httpGet"), { path: "/readyz", port: "metrics" });
  assert.ok(isRecord(get(container, "resources", "requests")));
});

test("etcd TLS Secrets are mounted as files: the operator's and the gateways' own", async () => {
  const manifests = await render([
    ...REQUIRED,
    ...sets({ "etcd.operatorSecret": "op-tls", "etcd.gatewaySecret": "gw-tls" }),
  ]);
  for (const [suffix, container, secret] of [
    ["-operator", "operator", "op-tls"],
    ["-gateway", "gateway", "gw-tls"],
  ] as const) {
    const workload = find(manifests, "Deployment", suffix);
    const args = argsOf(workload, container);
    for (const file of [
      "--etcd-ca=/etc/switchboard/etcd/ca.crt",
      "--etcd-cert=/etc/switchboard/etcd/tls.crt",
      "--etcd-key=/etc/switchboard/etcd/tls.key",
    ])
      assert.ok(args.includes(file), `${container}: ${file}`);
    const volume = list(podSpec(workload), "volumes").find((v) => get(v, "name") === "etcd-tls");
    assert.equal(get(volume, "secret", "secretName"), secret);
    const mount = list(podSpec(workload), "containers", 0, "volumeMounts").find(
      (v) => get(v, "name") === "etcd-tls",
    );
    assert.deepEqual(mount, { name: "etcd-tls", mountPath: "/etc/switchboard/etcd", readOnly: true });
  }
});

test("sealed records by default: a kept master-key Secret mounted into the operator and the shared gateway", async () => {
  const secret = find(defaults, "Secret", "-registry-key");
  assert.equal(get(secret.doc, "metadata", "annotations", "helm.sh/resource-policy"), "keep");
  const text = Buffer.from(String(get(secret.doc, "data", "registry.key")), "base64").toString();
  assert.equal(Buffer.from(text, "base64").length, 32, "32 random bytes, base64 as the programs read them");
  const mounted = (manifests: Manifest[], secretName: string): void => {
    for (const [suffix, container] of [
      ["-operator", "operator"],
      ["-gateway", "gateway"],
    ] as const) {
      const workload = find(manifests, "Deployment", suffix);
      assert.ok(
        argsOf(workload, container).includes(
          "--registry-key-file=/etc/switchboard/registry-key/registry.key",
        ),
      );
      const volume = list(podSpec(workload), "volumes").find((v) => get(v, "name") === "registry-key");
      assert.equal(get(volume, "secret", "secretName"), secretName);
      const mount = list(podSpec(workload), "containers", 0, "volumeMounts").find(
        (v) => get(v, "name") === "registry-key",
      );
      assert.deepEqual(mount, {
        name: "registry-key",
        mountPath: "/etc/switchboard/registry-key",
        readOnly: true,
      });
    }
  };
  mounted(defaults, "sb-switchboard-registry-key");
  const existing = await render([...REQUIRED, ...sets({ "etcd.sealing.existingSecret": "my-key" })]);
  assert.ok(!existing.some((m) => m.kind === "Secret" && m.name.endsWith("-registry-key")));
  mounted(existing, "my-key");
  const off = await render([...REQUIRED, ...sets({ "etcd.sealing.enabled": "false" })]);
  assert.ok(!off.some((m) => m.kind === "Secret"));
  for (const m of off.filter((w) => podSpec(w)))
    assert.ok(!JSON.stringify(m.doc).includes("registry-key"), `${m.kind}/${m.name}`);
  const rules = get(find(off, "ClusterRole", "-operator").doc, "rules");
  assert.ok(!JSON.stringify(rules).includes("switchboard-vpn-key"), "no Secret writes without sealing");
  assert.ok(!off.some((m) => m.kind.startsWith("ValidatingAdmissionPolicy")));
  const policy = find(defaults, "ValidatingAdmissionPolicy", "-operator-secrets");
  assert.equal(
    get(policy.doc, "spec", "matchConditions", 0, "expression"),
    'request.userInfo.username == "system:serviceaccount:switchboard-system:sb-switchboard-operator"',
  );
  assert.equal(
    get(policy.doc, "spec", "validations", 0, "expression"),
    'object.metadata.name == "switchboard-vpn-key"',
  );
});

test("the gateway: Service with the ingress and metrics ports, cluster name, probes, no data dir by default", () => {
  const gw = find(defaults, "Deployment", "-gateway");
  const args = argsOf(gw, "gateway");
  assert.deepEqual(args.slice(0, GATEWAY_NODE_FLAGS.length + 1), [
    ...GATEWAY_NODE_FLAGS,
    "dist/sidecar/main.js",
  ]);
  for (const flag of [
    "--listen=0.0.0.0:8080",
    "--cluster-name=east",
    "--metrics-addr=0.0.0.0:9090",
    "--id=$(POD_NAME)",
    "--max-connections=1024",
    `--max-inflight-bytes=${32 * 2 ** 20}`,
    `--max-inflight-bytes-per-vpn=${8 * 2 ** 20}`,
  ])
    assert.ok(args.includes(flag), flag);
  assert.ok(!args.some((a) => a.startsWith("--data-dir")));
  const container = get(podSpec(gw), "containers", 0);
  assert.deepEqual(get(container, "readinessProbe", "httpGet"), { path: "/readyz", port: "metrics" });
  assert.deepEqual(get(container, "livenessProbe", "httpGet"), { path: "/healthz", port: "metrics" });
  const svc = find(defaults, "Service", "-gateway");
  assert.deepEqual(
    list(svc.doc, "spec", "ports").map((p) => [get(p, "name"), get(p, "port"), get(p, "targetPort")]),
    [
      ["http", 80, "http"],
      ["metrics", 9090, "metrics"],
    ],
  );
});

test("durability: --data-dir on an emptyDir with a Deployment, on a PVC per gateway with a StatefulSet", async () => {
  const onEmptyDir = await render([...REQUIRED, ...sets({ "gateway.durability.enabled": "true" })]);
  const gw = find(onEmptyDir, "Deployment", "-gateway");
  assert.ok(argsOf(gw, "gateway").includes("--data-dir=/var/lib/switchboard/data"));
  const data = list(podSpec(gw), "volumes").find((v) => get(v, "name") === "data");
  assert.deepEqual(get(data, "emptyDir"), { sizeLimit: "2Gi" });

  const sts = find(allFeatures, "StatefulSet", "-gateway");
  assert.ok(argsOf(sts, "gateway").includes("--data-dir=/var/lib/switchboard/data"));
  assert.ok(argsOf(sts, "gateway").includes("--durability=fsync"));
  assert.equal(get(sts.doc, "spec", "volumeClaimTemplates", 0, "metadata", "name"), "data");
  assert.ok(!list(podSpec(sts), "volumes").some((v) => get(v, "name") === "data"));
  assert.equal(get(sts.doc, "spec", "serviceName"), find(allFeatures, "Service", "-gateway-headless").name);
});

/** The gateway's config as it parses the rendered args of `workload`. */
const gatewayConfigOf = (workload: Manifest) =>
  parseGatewayConfig(
    argsOf(workload, "gateway")
      .slice(GATEWAY_NODE_FLAGS.length + 1)
      .map((a) => a.replace("$(POD_NAME)", "gw-0")),
    { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" },
  );

/** Where `workload`'s gateway container mounts each volume it mounts, by volume name, with the volume. */
const mountsOf = (workload: Manifest): Map<string, { path: unknown; volume: unknown }> => {
  const spec = podSpec(workload);
  return new Map(
    list(spec, "containers", 0, "volumeMounts").map((m) => [
      String(get(m, "name")),
      {
        path: get(m, "mountPath"),
        volume: list(spec, "volumes").find((v) => get(v, "name") === get(m, "name")),
      },
    ]),
  );
};

test("JetStream with the bundled NATS: three members routed by name on TLS, one gateway user, the gateways' flags and mounts", () => {
  const gw = find(bundledNats, "Deployment", "-gateway");
  const config = gatewayConfigOf(gw);
  assert.equal(config.durability, "jetstream");
  const members = [0, 1, 2].map(
    (i) => `sb-switchboard-nats-${i}.sb-switchboard-nats-headless.${NAMESPACE}.svc`,
  );
  assert.deepEqual(
    config.nats?.urls,
    members.map((m) => `tls://${m}:4222`),
  );
  assert.equal(config.nats?.replicas, 3);
  assert.deepEqual(config.nats?.user, {
    name: "gateway",
    passwordFile: "/etc/switchboard/nats-auth/password",
  });
  assert.equal(config.nats?.tls.ca, "/etc/switchboard/nats-tls/ca.crt");
  const mounts = mountsOf(gw);
  assert.equal(get(mounts.get("nats-tls")?.volume, "secret", "secretName"), "sb-switchboard-nats-tls");
  assert.deepEqual(get(mounts.get("nats-tls")?.volume, "secret", "items"), [
    { key: "ca.crt", path: "ca.crt" },
  ]);
  assert.equal(get(mounts.get("nats-auth")?.volume, "secret", "secretName"), "sb-switchboard-nats-auth");

  const sts = find(bundledNats, "StatefulSet", "-nats");
  assert.equal(get(sts.doc, "spec", "replicas"), 3);
  assert.equal(get(sts.doc, "spec", "podManagementPolicy"), "Parallel");
  assert.equal(get(sts.doc, "spec", "serviceName"), "sb-switchboard-nats-headless");
  const conf = String(get(find(bundledNats, "ConfigMap", "-nats-config").doc, "data", "nats.conf"));
  for (const m of members) assert.ok(conf.includes(`nats-route://${m}:6222`), m);
  assert.match(conf, /no_advertise: true/);
  assert.match(conf, /user: gateway\s+password: \$GATEWAY_PASSWORD/);
  // The members' certificate names every member as the gateways and the routes dial it.
  const tls = find(bundledNats, "Secret", "-nats-tls");
  const cert = new X509Certificate(Buffer.from(String(get(tls.doc, "data", "tls.crt")), "base64"));
  const ca = new X509Certificate(Buffer.from(String(get(tls.doc, "data", "ca.crt")), "base64"));
  assert.ok(cert.verify(ca.publicKey));
  for (const m of members) assert.ok(cert.checkHost(m), m);
  const password = Buffer.from(
    String(get(find(bundledNats, "Secret", "-nats-auth").doc, "data", "password")),
    "base64",
  );
  assert.equal(password.length, 32);

  // Clients only from the shared gateways, routes only from the members.
  const policy = find(bundledNats, "NetworkPolicy", "-nats");
  const from = (port: string) =>
    list(policy.doc, "spec", "ingress")
      .find((r) => get(r, "ports", 0, "port") === port)
      ?.valueOf();
  assert.equal(
    get(from("client"), "from", 0, "podSelector", "matchLabels", "app.kubernetes.io/component"),
    "gateway",
  );
  assert.equal(
    get(from("cluster"), "from", 0, "podSelector", "matchLabels", "app.kubernetes.io/component"),
    "nats",
  );
  assert.equal(list(from("client"), "from").length, 1);
});

test("JetStream on an existing NATS: its URLs, a credentials file and a client certificate from Secrets; nothing bundled", async () => {
  const manifests = await render([
    ...REQUIRED,
    ...sets({
      "gateway.jetstream.enabled": "true",
      "gateway.jetstream.urls[0]": "tls://nats.messaging:4222",
      "gateway.jetstream.replicas": "5",
      "gateway.jetstream.credentialsSecret": "gw-nats-creds",
      "gateway.jetstream.tlsSecret": "gw-nats-tls",
      "gateway.jetstream.clientCertificate": "true",
    }),
  ]);
  assert.ok(!manifests.some((m) => m.name.includes("-nats")));
  const gw = find(manifests, "Deployment", "-gateway");
  const config = gatewayConfigOf(gw);
  assert.deepEqual(config.nats?.urls, ["tls://nats.messaging:4222"]);
  assert.equal(config.nats?.replicas, 5);
  assert.equal(config.nats?.credsFile, "/etc/switchboard/nats-creds/nats.creds");
  assert.equal(config.nats?.user, undefined);
  assert.deepEqual(config.nats?.tls, {
    ca: "/etc/switchboard/nats-tls/ca.crt",
    cert: "/etc/switchboard/nats-tls/tls.crt",
    key: "/etc/switchboard/nats-tls/tls.key",
  });
  const mounts = mountsOf(gw);
  assert.equal(get(mounts.get("nats-creds")?.volume, "secret", "secretName"), "gw-nats-creds");
  assert.equal(get(mounts.get("nats-tls")?.volume, "secret", "secretName"), "gw-nats-tls");
  assert.equal(get(mounts.get("nats-tls")?.volume, "secret", "items"), undefined);
});

test("both programs run from one image, chosen by args: the compiled programs the image holds", () => {
  for (const [suffix, name, program] of [
    ["-operator", "operator", PROGRAMS.operator],
    ["-gateway", "gateway", PROGRAMS.gateway],
  ] as const) {
    const workload = find(defaults, "Deployment", suffix);
    assert.equal(get(podSpec(workload), "containers", 0, "image"), "switchboard:0.1.0");
    const args = argsOf(workload, name);
    assert.equal(args[name === "gateway" ? GATEWAY_NODE_FLAGS.length : 0], program.path);
    assert.ok(existsSync(join(repoRoot, program.source)), program.source);
  }
});

const badValues: [string, string[], RegExp][] = [
  [
    "a missing clusterName",
    sets({ "etcd.endpoints[0]": "https://e:2379" }),
    /missing property 'clusterName'/,
  ],
  [
    "a clusterName that is not a DNS label",
    [...REQUIRED, ...sets({ clusterName: "East_1" })],
    /at '\/clusterName': 'East_1' does not match pattern/,
  ],
  [
    "operator.replicas < 1",
    [...REQUIRED, ...sets({ "operator.replicas": "0" })],
    /at '\/operator\/replicas': minimum: got 0, want 1/,
  ],
  [
    "gateway.replicas < 1",
    [...REQUIRED, ...sets({ "gateway.replicas": "0" })],
    /at '\/gateway\/replicas': minimum: got 0, want 1/,
  ],
  [
    "an unknown top-level key",
    [...REQUIRED, ...sets({ replicas: "2" })],
    /additional properties 'replicas' not allowed/,
  ],
  [
    "an unknown nested key",
    [...REQUIRED, ...sets({ "operator.replica": "2" })],
    /at '\/operator': additional properties 'replica' not allowed/,
  ],
  [
    "no etcd endpoints and no bundled etcd",
    sets({ clusterName: "east" }),
    /at '\/etcd\/endpoints': minItems: got 0, want 1/,
  ],
  [
    "an etcd endpoint that is not a URL",
    sets({ clusterName: "east", "etcd.endpoints[0]": "registry:2379" }),
    /at '\/etcd\/endpoints\/0': 'registry:2379' does not match pattern/,
  ],
  [
    "a malformed duration",
    [...REQUIRED, ...sets({ "operator.leaderElection.leaseDuration": "15sec" })],
    /at '\/operator\/leaderElection\/leaseDuration': '15sec' does not match pattern/,
  ],
  [
    "an unknown gateway kind",
    [...REQUIRED, ...sets({ "gateway.kind": "DaemonSet" })],
    /at '\/gateway\/kind': value must be one of 'Deployment', 'StatefulSet'/,
  ],
  [
    "an unknown injector failure policy",
    [...REQUIRED, ...sets({ "injector.enabled": "true", "injector.failurePolicy": "Sometimes" })],
    /at '\/injector\/failurePolicy': value must be one of 'Ignore', 'Fail'/,
  ],
  [
    "a sidecar memory that is not a quantity",
    [...REQUIRED, ...sets({ "injector.enabled": "true", "injector.sidecar.memory": "lots" })],
    /at '\/injector\/sidecar\/memory': 'lots' does not match pattern/,
  ],
  [
    "an unknown injector key",
    [...REQUIRED, ...sets({ "injector.enabled": "true", "injector.image": "x" })],
    /at '\/injector': additional properties 'image' not allowed/,
  ],
  [
    "the webhook on the operator's metrics port",
    [...REQUIRED, ...sets({ "injector.enabled": "true", "injector.webhookPort": "8080" })],
    /injector\.webhookPort must differ from operator\.metricsPort/,
  ],
  [
    "a PersistentVolume with a Deployment",
    [
      ...REQUIRED,
      ...sets({
        "gateway.durability.enabled": "true",
        "gateway.durability.persistentVolume.enabled": "true",
      }),
    ],
    /gateway\.durability\.persistentVolume\.enabled needs gateway\.kind=StatefulSet/,
  ],
  [
    "JetStream without a NATS",
    [...REQUIRED, ...sets({ "gateway.jetstream.enabled": "true" })],
    /gateway\.jetstream\.enabled needs gateway\.jetstream\.urls .*or bundledNats\.enabled=true/,
  ],
  [
    "JetStream and the local log at once",
    [...JETSTREAM, ...sets({ "gateway.durability.enabled": "true" })],
    /gateway\.jetstream\.enabled and gateway\.durability\.enabled exclude each other/,
  ],
  [
    "streams of more replicas than the bundled NATS has members",
    [...JETSTREAM, ...sets({ "gateway.jetstream.replicas": "5" })],
    /gateway\.jetstream\.replicas must be at most bundledNats\.replicas/,
  ],
  [
    "a NATS URL that is not nats:// or tls://",
    [
      ...REQUIRED,
      ...sets({ "gateway.jetstream.enabled": "true", "gateway.jetstream.urls[0]": "http://nats:4222" }),
    ],
    /at '\/gateway\/jetstream\/urls\/0': 'http:\/\/nats:4222' does not match pattern/,
  ],
  [
    "a VPN's share of the body budget smaller than one body",
    [...REQUIRED, ...sets({ "gateway.maxInflightBytesPerVpn": "1000" })],
    /gateway\.maxInflightBytesPerVpn must be at least gateway\.maxBodyBytes and at most gateway\.maxInflightBytes/,
  ],
  [
    "an egress entry with a comma (entries are joined by commas)",
    [...REQUIRED, "--set-json", 'gateway.egress.allow=["10.0.0.0/8,127.0.0.1"]'],
    /at '\/gateway\/egress\/allow\/0': '10.0.0.0\/8,127.0.0.1' does not match pattern/,
  ],
  [
    "an unknown egress key",
    [...REQUIRED, ...sets({ "gateway.egress.block": "x" })],
    /at '\/gateway\/egress': additional properties 'block' not allowed/,
  ],
  [
    "etcd endpoints and the bundled etcd",
    [...REQUIRED, ...sets({ "bundledEtcd.enabled": "true" })],
    /set either etcd\.endpoints or bundledEtcd\.enabled, not both/,
  ],
  [
    "both a ServiceMonitor and a PodMonitor",
    [
      ...REQUIRED,
      ...sets({ "monitoring.serviceMonitor.enabled": "true", "monitoring.podMonitor.enabled": "true" }),
    ],
    /enable monitoring\.serviceMonitor or monitoring\.podMonitor, not both/,
  ],
  [
    "a drain that does not end 5 s before the grace period",
    [...REQUIRED, ...sets({ "gateway.drainTimeout": "45s" })],
    /gateway\.drainTimeout \(45s\) must end at least 5s before gateway\.terminationGracePeriodSeconds \(30\)/,
  ],
  [
    "a drain in minutes and seconds past the grace period",
    [
      ...REQUIRED,
      ...sets({ "gateway.drainTimeout": "1m30s", "gateway.terminationGracePeriodSeconds": "90" }),
    ],
    /gateway\.drainTimeout \(1m30s\) must end at least 5s before/,
  ],
];

test("a drain that ends 5 s before the grace period is accepted; a PodMonitor alone renders", async () => {
  const ok = await helm([
    "template",
    "sb",
    CHART_DIR,
    ...REQUIRED,
    ...sets({ "gateway.drainTimeout": "1m25s", "gateway.terminationGracePeriodSeconds": "90" }),
  ]);
  assert.equal(ok.code, 0, ok.stderr);
  const pods = await render([...REQUIRED, ...sets({ "monitoring.podMonitor.enabled": "true" })]);
  assert.equal(pods.filter((m) => m.kind === "PodMonitor").length, 1);
});

for (const [what, args, message] of badValues) {
  test(`values are refused with a clear message: ${what}`, async () => {
    const out = await helm(["template", "sb", CHART_DIR, ...args]);
    assert.notEqual(out.code, 0, "helm template must fail");
    assert.match(out.stderr, message);
  });
}

const ALLOWED_VOLUMES = new Set([
  "configMap",
  "csi",
  "downwardAPI",
  "emptyDir",
  "ephemeral",
  "persistentVolumeClaim",
  "projected",
  "secret",
]);

for (const [label, manifests] of renders) {
  test(`every pod meets Pod Security "restricted" (${label})`, () => {
    const workloads = manifests.filter((m) => podSpec(m) !== undefined);
    assert.ok(workloads.length >= 2);
    for (const m of workloads) {
      const spec = podSpec(m) ?? {};
      const where = `${m.kind}/${m.name}`;
      for (const host of ["hostNetwork", "hostPID", "hostIPC"])
        assert.notEqual(get(spec, host), true, `${where}: ${host}`);
      assert.equal(get(spec, "securityContext", "runAsNonRoot"), true, where);
      assert.equal(get(spec, "securityContext", "seccompProfile", "type"), "RuntimeDefault", where);
      for (const volume of list(spec, "volumes")) {
        const types = Object.keys(isRecord(volume) ? volume : {}).filter((k) => k !== "name");
        assert.ok(
          types.every((t) => ALLOWED_VOLUMES.has(t)),
          `${where}: volume types ${types.join(",")}`,
        );
      }
      for (const c of containers(spec)) {
        const at = `${where} container ${String(c.name)}`;
        const sc = get(c, "securityContext");
        assert.equal(get(sc, "runAsNonRoot"), true, at);
        assert.equal(get(sc, "runAsUser"), 10001, at);
        assert.equal(get(sc, "allowPrivilegeEscalation"), false, at);
        assert.notEqual(get(sc, "privileged"), true, at);
        assert.deepEqual(get(sc, "capabilities"), { drop: ["ALL"] }, at);
        assert.equal(get(sc, "seccompProfile", "type"), "RuntimeDefault", at);
        assert.equal(get(sc, "readOnlyRootFilesystem"), true, at);
        assert.ok(!list(c, "ports").some((p) => get(p, "hostPort") !== undefined), `${at}: hostPort`);
      }
    }
  });
}

test("the Node programs get a writable /tmp on an emptyDir (the root filesystem is read-only)", () => {
  for (const suffix of ["-operator", "-gateway"]) {
    const spec = podSpec(find(defaults, "Deployment", suffix));
    const tmp = list(spec, "containers", 0, "volumeMounts").find((v) => get(v, "mountPath") === "/tmp");
    const volume = list(spec, "volumes").find((v) => get(v, "name") === get(tmp, "name"));
    assert.ok(isRecord(get(volume, "emptyDir")), suffix);
  }
});

const OPERATOR_CLUSTER_RULES = [
  {
    apiGroups: ["switchboard.dev"],
    resources: ["vpns", "functions", "subscriptions"],
    verbs: ["get", "list", "watch", "patch", "update"],
  },
  {
    apiGroups: ["switchboard.dev"],
    resources: ["vpns/status", "functions/status", "subscriptions/status"],
    verbs: ["get", "patch", "update"],
  },
  { apiGroups: [""], resources: ["namespaces", "services", "secrets"], verbs: ["get", "list", "watch"] },
  { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["get", "list", "watch"] },
  { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
  // Sealed records (on by default): the VPN key Secret in each member namespace.
  { apiGroups: [""], resources: ["secrets"], verbs: ["create"] },
  {
    apiGroups: [""],
    resources: ["secrets"],
    resourceNames: ["switchboard-vpn-key"],
    verbs: ["update", "delete"],
  },
];

test("RBAC: the operator's ClusterRole and leader-election Role are exactly least privilege", () => {
  assert.deepEqual(get(find(defaults, "ClusterRole", "-operator").doc, "rules"), OPERATOR_CLUSTER_RULES);
  const role = find(defaults, "Role", "-operator-leader-election");
  assert.equal(role.namespace, NAMESPACE);
  assert.deepEqual(get(role.doc, "rules"), [
    { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
    {
      apiGroups: ["coordination.k8s.io"],
      resources: ["leases"],
      resourceNames: ["switchboard-operator-east"],
      verbs: ["get", "update"],
    },
  ]);
  for (const kind of ["ClusterRoleBinding", "RoleBinding"]) {
    const binding = defaults.find((m) => m.kind === kind);
    assert.deepEqual(get(binding?.doc, "subjects"), [
      { kind: "ServiceAccount", name: "sb-switchboard-operator", namespace: NAMESPACE },
    ]);
  }
});

for (const [label, manifests] of renders) {
  test(`RBAC: no rule has "*" in apiGroups, resources or verbs (${label})`, () => {
    const roles = manifests.filter((m) => m.kind === "Role" || m.kind === "ClusterRole");
    assert.ok(roles.length > 0);
    for (const role of roles)
      for (const rule of list(role.doc, "rules"))
        for (const field of ["apiGroups", "resources", "verbs", "nonResourceURLs"])
          assert.ok(
            !list(rule, field).some((v) => String(v).includes("*")),
            `${role.kind}/${role.name} ${field}`,
          );
  });

  test(`the gateway ServiceAccount has no token and no bindings (${label})`, () => {
    const sa = find(manifests, "ServiceAccount", "-gateway");
    assert.equal(get(sa.doc, "automountServiceAccountToken"), false);
    const gw = manifests.find((m) => m.name.endsWith("-gateway") && podSpec(m));
    assert.equal(get(gw && podSpec(gw), "automountServiceAccountToken"), false);
    assert.equal(get(gw && podSpec(gw), "serviceAccountName"), sa.name);
    for (const binding of manifests.filter((m) => m.kind.endsWith("Binding")))
      assert.ok(!list(binding.doc, "subjects").some((s) => get(s, "name") === sa.name), binding.name);
  });

  test(`PodDisruptionBudgets select the operator and gateway pods (${label})`, () => {
    for (const suffix of ["-operator", "-gateway"]) {
      const pdb = find(manifests, "PodDisruptionBudget", suffix);
      const workload = manifests.find((m) => m.name.endsWith(suffix) && podSpec(m));
      assert.deepEqual(get(pdb.doc, "spec", "selector"), get(workload?.doc, "spec", "selector"));
    }
  });
}

test("all features: bundled etcd (trial image), NetworkPolicies, monitors, alerts and the dashboard", () => {
  const etcd = find(allFeatures, "StatefulSet", "-etcd");
  assert.match(String(get(podSpec(etcd), "containers", 0, "image")), /^quay\.io\/coreos\/etcd:v3\.6\.\d+$/);
  assert.equal(get(etcd.doc, "metadata", "annotations", "switchboard.dev/trial-only"), "true");
  const op = find(allFeatures, "Deployment", "-operator");
  assert.ok(argsOf(op, "operator").includes("--etcd=http://sb-switchboard-etcd.switchboard-system.svc:2379"));
  assert.deepEqual(
    allFeatures
      .filter((m) => m.kind === "NetworkPolicy")
      .map((m) => m.name)
      .sort(),
    ["sb-switchboard-etcd", "sb-switchboard-gateway", "sb-switchboard-operator"],
  );
  for (const kind of ["ServiceMonitor", "PrometheusRule"])
    assert.equal(allFeatures.filter((m) => m.kind === kind).length, 1, kind);
  const dashboard = find(allFeatures, "ConfigMap", "-dashboard");
  assert.equal(get(dashboard.doc, "metadata", "labels", "grafana_dashboard"), "1");
  const json: unknown = JSON.parse(String(get(dashboard.doc, "data", "switchboard.json")));
  assert.equal(get(json, "uid"), "switchboard");
});

test("the bundled etcd's StatefulSet is governed by a headless Service; clients use the ClusterIP one", () => {
  const etcd = find(allFeatures, "StatefulSet", "-etcd");
  const headless = find(allFeatures, "Service", "-etcd-headless");
  assert.equal(get(etcd.doc, "spec", "serviceName"), headless.name);
  assert.equal(get(headless.doc, "spec", "clusterIP"), "None");
  assert.equal(get(headless.doc, "spec", "publishNotReadyAddresses"), true);
  assert.deepEqual(get(headless.doc, "spec", "selector"), get(etcd.doc, "spec", "selector", "matchLabels"));
  const client = find(allFeatures, "Service", "-etcd");
  assert.notEqual(
    get(client.doc, "spec", "clusterIP"),
    "None",
    "the endpoint programs use stays a ClusterIP",
  );
});

test("the bundled etcd is only reachable from the operator and the gateways (shared and injected) when NetworkPolicies are on", () => {
  const policy = find(allFeatures, "NetworkPolicy", "-etcd");
  const from = list(policy.doc, "spec", "ingress", 0, "from");
  assert.deepEqual(
    from.slice(0, 2).map((peer) => get(peer, "podSelector", "matchLabels", "app.kubernetes.io/component")),
    ["operator", "gateway"],
  );
  assert.deepEqual(from[2], {
    namespaceSelector: {},
    podSelector: { matchLabels: { "switchboard.dev/sidecar": "injected" } },
  });
  assert.equal(from.length, 3);
});

const documentedMetrics = (): Set<string> => {
  const docs = ["operator.md", "gateway.md", "durability.md", "multi-cluster.md"]
    .map((f) => readFileSync(join(repoRoot, "docs", f), "utf8"))
    .join("\n");
  return new Set(docs.match(/switchboard_[a-z_]+/g));
};

/** Metric names in a PromQL text, with histogram suffixes mapped to the documented base name. */
const metricsIn = (promql: string): string[] =>
  [...new Set(promql.match(/switchboard_[a-z_]+/g))].map((m) => m.replace(/_(bucket|sum|count)$/, ""));

/** The GitHub-style anchors of the headings of a markdown file. */
const anchors = (file: string): Set<string> =>
  new Set(
    [...readFileSync(join(repoRoot, file), "utf8").matchAll(/^#+ (.+)$/gm)].map((m) =>
      (m[1] ?? "")
        .trim()
        .toLowerCase()
        .replace(/[^\w\- ]/g, "")
        .replace(/ /g, "-"),
    ),
  );

test("every alert has a runbook_url at an anchor of docs/troubleshooting.md that exists", () => {
  const rule = find(allFeatures, "PrometheusRule", "sb-switchboard");
  const rules = list(rule.doc, "spec", "groups").flatMap((g) => list(g, "rules"));
  const headings = anchors("docs/troubleshooting.md");
  assert.ok(rules.length >= 6);
  for (const r of rules) {
    const url = String(get(r, "annotations", "runbook_url"));
    const [base, anchor = ""] = url.split("#");
    assert.equal(base, "https://switchboard.dev/docs/troubleshooting.md", String(get(r, "alert")));
    assert.ok(
      headings.has(anchor),
      `${String(get(r, "alert"))}: no heading #${anchor} in docs/troubleshooting.md`,
    );
  }
});

test("alerts cover failed deliveries, dead letters, staleness, queue saturation, memory pressure and reconcile errors, with documented metrics", () => {
  const rule = find(allFeatures, "PrometheusRule", "sb-switchboard");
  const rules = list(rule.doc, "spec", "groups").flatMap((g) => list(g, "rules"));
  const expr = (alert: string): string =>
    String(
      get(
        rules.find((r) => get(r, "alert") === alert),
        "expr",
      ),
    );
  assert.match(
    expr("SwitchboardDeliveriesFailing"),
    /switchboard_gateway_deliveries_total\{outcome="failed",/,
  );
  assert.match(expr("SwitchboardDeadLetters"), /switchboard_gateway_dead_letters_total\{/);
  assert.match(
    expr("SwitchboardConfigStale"),
    /switchboard_gateway_config_staleness_seconds\{[^}]*\}\) > 60$/,
  );
  // 0.9 of gateway.queue.maxEvents (10000) in the all-features values.
  assert.match(expr("SwitchboardQueueSaturated"), /switchboard_gateway_queue_events\{[^}]*\}\) > 9000$/);
  assert.match(expr("SwitchboardReconcileErrors"), /switchboard_operator_reconciles_total\{result="error",/);
  assert.match(
    expr("SwitchboardGatewayMemoryPressure"),
    /switchboard_gateway_memory_pressure\{[^}]*\}\) > 0$/,
  );
  const documented = documentedMetrics();
  for (const r of rules)
    for (const metric of metricsIn(String(get(r, "expr"))))
      assert.ok(documented.has(metric), `${String(get(r, "alert"))}: ${metric} is not in docs/`);
});

test("the Grafana dashboard queries only documented metrics", () => {
  const dashboard = readFileSync(join(CHART_DIR, "files", "dashboard.json"), "utf8");
  const documented = documentedMetrics();
  const used = metricsIn(dashboard);
  assert.ok(used.length >= 10);
  for (const metric of used) assert.ok(documented.has(metric), `${metric} is not in docs/`);
});

const INJECTOR = [...REQUIRED, ...sets({ "injector.enabled": "true" })];
const withInjector = await render(INJECTOR);

/** The one webhook of the injector's MutatingWebhookConfiguration. */
const webhookOf = (manifests: readonly Manifest[]): unknown =>
  get(find(manifests, "MutatingWebhookConfiguration", "-injector").doc, "webhooks", 0);

test("injector: a MutatingWebhookConfiguration, its Service and certificate Secret; off by default", () => {
  assert.ok(!defaults.some((m) => m.name.includes("injector")), "nothing of the injector by default");
  const added = withInjector
    .map((m) => `${m.kind}/${m.name}`)
    .filter((k) => !defaults.some((m) => `${m.kind}/${m.name}` === k))
    .sort();
  assert.deepEqual(added, [
    "MutatingWebhookConfiguration/sb-switchboard-injector",
    "Secret/sb-switchboard-injector-tls",
    "Service/sb-switchboard-injector",
    "ValidatingWebhookConfiguration/sb-switchboard-injector",
  ]);
  const webhook = webhookOf(withInjector);
  assert.equal(get(webhook, "name"), "inject.switchboard.dev");
  assert.equal(get(webhook, "failurePolicy"), "Ignore");
  assert.equal(get(webhook, "sideEffects"), "None");
  assert.deepEqual(get(webhook, "admissionReviewVersions"), ["v1"]);
  assert.equal(get(webhook, "timeoutSeconds"), 5);
  assert.equal(get(webhook, "reinvocationPolicy"), "IfNeeded");
  assert.deepEqual(get(webhook, "rules"), [
    {
      operations: ["CREATE"],
      apiGroups: [""],
      apiVersions: ["v1"],
      resources: ["pods"],
      scope: "Namespaced",
    },
  ]);
  assert.deepEqual(get(webhook, "clientConfig", "service"), {
    name: "sb-switchboard-injector",
    namespace: NAMESPACE,
    path: "/inject",
    port: 443,
  });
  // Ignore: every namespace but the release's own and the system's, unless one opts out.
  assert.deepEqual(get(webhook, "namespaceSelector"), {
    matchExpressions: [
      {
        key: "kubernetes.io/metadata.name",
        operator: "NotIn",
        values: [NAMESPACE, "kube-system", "kube-node-lease"],
      },
      { key: "switchboard.dev/injection", operator: "NotIn", values: ["disabled"] },
    ],
  });
  assert.equal(get(webhook, "objectSelector"), undefined);
});

test("injector: failurePolicy Fail is scoped to namespaces labelled switchboard.dev/injection=enabled", async () => {
  for (const manifests of [
    await render([...INJECTOR, ...sets({ "injector.failurePolicy": "Fail" })]),
    allFeatures,
  ]) {
    const webhook = webhookOf(manifests);
    assert.equal(get(webhook, "failurePolicy"), "Fail");
    assert.deepEqual(get(webhook, "namespaceSelector", "matchLabels"), {
      "switchboard.dev/injection": "enabled",
    });
    assert.deepEqual(get(webhook, "namespaceSelector", "matchExpressions"), [
      { key: "kubernetes.io/metadata.name", operator: "NotIn", values: [NAMESPACE] },
    ]);
  }
  assert.deepEqual(get(webhookOf(allFeatures), "objectSelector"), {
    matchExpressions: [{ key: "switchboard.dev/inject-skip", operator: "DoesNotExist" }],
  });
  const custom = await render([
    ...INJECTOR,
    ...sets({ "injector.namespaceSelector.matchLabels.team": "shop" }),
  ]);
  assert.deepEqual(get(webhookOf(custom), "namespaceSelector"), { matchLabels: { team: "shop" } });
});

test("injector: VPN creates and updates go to /validate/vpn of the same Service, Ignore on failure, with the same CA; vpnClaims.enabled=false leaves it out", async () => {
  const webhook = get(find(withInjector, "ValidatingWebhookConfiguration", "-injector").doc, "webhooks", 0);
  assert.equal(get(webhook, "name"), "vpns.switchboard.dev");
  assert.equal(get(webhook, "failurePolicy"), "Ignore");
  assert.equal(get(webhook, "sideEffects"), "None");
  assert.deepEqual(get(webhook, "rules"), [
    {
      operations: ["CREATE", "UPDATE"],
      apiGroups: ["switchboard.dev"],
      apiVersions: ["*"],
      resources: ["vpns"],
      scope: "Cluster",
    },
  ]);
  assert.deepEqual(get(webhook, "clientConfig", "service"), {
    name: "sb-switchboard-injector",
    namespace: NAMESPACE,
    path: "/validate/vpn",
    port: 443,
  });
  assert.equal(
    get(webhook, "clientConfig", "caBundle"),
    get(webhookOf(withInjector), "clientConfig", "caBundle"),
    "one certificate serves both paths",
  );
  const fail = await render([...INJECTOR, ...sets({ "injector.vpnClaims.failurePolicy": "Fail" })]);
  assert.equal(
    get(find(fail, "ValidatingWebhookConfiguration", "-injector").doc, "webhooks", 0, "failurePolicy"),
    "Fail",
  );
  const off = await render([...INJECTOR, ...sets({ "injector.vpnClaims.enabled": "false" })]);
  const names = list(find(off, "ValidatingWebhookConfiguration", "-injector").doc, "webhooks").map((w) =>
    get(w, "name"),
  );
  assert.deepEqual(names, ["subscriptions.switchboard.dev"]);
});

test("injector: Subscription creates and updates go to /validate/subscription, Ignore on failure (the planner still reports)", () => {
  const webhook = get(find(withInjector, "ValidatingWebhookConfiguration", "-injector").doc, "webhooks", 1);
  assert.equal(get(webhook, "name"), "subscriptions.switchboard.dev");
  assert.equal(get(webhook, "failurePolicy"), "Ignore");
  assert.deepEqual(get(webhook, "rules"), [
    {
      operations: ["CREATE", "UPDATE"],
      apiGroups: ["switchboard.dev"],
      apiVersions: ["*"],
      resources: ["subscriptions"],
      scope: "Namespaced",
    },
  ]);
  assert.equal(get(webhook, "clientConfig", "service", "path"), "/validate/subscription");
});

test("injector: the caBundle is the CA that signed the Secret's certificate for the Service's DNS name", () => {
  const secret = find(withInjector, "Secret", "-injector-tls");
  const pem = (key: string): string =>
    Buffer.from(String(get(secret.doc, "data", key)), "base64").toString("utf8");
  const ca = new X509Certificate(pem("ca.crt"));
  const bundle = Buffer.from(
    String(get(webhookOf(withInjector), "clientConfig", "caBundle")),
    "base64",
  ).toString();
  assert.equal(new X509Certificate(bundle).fingerprint256, ca.fingerprint256);
  const cert = new X509Certificate(pem("tls.crt"));
  assert.ok(cert.verify(ca.publicKey), "signed by the CA");
  assert.equal(
    cert.checkHost("sb-switchboard-injector.switchboard-system.svc"),
    "sb-switchboard-injector.switchboard-system.svc",
  );
  assert.ok(cert.checkPrivateKey(createPrivateKey(pem("tls.key"))), "tls.key is its key");
  assert.ok(new Date(cert.validTo).getTime() > Date.now() + 3000 * 86_400_000, "valid for years");
});

test("injector: the operator serves the webhook on its port, with the mounted certificate and the injector flags", () => {
  const op = find(withInjector, "Deployment", "-operator");
  const container = get(podSpec(op), "containers", 0);
  assert.deepEqual(list(container, "ports")[1], { name: "webhook", containerPort: 9443, protocol: "TCP" });
  const svc = find(withInjector, "Service", "-injector");
  assert.deepEqual(get(svc.doc, "spec", "selector"), get(op.doc, "spec", "selector", "matchLabels"));
  assert.deepEqual(list(svc.doc, "spec", "ports"), [
    { name: "webhook", port: 443, targetPort: "webhook", protocol: "TCP" },
  ]);
  const mount = list(container, "volumeMounts").find((v) => get(v, "name") === "webhook-tls");
  assert.deepEqual(mount, { name: "webhook-tls", mountPath: "/etc/switchboard/webhook", readOnly: true });
  const volume = list(podSpec(op), "volumes").find((v) => get(v, "name") === "webhook-tls");
  assert.equal(get(volume, "secret", "secretName"), "sb-switchboard-injector-tls");
  // The rendered flags are ones the operator accepts, and mean what the chart says.
  const args = argsOf(op, "operator")
    .slice(1)
    .map((a) => a.replace("$(POD_NAMESPACE)", NAMESPACE).replace("$(POD_NAME)", "op-0"));
  const webhook = parseOperatorConfig(args, {}).webhook;
  assert.deepEqual(webhook, {
    host: "0.0.0.0",
    port: 9443,
    certFile: "/etc/switchboard/webhook/tls.crt",
    keyFile: "/etc/switchboard/webhook/tls.key",
    certReloadMs: 10_000,
    injector: {
      image: "switchboard:0.1.0",
      clusterName: "east",
      etcd: ["https://registry.example:2379"],
      etcdSecret: undefined,
      vpnKeys: true,
      egressDeny: ["*:9090", "*:9580"],
      port: 3580,
      metricsPort: 9580,
      cpu: "50m",
      memory: "192Mi",
    },
  });
});

test("egress: gateways and the operator get the same rules; the release's admin ports are refused on any address by default", async () => {
  const egressArgs = (manifests: Manifest[]) =>
    [
      argsOf(find(manifests, "Deployment", "-gateway"), "gateway"),
      argsOf(find(manifests, "Deployment", "-operator"), "operator"),
    ].map((args) => args.filter((a) => a.startsWith("--egress-")));
  for (const args of egressArgs(defaults)) assert.deepEqual(args, ["--egress-deny=*:9090"]);
  const custom = await render([
    "-f",
    ALL_FEATURES,
    "--set-json",
    'gateway.egress.allow=["10.20.0.0/16","*.svc.cluster.local:8080"]',
    "--set-json",
    'gateway.egress.deny=["172.18.0.2:6443"]',
  ]);
  const sts = find(custom, "StatefulSet", "-gateway");
  const op = find(custom, "Deployment", "-operator");
  const expected = [
    "--egress-allow=10.20.0.0/16,*.svc.cluster.local:8080",
    "--egress-deny=*:9090,*:9600,*:2379,172.18.0.2:6443",
  ];
  assert.deepEqual(
    argsOf(sts, "gateway").filter((a) => a.startsWith("--egress-")),
    expected,
  );
  assert.deepEqual(
    argsOf(op, "operator").filter((a) => a.startsWith("--egress-")),
    expected,
  );
  // The rendered flags are ones the programs accept.
  const config = parseGatewayConfig(
    argsOf(sts, "gateway")
      .slice(GATEWAY_NODE_FLAGS.length + 1)
      .map((a) => a.replace("$(POD_NAME)", "gw-0")),
    {
      KUBERNETES_SERVICE_HOST: "10.96.0.1",
      KUBERNETES_SERVICE_PORT: "443",
    },
  );
  assert.deepEqual(
    config.egressAllow.map((e) => e.text),
    ["10.20.0.0/16", "*.svc.cluster.local:8080"],
  );
  assert.deepEqual(config.apiServer, { host: "10.96.0.1", port: 443 });
  const opConfig = parseOperatorConfig(
    argsOf(op, "operator")
      .slice(1)
      .map((a) => a.replace("$(POD_NAMESPACE)", NAMESPACE).replace("$(POD_NAME)", "op-0")),
    {},
  );
  assert.deepEqual(opConfig.webhook?.injector.egressDeny, ["*:9090", "*:9600", "*:2379", "172.18.0.2:6443"]);
  const off = await render([...REQUIRED, ...sets({ "gateway.egress.denyReleasePorts": "false" })]);
  for (const args of egressArgs(off)) assert.deepEqual(args, []);
});

test("injector: sidecars use the gateways' etcd Secret name unless injector.sidecar.etcdSecret names another", async () => {
  const secretArg = async (values: Record<string, string>): Promise<string | undefined> =>
    argsOf(find(await render([...INJECTOR, ...sets(values)]), "Deployment", "-operator"), "operator").find(
      (a) => a.startsWith("--injector-etcd-secret="),
    );
  assert.equal(await secretArg({ "etcd.gatewaySecret": "gw-tls" }), "--injector-etcd-secret=gw-tls");
  assert.equal(
    await secretArg({ "etcd.gatewaySecret": "gw-tls", "injector.sidecar.etcdSecret": "app-etcd" }),
    "--injector-etcd-secret=app-etcd",
  );
});

test("injector: with NetworkPolicies, the API server may call the operator's webhook port", () => {
  const policy = find(allFeatures, "NetworkPolicy", "-operator");
  assert.deepEqual(list(policy.doc, "spec", "ingress").at(-1), {
    ports: [{ port: "webhook", protocol: "TCP" }],
  });
});

test("gateway.autoscaling: a HorizontalPodAutoscaler on CPU (and the queue with an adapter) owns the replica count", async () => {
  assert.ok(!defaults.some((m) => m.kind === "HorizontalPodAutoscaler"), "off by default");
  const on = await render([
    ...REQUIRED,
    ...sets({ "gateway.autoscaling.enabled": "true", "gateway.autoscaling.targetQueueEvents": "500" }),
  ]);
  const hpa = find(on, "HorizontalPodAutoscaler", "-gateway");
  assert.deepEqual(get(hpa.doc, "spec", "scaleTargetRef"), {
    apiVersion: "apps/v1",
    kind: "Deployment",
    name: "sb-switchboard-gateway",
  });
  assert.equal(get(hpa.doc, "spec", "minReplicas"), 2);
  assert.equal(get(hpa.doc, "spec", "maxReplicas"), 10);
  assert.deepEqual(list(hpa.doc, "spec", "metrics"), [
    { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } } },
    {
      type: "Pods",
      pods: {
        metric: { name: "switchboard_gateway_queue_events" },
        target: { type: "AverageValue", averageValue: "500" },
      },
    },
  ]);
  assert.equal(get(find(on, "Deployment", "-gateway").doc, "spec", "replicas"), undefined, "the HPA owns it");
  const bad = await helm([
    "template",
    "sb",
    CHART_DIR,
    ...REQUIRED,
    ...sets({
      "gateway.autoscaling.enabled": "true",
      "gateway.autoscaling.minReplicas": "5",
      "gateway.autoscaling.maxReplicas": "3",
    }),
  ]);
  assert.match(bad.stderr, /minReplicas must not exceed gateway\.autoscaling\.maxReplicas/);
});
