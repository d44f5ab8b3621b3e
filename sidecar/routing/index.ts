// The routing table: everything the gateway's hot path reads, built from one registry snapshot
// (pure, no I/O; build a new table per snapshot and swap it). Per VPN it holds the merged VPN
// view (./merge.ts), one subscription index per mode (./match/index.ts), and the HTTP
// routes of sync subscriptions (./http-route.ts). CEL programs are compiled once per build, and
// a VPN whose subscriptions and functions are the same records as in the build before keeps the
// routes built then (`vpnRoutesKept`).
import type { Environment } from "@marcbachmann/cel-js";
import { celEnvironment } from "../../common/cel.ts";
import type { CloudEvent, FunctionView, RegistrySnapshot, Route, VpnView } from "../types.ts";
import { type Explanation, explainEntry, onlyOneSync } from "./explain.ts";
import { compileFilters } from "./filter/index.ts";
import { type HttpRouter, httpRouter } from "./http-route.ts";
import { type CelPrograms, type CelVars, celPrograms, celVars, evaluateCel } from "./match/cel.ts";
import { type MatchEntry, type MatchIndex, type MatchIndexStats, matchIndex } from "./match/index.ts";
import { functionId, type MergedRegistry, mergeRegistry, type SubscriptionSource } from "./merge.ts";

export type { Explanation } from "./explain.ts";

export interface HttpRouteMatch {
  readonly route: Route;
  readonly params: Record<string, string>;
  readonly wildcard?: string;
}

/** The read side of one snapshot. Every method reads memory only and never throws. */
export interface RoutingTable {
  readonly revision: number;
  vpn(name: string): VpnView | undefined;
  /** The VPN a publisher token hash (SHA-256 hex) belongs to. */
  vpnForToken(sha256: string): VpnView | undefined;
  /** The VPN a namespace belongs to (sidecar placement: pods publish as their namespace's VPN). */
  vpnForNamespace(namespace: string): VpnView | undefined;
  fn(vpn: string, namespace: string, name: string): FunctionView | undefined;
  /** The route of subscription namespace/name of `vpn` (e.g. to resume a delivery after a restart). */
  route(vpn: string, namespace: string, name: string): Route | undefined;
  /** Subscriptions of `vpn` whose filters (and CEL) accept the event, for the given mode (order: see ./match/index.ts). */
  match(vpn: string, event: CloudEvent, mode: "async" | "sync"): Route[];
  /** The sync HTTP route for a raw request: the most specific matching route and its :params / wildcard. */
  matchHttp(vpn: string, method: string, path: string): HttpRouteMatch | undefined;
  /** Whether `route`'s filters and CEL accept `event` (e.g. the http.request event of a matchHttp route). */
  accepts(route: Route, event: CloudEvent): boolean;
  /** Every subscription of `vpn` (both modes, key order), each with whether the event, published alone, would reach it and why not. */
  explain(vpn: string, event: CloudEvent): Explanation[];
  /** How `vpn`'s subscriptions are indexed per mode (a large scan list makes matching slow). */
  stats(vpn: string): { async: MatchIndexStats; sync: MatchIndexStats } | undefined;
}

export interface RoutingTableOptions {
  /** Told about CEL programs that fail to compile (once per build of their VPN's routes: not for a VPN whose routes are kept) or to evaluate (per event). */
  onCelError?: (route: string, error: Error, phase: "compile" | "evaluate") => void;
  /** The CEL environment (default: common/cel.ts). */
  celEnvironment?: Environment;
  /** Programs compiled for the previous table, reused by this build (match/cel.ts celPrograms); without it every expression is compiled. */
  celPrograms?: CelPrograms;
  /** The routes of the previous table's VPNs, reused for VPNs whose records did not change (vpnRoutesKept); without it every VPN is built. */
  kept?: KeptVpnRoutes;
}

interface VpnRoutes {
  readonly entries: readonly MatchEntry[];
  readonly byKey: ReadonlyMap<string, MatchEntry>;
  readonly byName: ReadonlyMap<string, Route>;
  readonly async: MatchIndex;
  readonly sync: MatchIndex;
  readonly http: HttpRouter<Route>;
}

const toRoute = (merged: MergedRegistry, source: SubscriptionSource): Route => {
  const { key, vpn, namespace, name, record } = source;
  const target = record.spec.function;
  const deadLetter = record.spec.delivery.deadLetter;
  return {
    key,
    vpn,
    namespace,
    name,
    subscription: record.spec,
    fn: merged.functions.get(functionId(vpn, target.namespace, target.name)),
    deadLetter: deadLetter && merged.functions.get(functionId(vpn, deadLetter.namespace, deadLetter.name)),
  };
};

const vpnRoutes = (entries: MatchEntry[]): VpnRoutes => {
  const http = httpRouter<Route>();
  for (const { route, cel } of entries) {
    const { mode, http: where } = route.subscription;
    // A route whose CEL did not compile never matches, so it does not shadow less specific ones.
    if (mode === "sync" && where !== undefined && cel?.ok !== false) {
      http.add(where.method, where.path, route.key, route);
    }
  }
  return {
    entries,
    byKey: new Map(entries.map((entry) => [entry.route.key, entry])),
    byName: new Map(entries.map((entry) => [`${entry.route.namespace}/${entry.route.name}`, entry.route])),
    async: matchIndex(entries.filter((entry) => entry.route.subscription.mode === "async")),
    sync: matchIndex(entries.filter((entry) => entry.route.subscription.mode === "sync")),
    http,
  };
};

/**
 * What a VPN's routes are built from: its subscription records (in key order) and the specs of
 * its functions (by id, then cluster), as objects. The registry watcher keeps a record's decoded
 * object while its mod_revision is unchanged, so the same objects mean the same routes.
 */
type VpnInputs = unknown[];

const sameInputs = (a: VpnInputs | undefined, b: VpnInputs): boolean => {
  if (a === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
};

/**
 * The routes of each VPN of the table built last, with what they were built from. A table is
 * rebuilt on every registry change; a shared gateway reads every VPN, and a change in one of them
 * rebuilt the indexes of all (docs/benchmarks.md). Pass the same object to each build.
 */
export const vpnRoutesKept = () => ({
  byVpn: new Map<string, { inputs: VpnInputs; routes: VpnRoutes }>(),
});

export type KeptVpnRoutes = ReturnType<typeof vpnRoutesKept>;

/** Each VPN's subscriptions (in key order) and what its routes are built from. */
const vpnInputs = (
  merged: MergedRegistry,
): Map<string, { sources: SubscriptionSource[]; inputs: VpnInputs }> => {
  const byVpn = new Map<string, { sources: SubscriptionSource[]; inputs: VpnInputs }>();
  const of = (vpn: string) => {
    let found = byVpn.get(vpn);
    if (found === undefined) {
      found = { sources: [], inputs: [] };
      byVpn.set(vpn, found);
    }
    return found;
  };
  for (const source of merged.subscriptions) {
    const { sources, inputs } = of(source.vpn);
    sources.push(source);
    inputs.push(source.record);
  }
  for (const fn of merged.functions.values()) {
    const found = byVpn.get(fn.vpn);
    // A VPN without subscriptions has no routes, whatever its functions.
    if (found !== undefined) for (const spec of fn.instances.values()) found.inputs.push(spec);
  }
  return byVpn;
};

/** The routes of every VPN, reusing the kept ones whose inputs are the same objects. */
const buildVpnRoutes = (merged: MergedRegistry, options: RoutingTableOptions): Map<string, VpnRoutes> => {
  const given = options.celEnvironment;
  const build = (options.celPrograms ?? celPrograms(given ? () => given : celEnvironment)).build();
  const compileCel = build.compile;
  const kept = options.kept?.byVpn;
  const vpns = new Map<string, VpnRoutes>();
  for (const [vpn, { sources, inputs }] of vpnInputs(merged)) {
    const before = kept?.get(vpn);
    if (before !== undefined && sameInputs(before.inputs, inputs)) {
      // The kept programs stay the ones the next build reuses.
      for (const entry of before.routes.entries)
        if (entry.route.subscription.cel !== undefined) compileCel(entry.route.subscription.cel);
      vpns.set(vpn, before.routes);
      continue;
    }
    const entries: MatchEntry[] = [];
    for (const source of sources) {
      const route = toRoute(merged, source);
      const cel = route.subscription.cel === undefined ? undefined : compileCel(route.subscription.cel);
      if (cel !== undefined && !cel.ok) options.onCelError?.(route.key, cel.error, "compile");
      entries.push({ route, accepts: compileFilters(route.subscription.filters), cel, stamp: 0 });
    }
    const routes = vpnRoutes(entries);
    kept?.set(vpn, { inputs, routes });
    vpns.set(vpn, routes);
  }
  if (kept !== undefined) for (const vpn of kept.keys()) if (!vpns.has(vpn)) kept.delete(vpn);
  build.done();
  return vpns;
};

/**
 * The routing table of `snapshot` (merge rules: ./merge.ts). Pure but for `options.kept` and
 * `options.celPrograms`, which it reuses and updates; never throws on record content.
 */
export const buildRoutingTable = (
  snapshot: RegistrySnapshot,
  options: RoutingTableOptions = {},
): RoutingTable => {
  const merged = mergeRegistry(snapshot);
  const vpns = buildVpnRoutes(merged, options);
  const { onCelError } = options;
  const onEvaluateError =
    onCelError === undefined
      ? undefined
      : (route: string, error: Error) => onCelError(route, error, "evaluate");

  return {
    revision: snapshot.revision,
    vpn: (name) => merged.vpns.get(name),
    vpnForToken: (sha256) => merged.tokenOwners.get(sha256),
    vpnForNamespace: (namespace) => merged.namespaceOwners.get(namespace),
    fn: (vpn, namespace, name) => merged.functions.get(functionId(vpn, namespace, name)),
    route: (vpn, namespace, name) => vpns.get(vpn)?.byName.get(`${namespace}/${name}`),
    match(vpn, event, mode) {
      const routes = vpns.get(vpn);
      if (routes === undefined) return [];
      return (mode === "async" ? routes.async : routes.sync).match(event, onEvaluateError);
    },
    matchHttp(vpn, method, path) {
      const found = vpns.get(vpn)?.http.match(method, path);
      if (found === undefined) return undefined;
      const { value, params, wildcard } = found;
      return wildcard === undefined ? { route: value, params } : { route: value, params, wildcard };
    },
    accepts(route, event) {
      const entry = vpns.get(route.vpn)?.byKey.get(route.key);
      if (entry === undefined || !entry.accepts(event.attributes)) return false;
      if (entry.cel === undefined) return true;
      const verdict = evaluateCel(entry.cel, celVars(event));
      if (verdict instanceof Error && entry.cel.ok) onEvaluateError?.(route.key, verdict);
      return verdict === true;
    },
    explain(vpn, event) {
      let vars: CelVars | undefined;
      const lazyVars = (): CelVars => {
        vars ??= celVars(event);
        return vars;
      };
      const routes = vpns.get(vpn);
      if (routes === undefined) return [];
      const explained = routes.entries.map((entry) => explainEntry(entry, event.attributes, lazyVars));
      // The ingress's choice: the first sync match without an HTTP route.
      const answering = routes.sync.match(event).find((r) => r.subscription.http === undefined);
      return onlyOneSync(explained, answering);
    },
    stats(vpn) {
      const routes = vpns.get(vpn);
      return routes === undefined ? undefined : { async: routes.async.stats, sync: routes.sync.stats };
    },
  };
};
