// The fixed addresses of the local cluster. None of them exists beyond this machine: the
// Service range is only stored by the API server and routed by kube-proxy, the pod range lives
// on the node's own bridge.

/** ClusterIPs; `kubernetes` is .1, `kube-dns` is .10. */
export const SERVICE_RANGE = "10.96.0.0/24";
/** The `kube-dns` Service's ClusterIP, kubelet's clusterDNS. */
export const DNS_IP = "10.96.0.10";
/** Pods of the local node, on its bridge. */
export const POD_CIDR = "10.244.0.0/24";
/** The node bridge's address: the node IP, the pods' gateway and where host services listen for pods. */
export const NODE_IP = "10.244.0.1";
