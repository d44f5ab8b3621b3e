// The cluster objects a node needs that a real cluster's installer creates: RBAC for the node's
// programs, the `kube-dns` Service, and EndpointSlices for the two Services served from the host
// (the API server behind the `kubernetes` Service, CoreDNS behind `kube-dns`). Both Services have
// no selector, so no controller touches these slices; kube-proxy follows them.
import { stringify } from "yaml";
import { COREDNS_USER } from "./components.ts";

export interface HostServices {
  readonly nodeIp: string;
  /** The port the API server is reachable on at the node IP. */
  readonly apiserverPort: number;
  readonly dnsIp: string;
}

const rbac = [
  {
    // The built-in system:node binding has no subjects (the Node authorizer is off here).
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: "switchboard:nodes" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:node" },
    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "system:nodes" }],
  },
  {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: "system:coredns" },
    rules: [
      {
        apiGroups: [""],
        resources: ["endpoints", "services", "pods", "namespaces"],
        verbs: ["list", "watch"],
      },
      { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
    ],
  },
  {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: "system:coredns" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:coredns" },
    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: COREDNS_USER }],
  },
];

const hostEndpoints = (namespace: string, service: string, ip: string, ports: readonly object[]) => ({
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  metadata: {
    namespace,
    name: `${service}-host`,
    labels: {
      "kubernetes.io/service-name": service,
      "endpointslice.kubernetes.io/managed-by": "local-node.switchboard.dev",
    },
  },
  addressType: "IPv4",
  endpoints: [{ addresses: [ip], conditions: { ready: true } }],
  ports,
});

/** The manifest (a YAML stream for `kubectl apply`) of everything above. */
export const nodeObjects = ({ nodeIp, apiserverPort, dnsIp }: HostServices): string => {
  const dnsPorts = [
    { name: "dns", port: 53, protocol: "UDP" },
    { name: "dns-tcp", port: 53, protocol: "TCP" },
  ];
  const docs = [
    ...rbac,
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { namespace: "kube-system", name: "kube-dns", labels: { "k8s-app": "kube-dns" } },
      spec: { clusterIP: dnsIp, ports: dnsPorts.map((p) => ({ ...p, targetPort: 53 })) },
    },
    hostEndpoints("kube-system", "kube-dns", nodeIp, dnsPorts),
    hostEndpoints("default", "kubernetes", nodeIp, [{ name: "https", port: apiserverPort, protocol: "TCP" }]),
  ];
  return docs.map((d) => stringify(d)).join("---\n");
};
