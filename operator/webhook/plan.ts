// Sidecar injection planned without I/O: from a pod (as the API server sends it for admission) and
// the operator's injector settings to a JSONPatch that adds the gateway container, its volumes and
// a label, or to a refusal. Idempotent: a pod that already has the container is left alone.
import type { V1Container, V1Volume } from "@kubernetes/client-node";
import { VPN_KEY_FILE, VPN_KEY_SECRET } from "../../registry/seal/files.ts";
import {
  injectRequested,
  type SidecarDefaults,
  type SidecarOptions,
  sidecarOptions,
  unknownAnnotations,
} from "./options.ts";

export const CONTAINER_NAME = "switchboard-gateway";
/** Label set on injected pods (NetworkPolicies can select them, e.g. to reach the bundled etcd). */
export const SIDECAR_LABEL = "switchboard.dev/sidecar";
export const VOLUMES = {
  tmp: "switchboard-tmp",
  etcdTls: "switchboard-etcd-tls",
  data: "switchboard-data",
  vpnKey: "switchboard-vpn-key",
} as const;
export const ETCD_TLS_DIR = "/etc/switchboard/etcd";
export const VPN_KEY_DIR = "/etc/switchboard/vpn-key";
export const DATA_MOUNT = "/var/lib/switchboard";
/** The durable log's bound; the emptyDir's sizeLimit is twice that. */
export const DATA_MAX_BYTES = 256 * 1024 * 1024;
const UID = 10001;

/** What the operator decides for every injected gateway (flags --injector-*). */
export interface InjectorSettings extends SidecarDefaults {
  readonly image: string;
  readonly clusterName: string;
  readonly etcd: readonly string[];
  /** A Secret in the pod's namespace with ca.crt, tls.crt and tls.key; undefined: no etcd TLS. */
  readonly etcdSecret: string | undefined;
  /**
   * Registry records are sealed: mount the VPN key Secret the operator keeps in the pod's
   * namespace, so the sidecar reads its own VPN's records and no other's.
   */
  readonly vpnKeys: boolean;
  /** The cluster-wide egress entries every gateway gets (the operator's own --egress-allow/--egress-deny). */
  readonly egressAllow?: readonly string[];
  readonly egressDeny?: readonly string[];
}

/** The parts of a Pod the planner reads (validated at the admission edge). */
export interface PodView {
  readonly annotations: Readonly<Record<string, string>>;
  readonly hasLabels: boolean;
  readonly containers: readonly ContainerView[];
  readonly initContainers: readonly ContainerView[];
  /** undefined when the pod has no `volumes` field. */
  readonly volumeNames: readonly string[] | undefined;
  readonly hostNetwork: boolean;
  readonly terminationGracePeriodSeconds: number | undefined;
}

export interface ContainerView {
  readonly name: string;
  readonly ports: readonly { readonly containerPort: number; readonly name?: string | undefined }[];
}

export interface JsonPatchAdd {
  readonly op: "add";
  readonly path: string;
  readonly value: unknown;
}

export type InjectionPlan =
  | { readonly action: "skip"; readonly reason: string }
  | { readonly action: "deny"; readonly message: string }
  | {
      readonly action: "inject";
      readonly patch: readonly JsonPatchAdd[];
      readonly warnings: readonly string[];
    };

/** Decides what to do with a pod: skip (allow unchanged), deny (with the message), or inject (the patch). */
export const planInjection = (pod: PodView, settings: InjectorSettings): InjectionPlan => {
  const wanted = injectRequested(pod.annotations);
  if (wanted === "no") return { action: "skip", reason: 'not annotated switchboard.dev/inject: "true"' };
  if (typeof wanted === "object") return deny([wanted.invalid]);
  if ([...pod.containers, ...pod.initContainers].some((c) => c.name === CONTAINER_NAME))
    return { action: "skip", reason: `already has a ${CONTAINER_NAME} container` };
  const parsed = sidecarOptions(pod.annotations, settings);
  if ("problems" in parsed) return deny(parsed.problems);
  const options = parsed.options;
  const conflicts = conflictsWith(pod, options);
  if (conflicts.length > 0) return deny(conflicts);
  const volumes = sidecarVolumes(options, settings);
  const patch: JsonPatchAdd[] = [
    { op: "add", path: "/spec/containers/-", value: sidecarContainer(options, settings, pod) },
    ...(pod.volumeNames === undefined
      ? [{ op: "add" as const, path: "/spec/volumes", value: volumes }]
      : volumes.map((value) => ({ op: "add" as const, path: "/spec/volumes/-", value }))),
    pod.hasLabels
      ? { op: "add", path: `/metadata/labels/${pointerEscape(SIDECAR_LABEL)}`, value: "injected" }
      : { op: "add", path: "/metadata/labels", value: { [SIDECAR_LABEL]: "injected" } },
  ];
  const warnings = unknownAnnotations(pod.annotations).map(
    (a) => `unknown annotation ${a} ignored by the Switchboard sidecar injector`,
  );
  return { action: "inject", patch, warnings };
};

const deny = (problems: readonly string[]): InjectionPlan => ({
  action: "deny",
  message: `switchboard sidecar injection refused: ${problems.join("; ")}`,
});

/** A JSON Pointer token for `key` (RFC 6901: ~ → ~0, / → ~1). */
export const pointerEscape = (key: string): string => key.replaceAll("~", "~0").replaceAll("/", "~1");

const conflictsWith = (pod: PodView, o: SidecarOptions): string[] => {
  const problems: string[] = [];
  if (pod.hostNetwork)
    problems.push(
      "the pod uses hostNetwork: the gateway's ports would be the node's; run a shared gateway instead",
    );
  for (const c of [...pod.containers, ...pod.initContainers])
    for (const p of c.ports) {
      if (p.containerPort === o.port)
        problems.push(
          `port ${o.port} is a containerPort of container ${c.name}; choose another with switchboard.dev/port`,
        );
      if (p.containerPort === o.metricsPort)
        problems.push(
          `port ${o.metricsPort} is a containerPort of container ${c.name}; choose another with switchboard.dev/metrics-port`,
        );
      if (p.name === "sb-http" || p.name === "sb-metrics")
        problems.push(`container ${c.name} already names a port ${p.name}, which the gateway uses`);
    }
  const taken = new Set(pod.volumeNames ?? []);
  for (const name of Object.values(VOLUMES))
    if (taken.has(name)) problems.push(`the pod already has a volume named ${name}, which the gateway uses`);
  return problems;
};

const sidecarVolumes = (o: SidecarOptions, s: InjectorSettings): V1Volume[] => [
  { name: VOLUMES.tmp, emptyDir: { sizeLimit: "64Mi" } },
  ...(s.etcdSecret === undefined
    ? []
    : [
        {
          name: VOLUMES.etcdTls,
          // World-readable inside the pod: the app's containers do not mount it, and the pod may run with any fsGroup.
          secret: {
            secretName: s.etcdSecret,
            defaultMode: 0o444,
            items: ["ca.crt", "tls.crt", "tls.key"].map((key) => ({ key, path: key })),
          },
        },
      ]),
  ...(o.durability === undefined
    ? []
    : [{ name: VOLUMES.data, emptyDir: { sizeLimit: `${(2 * DATA_MAX_BYTES) / 2 ** 20}Mi` } }]),
  // Not optional: until the operator has written it (the namespace joins a VPN), the pod waits.
  ...(s.vpnKeys
    ? [
        {
          name: VOLUMES.vpnKey,
          secret: {
            secretName: VPN_KEY_SECRET,
            defaultMode: 0o444,
            items: [{ key: VPN_KEY_FILE, path: VPN_KEY_FILE }],
          },
        },
      ]
    : []),
];

/** The drain timeout that fits the pod's termination grace period (default 30 s), leaving 5 s to exit. */
const drainSeconds = (grace: number | undefined): number => Math.max(1, Math.min(25, (grace ?? 30) - 5));

const sidecarArgs = (o: SidecarOptions, s: InjectorSettings, pod: PodView): string[] => [
  // Node flags of the gateway's (scripts/image/spec.ts GATEWAY_NODE_FLAGS says why), then its path.
  "--single-threaded-gc",
  "--expose-gc",
  "dist/sidecar/main.js",
  `--listen=127.0.0.1:${o.port}`,
  `--cluster-name=${s.clusterName}`,
  "--namespace=$(SWITCHBOARD_NAMESPACE)",
  `--etcd=${s.etcd.join(",")}`,
  ...(s.etcdSecret === undefined
    ? []
    : [
        `--etcd-ca=${ETCD_TLS_DIR}/ca.crt`,
        `--etcd-cert=${ETCD_TLS_DIR}/tls.crt`,
        `--etcd-key=${ETCD_TLS_DIR}/tls.key`,
      ]),
  ...(s.vpnKeys ? [`--vpn-key-file=${VPN_KEY_DIR}/${VPN_KEY_FILE}`] : []),
  // The pod IP, where the kubelet probes and Prometheus scrape; /explain there answers only a
  // publisher credential (loopback counts as the pod's namespace): docs/injection.md.
  `--metrics-addr=0.0.0.0:${o.metricsPort}`,
  // The in-memory queue gets a quarter of the container's memory, so a full queue cannot OOM it;
  // request bodies in progress another quarter, all of it for one VPN (the pod's publishers).
  `--queue-max-bytes=${Math.floor(o.memoryBytes / 4)}`,
  `--max-inflight-bytes=${Math.floor(o.memoryBytes / 4)}`,
  `--max-inflight-bytes-per-vpn=${Math.floor(o.memoryBytes / 4)}`,
  `--drain-timeout=${drainSeconds(pod.terminationGracePeriodSeconds)}s`,
  // No presence record: the etcd credential a sidecar holds sits in the tenant's namespace, where
  // any pod can mount it, so it must stay read-only (a writable one could fill etcd). Injected
  // sidecars are not counted in Propagated; shared gateways, with a credential of their own, are.
  "--presence-ttl=0s",
  `--log-level=${o.logLevel}`,
  ...(s.egressAllow?.length ? [`--egress-allow=${s.egressAllow.join(",")}`] : []),
  ...(s.egressDeny?.length ? [`--egress-deny=${s.egressDeny.join(",")}`] : []),
  ...(o.durability === undefined
    ? []
    : [
        `--data-dir=${DATA_MOUNT}/data`,
        `--durability=${o.durability}`,
        `--data-max-bytes=${DATA_MAX_BYTES}`,
      ]),
];

const sidecarContainer = (o: SidecarOptions, s: InjectorSettings, pod: PodView): V1Container => ({
  name: CONTAINER_NAME,
  image: s.image,
  args: sidecarArgs(o, s, pod),
  env: [{ name: "SWITCHBOARD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } }],
  ports: [
    { name: "sb-http", containerPort: o.port, protocol: "TCP" },
    { name: "sb-metrics", containerPort: o.metricsPort, protocol: "TCP" },
  ],
  resources: { requests: { cpu: o.cpu, memory: o.memory }, limits: { memory: o.memory } },
  // Ready once the first registry snapshot is loaded; not ready while draining.
  readinessProbe: {
    httpGet: { path: "/readyz", port: o.metricsPort },
    periodSeconds: 5,
    timeoutSeconds: 3,
    failureThreshold: 2,
  },
  livenessProbe: {
    httpGet: { path: "/healthz", port: o.metricsPort },
    periodSeconds: 10,
    timeoutSeconds: 3,
    failureThreshold: 3,
  },
  startupProbe: {
    httpGet: { path: "/healthz", port: o.metricsPort },
    periodSeconds: 2,
    failureThreshold: 30,
  },
  securityContext: {
    runAsNonRoot: true,
    runAsUser: UID,
    runAsGroup: UID,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    privileged: false,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  },
  volumeMounts: [
    { name: VOLUMES.tmp, mountPath: "/tmp" },
    ...(s.etcdSecret === undefined
      ? []
      : [{ name: VOLUMES.etcdTls, mountPath: ETCD_TLS_DIR, readOnly: true }]),
    ...(o.durability === undefined ? [] : [{ name: VOLUMES.data, mountPath: DATA_MOUNT }]),
    ...(s.vpnKeys ? [{ name: VOLUMES.vpnKey, mountPath: VPN_KEY_DIR, readOnly: true }] : []),
  ],
  terminationMessagePolicy: "FallbackToLogsOnError",
});
