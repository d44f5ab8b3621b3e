import assert from "node:assert/strict";
import { test } from "node:test";
import type { V1Container, V1Volume } from "@kubernetes/client-node";
import { GATEWAY_NODE_FLAGS, PROGRAMS } from "../../scripts/image/spec.ts";
import { quantityValue, sidecarOptions } from "./options.ts";
import {
  CONTAINER_NAME,
  type InjectionPlan,
  type InjectorSettings,
  type JsonPatchAdd,
  type PodView,
  planInjection,
  pointerEscape,
} from "./plan.ts";

const settings: InjectorSettings = {
  image: "registry.example/switchboard:0.1.0",
  clusterName: "east",
  etcd: ["https://etcd-a:2379", "https://etcd-b:2379"],
  etcdSecret: "switchboard-gateway-etcd",
  vpnKeys: false,
  port: 3580,
  metricsPort: 9580,
  cpu: "50m",
  memory: "192Mi",
};

const pod = (annotations: Record<string, string>, over: Partial<PodView> = {}): PodView => ({
  annotations,
  hasLabels: true,
  containers: [{ name: "app", ports: [{ containerPort: 8080, name: "http" }] }],
  initContainers: [],
  volumeNames: ["config"],
  hostNetwork: false,
  terminationGracePeriodSeconds: undefined,
  ...over,
});

const INJECT = { "switchboard.dev/inject": "true" };

const injected = (plan: InjectionPlan): readonly JsonPatchAdd[] => {
  assert.equal(plan.action, "inject", JSON.stringify(plan));
  return plan.action === "inject" ? plan.patch : [];
};

const containerOf = (patch: readonly JsonPatchAdd[]): V1Container => {
  const op = patch.find((p) => p.path === "/spec/containers/-");
  assert.ok(op, "the patch adds a container");
  return op.value as V1Container;
};

const volumesOf = (patch: readonly JsonPatchAdd[]): V1Volume[] =>
  patch.flatMap((p) =>
    p.path === "/spec/volumes/-"
      ? [p.value as V1Volume]
      : p.path === "/spec/volumes"
        ? (p.value as V1Volume[])
        : [],
  );

const denial = (plan: InjectionPlan): string => {
  assert.equal(plan.action, "deny", JSON.stringify(plan));
  return plan.action === "deny" ? plan.message : "";
};

test('pods without the annotation, or with "false", are skipped', () => {
  assert.equal(planInjection(pod({}), settings).action, "skip");
  assert.equal(planInjection(pod({ "switchboard.dev/inject": "false" }), settings).action, "skip");
  // Settings without the inject annotation are not even checked.
  assert.equal(planInjection(pod({ "switchboard.dev/port": "abc" }), settings).action, "skip");
});

test("an annotated pod gets the gateway container: image, args, env, ports, probes, resources", () => {
  const c = containerOf(injected(planInjection(pod(INJECT), settings)));
  assert.equal(c.name, CONTAINER_NAME);
  assert.equal(c.image, settings.image);
  assert.deepEqual(c.args, [
    ...GATEWAY_NODE_FLAGS,
    PROGRAMS.gateway.path,
    "--listen=127.0.0.1:3580",
    "--cluster-name=east",
    "--namespace=$(SWITCHBOARD_NAMESPACE)",
    "--etcd=https://etcd-a:2379,https://etcd-b:2379",
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
  ]);
  assert.deepEqual(c.env?.[0], {
    name: "SWITCHBOARD_NAMESPACE",
    valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } },
  });
  assert.deepEqual(c.ports, [
    { name: "sb-http", containerPort: 3580, protocol: "TCP" },
    { name: "sb-metrics", containerPort: 9580, protocol: "TCP" },
  ]);
  assert.deepEqual(c.readinessProbe?.httpGet, { path: "/readyz", port: 9580 });
  assert.deepEqual(c.livenessProbe?.httpGet, { path: "/healthz", port: 9580 });
  assert.deepEqual(c.resources, { requests: { cpu: "50m", memory: "192Mi" }, limits: { memory: "192Mi" } });
  assert.deepEqual(c.volumeMounts, [
    { name: "switchboard-tmp", mountPath: "/tmp" },
    { name: "switchboard-etcd-tls", mountPath: "/etc/switchboard/etcd", readOnly: true },
  ]);
});

test("the container meets Pod Security restricted with a read-only root", () => {
  const c = containerOf(injected(planInjection(pod(INJECT), settings)));
  assert.deepEqual(c.securityContext, {
    runAsNonRoot: true,
    runAsUser: 10001,
    runAsGroup: 10001,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    privileged: false,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  });
});

test("volumes are appended to existing ones, or created; the pod is labelled", () => {
  const patch = injected(planInjection(pod(INJECT), settings));
  assert.deepEqual(
    patch.map((p) => p.path),
    ["/spec/containers/-", "/spec/volumes/-", "/spec/volumes/-", "/metadata/labels/switchboard.dev~1sidecar"],
  );
  assert.deepEqual(volumesOf(patch), [
    { name: "switchboard-tmp", emptyDir: { sizeLimit: "64Mi" } },
    {
      name: "switchboard-etcd-tls",
      secret: {
        secretName: "switchboard-gateway-etcd",
        defaultMode: 0o444,
        items: [
          { key: "ca.crt", path: "ca.crt" },
          { key: "tls.crt", path: "tls.crt" },
          { key: "tls.key", path: "tls.key" },
        ],
      },
    },
  ]);
  const bare = injected(
    planInjection(pod(INJECT, { volumeNames: undefined, hasLabels: false }), {
      ...settings,
      etcdSecret: undefined,
    }),
  );
  assert.deepEqual(bare.slice(1), [
    {
      op: "add",
      path: "/spec/volumes",
      value: [{ name: "switchboard-tmp", emptyDir: { sizeLimit: "64Mi" } }],
    },
    { op: "add", path: "/metadata/labels", value: { "switchboard.dev/sidecar": "injected" } },
  ]);
  assert.ok(!containerOf(bare).args?.some((a) => a.startsWith("--etcd-ca")), "no etcd TLS without a Secret");
});

test("idempotent: a pod that already has the container (or an init container of that name) is skipped", () => {
  const already = pod(INJECT, {
    containers: [
      { name: "app", ports: [] },
      { name: CONTAINER_NAME, ports: [] },
    ],
  });
  assert.deepEqual(planInjection(already, settings), {
    action: "skip",
    reason: "already has a switchboard-gateway container",
  });
  const native = pod(INJECT, { initContainers: [{ name: CONTAINER_NAME, ports: [] }] });
  assert.equal(planInjection(native, settings).action, "skip");
});

test("annotations override the port, metrics port, resources, log level; durability adds an emptyDir and --data-dir", () => {
  const patch = injected(
    planInjection(
      pod({
        ...INJECT,
        "switchboard.dev/port": "4000",
        "switchboard.dev/metrics-port": "4001",
        "switchboard.dev/cpu": "0.5",
        "switchboard.dev/memory": "1Gi",
        "switchboard.dev/durability": "fsync",
        "switchboard.dev/log-level": "debug",
      }),
      settings,
    ),
  );
  const c = containerOf(patch);
  for (const arg of [
    "--listen=127.0.0.1:4000",
    "--metrics-addr=0.0.0.0:4001",
    `--queue-max-bytes=${2 ** 30 / 4}`,
    `--max-inflight-bytes=${2 ** 30 / 4}`,
    "--log-level=debug",
    "--data-dir=/var/lib/switchboard/data",
    "--durability=fsync",
    `--data-max-bytes=${256 * 2 ** 20}`,
  ])
    assert.ok(c.args?.includes(arg), `${arg} in ${c.args?.join(" ")}`);
  assert.deepEqual(c.resources, { requests: { cpu: "0.5", memory: "1Gi" }, limits: { memory: "1Gi" } });
  assert.deepEqual(c.readinessProbe?.httpGet, { path: "/readyz", port: 4001 });
  assert.deepEqual(c.volumeMounts?.at(-1), { name: "switchboard-data", mountPath: "/var/lib/switchboard" });
  assert.deepEqual(volumesOf(patch).at(-1), { name: "switchboard-data", emptyDir: { sizeLimit: "512Mi" } });
});

test("the drain timeout fits the pod's termination grace period", () => {
  const drain = (grace: number | undefined) =>
    containerOf(
      injected(planInjection(pod(INJECT, { terminationGracePeriodSeconds: grace }), settings)),
    ).args?.find((a) => a.startsWith("--drain-timeout="));
  assert.equal(drain(undefined), "--drain-timeout=25s");
  assert.equal(drain(120), "--drain-timeout=25s");
  assert.equal(drain(10), "--drain-timeout=5s");
  assert.equal(drain(0), "--drain-timeout=1s");
});

test("invalid annotation values deny the pod with a message naming each", () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ "switchboard.dev/inject": "yes" }, /switchboard\.dev\/inject: "yes" must be "true" or "false"/],
    [
      { ...INJECT, "switchboard.dev/port": "abc" },
      /switchboard\.dev\/port: "abc" is not a port number from 1 to 65535/,
    ],
    [{ ...INJECT, "switchboard.dev/port": "70000" }, /switchboard\.dev\/port: "70000" is not a port number/],
    [
      { ...INJECT, "switchboard.dev/metrics-port": "0" },
      /switchboard\.dev\/metrics-port: "0" is not a port number/,
    ],
    [{ ...INJECT, "switchboard.dev/port": "9580" }, /switchboard\.dev\/port: 9580 is also the metrics port/],
    [
      { ...INJECT, "switchboard.dev/cpu": "lots" },
      /switchboard\.dev\/cpu: "lots" is not a positive CPU quantity/,
    ],
    [{ ...INJECT, "switchboard.dev/cpu": "0" }, /switchboard\.dev\/cpu: "0" is not a positive CPU quantity/],
    [
      { ...INJECT, "switchboard.dev/memory": "128MB" },
      /switchboard\.dev\/memory: "128MB" is not a memory quantity/,
    ],
    [
      { ...INJECT, "switchboard.dev/memory": "32Mi" },
      /switchboard\.dev\/memory: "32Mi" is below the gateway's minimum of 64Mi/,
    ],
    [
      { ...INJECT, "switchboard.dev/durability": "yes" },
      /switchboard\.dev\/durability: "yes" must be "fsync" or "none"/,
    ],
    [{ ...INJECT, "switchboard.dev/log-level": "loud" }, /switchboard\.dev\/log-level: "loud" must be debug/],
  ];
  for (const [annotations, message] of cases) {
    const text = denial(planInjection(pod(annotations), settings));
    assert.match(text, /^switchboard sidecar injection refused: /);
    assert.match(text, message);
  }
  const both = denial(
    planInjection(pod({ ...INJECT, "switchboard.dev/port": "abc", "switchboard.dev/cpu": "x" }), settings),
  );
  assert.match(both, /port: "abc".*; switchboard\.dev\/cpu: "x"/, "every problem in one message");
});

test("conflicts with the pod deny it: a port already taken, hostNetwork, a volume name in use", () => {
  assert.match(
    denial(planInjection(pod({ ...INJECT, "switchboard.dev/port": "8080" }), settings)),
    /port 8080 is a containerPort of container app; choose another with switchboard\.dev\/port/,
  );
  assert.match(
    denial(planInjection(pod(INJECT, { hostNetwork: true }), settings)),
    /the pod uses hostNetwork/,
  );
  assert.match(
    denial(planInjection(pod(INJECT, { volumeNames: ["switchboard-tmp"] }), settings)),
    /already has a volume named switchboard-tmp/,
  );
});

test("unknown switchboard.dev/ annotations are warnings, not refusals", () => {
  const plan = planInjection(
    pod({ ...INJECT, "switchboard.dev/prot": "4000", "example.com/x": "1" }),
    settings,
  );
  assert.equal(plan.action, "inject");
  assert.deepEqual(plan.action === "inject" ? plan.warnings : [], [
    "unknown annotation switchboard.dev/prot ignored by the Switchboard sidecar injector",
  ]);
});

test("quantities and options", () => {
  assert.equal(quantityValue("250m"), 0.25);
  assert.equal(quantityValue("128Mi"), 128 * 2 ** 20);
  assert.equal(quantityValue("1G"), 1e9);
  assert.equal(quantityValue("1e3"), 1000);
  assert.equal(quantityValue("1.5Gi"), 1.5 * 2 ** 30);
  for (const bad of ["", "Mi", "1mi", "-1", "1 Gi", "1MB"]) assert.equal(quantityValue(bad), undefined, bad);
  const defaults = { port: 3580, metricsPort: 9580, cpu: "50m", memory: "192Mi" };
  assert.deepEqual(sidecarOptions({}, defaults), {
    options: {
      port: 3580,
      metricsPort: 9580,
      cpu: "50m",
      memory: "192Mi",
      memoryBytes: 192 * 2 ** 20,
      durability: undefined,
      logLevel: "info",
    },
  });
  assert.equal(pointerEscape("a/b~c"), "a~1b~0c");
});

test("with sealed registry records the sidecar mounts its namespace's VPN key and reads that VPN only", () => {
  const patch = injected(planInjection(pod(INJECT), { ...settings, vpnKeys: true }));
  assert.deepEqual(volumesOf(patch).at(-1), {
    name: "switchboard-vpn-key",
    secret: {
      secretName: "switchboard-vpn-key",
      defaultMode: 0o444,
      items: [{ key: "vpn-key.json", path: "vpn-key.json" }],
    },
  });
  const container = containerOf(patch);
  assert.ok(container.args?.includes("--vpn-key-file=/etc/switchboard/vpn-key/vpn-key.json"));
  assert.deepEqual(container.volumeMounts?.at(-1), {
    name: "switchboard-vpn-key",
    mountPath: "/etc/switchboard/vpn-key",
    readOnly: true,
  });
  const plain = containerOf(injected(planInjection(pod(INJECT), settings)));
  assert.ok(!plain.args?.some((a) => a.startsWith("--vpn-key-file")));
});
