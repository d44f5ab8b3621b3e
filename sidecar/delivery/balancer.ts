// Endpoint choice: least outstanding requests by the power of two random choices, over the
// endpoints that are not ejected, this cluster's first, then other clusters' external URLs.
// Consecutive failures eject an endpoint for a period that doubles with each ejection (capped);
// if every endpoint is ejected the balancer still picks one ("panic mode"), so a recovering
// function gets traffic again instead of a certain failure.
import type { FunctionView } from "../types.ts";

export interface Endpoint {
  readonly url: string;
  readonly cluster: string;
  /** True for another cluster's external URL. */
  readonly remote: boolean;
}

interface State {
  outstanding: number;
  failures: number;
  ejectedUntil: number;
  ejections: number;
}

export interface BalancerOptions {
  /** Consecutive failures that eject an endpoint. */
  failureThreshold?: number;
  baseEjectionMs?: number;
  maxEjectionMs?: number;
  random?: () => number;
}

export interface Balancer {
  /** Chooses an endpoint for `fn`; undefined when it has none anywhere. Call `release` after the attempt. */
  pick(
    fn: FunctionView,
    localCluster: string,
    isAvailable?: (cluster: string) => boolean,
    now?: number,
  ): Endpoint | undefined;
  /** Records the attempt's result: `failed` for network errors, timeouts and 5xx. */
  release(endpoint: Endpoint, failed: boolean, now?: number): void;
  /** Whether the endpoint is currently ejected. */
  ejected(url: string, now?: number): boolean;
  /** Forgets endpoints not in `urls` (called when the routing table changes). */
  retain(urls: ReadonlySet<string>): void;
}

/** Creates a balancer with its own per-endpoint state. */
export const createBalancer = ({
  failureThreshold = 5,
  baseEjectionMs = 1000,
  maxEjectionMs = 60_000,
  random = Math.random,
}: BalancerOptions = {}): Balancer => {
  const states = new Map<string, State>();
  const state = (url: string): State => {
    let s = states.get(url);
    if (!s) {
      s = { outstanding: 0, failures: 0, ejectedUntil: 0, ejections: 0 };
      states.set(url, s);
    }
    return s;
  };
  /** A function's endpoints, built once per FunctionView (a routing table builds new views on every change). */
  const endpoints = new WeakMap<
    FunctionView,
    { localCluster: string; local: Endpoint[]; remote: Endpoint[] }
  >();
  const endpointsOf = (fn: FunctionView, localCluster: string): { local: Endpoint[]; remote: Endpoint[] } => {
    const known = endpoints.get(fn);
    if (known?.localCluster === localCluster) return known;
    const local: Endpoint[] = [];
    const remote: Endpoint[] = [];
    for (const [cluster, spec] of fn.instances) {
      if (cluster === localCluster)
        for (const url of spec.endpoints) local.push({ url, cluster, remote: false });
      else if (spec.externalUrl) remote.push({ url: spec.externalUrl, cluster, remote: true });
    }
    const built = { localCluster, local, remote };
    endpoints.set(fn, built);
    return built;
  };
  const p2c = (candidates: Endpoint[]): Endpoint | undefined => {
    if (candidates.length <= 1) return candidates[0];
    const i = Math.floor(random() * candidates.length);
    let j = Math.floor(random() * (candidates.length - 1));
    if (j >= i) j++;
    const a = candidates[i];
    const b = candidates[j];
    if (!a || !b) return a ?? b;
    return state(a.url).outstanding <= state(b.url).outstanding ? a : b;
  };
  return {
    pick: (fn, localCluster, isAvailable = () => true, now = Date.now()) => {
      const { local, remote } = endpointsOf(fn, localCluster);
      const healthy = (e: Endpoint): boolean => state(e.url).ejectedUntil <= now;
      // Most picks find every endpoint healthy and no other cluster: they choose from the cached
      // list itself, allocating nothing.
      let reachable = remote;
      let unavailable: Endpoint[] = [];
      if (remote.length > 0 && !remote.every((e) => isAvailable(e.cluster))) {
        reachable = remote.filter((e) => isAvailable(e.cluster));
        unavailable = remote.filter((e) => !isAvailable(e.cluster));
      }
      const healthyOf = (list: Endpoint[]): Endpoint[] => (list.every(healthy) ? list : list.filter(healthy));
      // Healthy first (here, then elsewhere), then ejected ones; a cluster whose heartbeat has
      // expired only when no other instance exists.
      for (const tier of [healthyOf(local), healthyOf(reachable), local, reachable, unavailable]) {
        const chosen = p2c(tier);
        if (chosen) {
          state(chosen.url).outstanding++;
          return chosen;
        }
      }
      return undefined;
    },
    release: (endpoint, failed, now = Date.now()) => {
      const s = state(endpoint.url);
      s.outstanding = Math.max(0, s.outstanding - 1);
      if (!failed) {
        s.failures = 0;
        if (s.ejectedUntil <= now && s.ejections > 0 && random() < 0.1) s.ejections--;
        return;
      }
      s.failures++;
      if (s.failures >= failureThreshold && s.ejectedUntil <= now) {
        s.ejectedUntil = now + Math.min(baseEjectionMs * 2 ** s.ejections, maxEjectionMs);
        s.ejections++;
        s.failures = 0;
      }
    },
    ejected: (url, now = Date.now()) => (states.get(url)?.ejectedUntil ?? 0) > now,
    retain: (urls) => {
      for (const url of states.keys()) if (!urls.has(url)) states.delete(url);
    },
  };
};
