// One connection pool to the API server per cluster and user. @kubernetes/client-node 2.0.1 builds
// a new undici Agent for every request (KubeConfig.applySecurityAuthentication calls
// createDispatcher each time, and only the https.Agent of watches is cached), so every status
// patch, finalizer patch and Event opened a TLS connection of its own: in bench/scale.ts with 1000
// Subscriptions, TLS set-up (new SecureContexts, handshakes) was the largest part of the operator's
// CPU and kept it to about 25 objects a second. The wrapper caches the dispatcher per cluster and
// user, which reuses connections (keep-alive) as the library already does for watches. Credentials
// sent as headers (tokens, including a projected service-account token that rotates) are still
// read per request; a client certificate rotated on disk is picked up by a restart.
import type { KubeConfig } from "@kubernetes/client-node";

interface DispatcherFactory {
  createDispatcher(cluster: { name?: string } | null, agentOptions: unknown): unknown;
}

/** Makes `kc` reuse one dispatcher (connection pool) per cluster and user; returns it. */
export const pooledKubeConfig = (kc: KubeConfig): KubeConfig => {
  const factory = kc as unknown as DispatcherFactory;
  if (typeof factory.createDispatcher !== "function")
    throw new Error(
      "@kubernetes/client-node no longer has KubeConfig.createDispatcher: review operator/kube/pooled.ts",
    );
  const create = factory.createDispatcher.bind(kc);
  const pools = new Map<string, unknown>();
  factory.createDispatcher = (cluster, agentOptions) => {
    const key = JSON.stringify([cluster?.name ?? "", kc.getCurrentUser()?.name ?? ""]);
    if (!pools.has(key)) pools.set(key, create(cluster, agentOptions));
    return pools.get(key);
  };
  return kc;
};
