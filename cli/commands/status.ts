// `kubectl switchboard status [-n NS]`: every VPN, Function and Subscription with its Ready
// condition, those not Ready first with why, and the gateways as their presence records say (read
// from the operator's /gateways: a port-forward to the operator Service, or --operator-url).
import { request } from "undici";
import { type Parsed, value } from "../support/args.ts";
import { forwardOperator } from "../support/gateway.ts";
import type { Kind, Kube, KubeObject } from "../support/kube.ts";
import { render, table } from "../support/output.ts";
import type { Command, Io } from "../types.ts";
import { formatOf, HELP_FLAG, KUBE_FLAGS, lazyKube, OUTPUT_FLAG } from "./common.ts";

/** One gateway as its presence record says (registry/heartbeat/presence.ts), as the operator serves it. */
export interface GatewayRow {
  readonly id: string;
  /** A sidecar's namespace; undefined for a shared gateway. */
  readonly namespace?: string;
  readonly version: string;
  readonly appliedRevision: number;
  readonly appliedAt: string;
  readonly notReady?: string;
}

/** The gateways section: the list when the operator answered, else why there is none. */
export type GatewaysSection =
  | { readonly reported: true; readonly cluster: string; readonly gateways: readonly GatewayRow[] }
  | { readonly reported: false; readonly message: string };

export interface ObjectStatus {
  readonly kind: Kind;
  readonly namespace?: string;
  readonly name: string;
  /** The Ready condition's status; Unknown when there is none yet or it is about an older generation. */
  readonly ready: "True" | "False" | "Unknown";
  readonly reason: string;
  readonly message: string;
}

export interface StatusReport {
  readonly namespace?: string;
  readonly objects: readonly ObjectStatus[];
  readonly notReady: number;
  readonly gateways: GatewaysSection;
}

const ORDER: readonly Kind[] = ["VPN", "Function", "Subscription"];

/** One object's Ready condition; a failing specific condition's reason and message when Ready says less. */
export const objectStatus = (o: KubeObject): ObjectStatus => {
  const ready = o.conditions.find((c) => c.type === "Ready");
  const where = { kind: o.kind, ...(o.namespace ? { namespace: o.namespace } : {}), name: o.name };
  if (ready === undefined)
    return {
      ...where,
      ready: "Unknown",
      reason: "NoStatus",
      message: "the operator has not reported on it yet",
    };
  const stale =
    o.generation !== undefined &&
    ready.observedGeneration !== undefined &&
    ready.observedGeneration < o.generation;
  if (stale)
    return {
      ...where,
      ready: "Unknown",
      reason: "Reconciling",
      message: `generation ${o.generation} not observed yet (Ready was ${ready.status} for generation ${ready.observedGeneration})`,
    };
  const status = ready.status === "True" || ready.status === "False" ? ready.status : "Unknown";
  return { ...where, ready: status, reason: ready.reason, message: ready.message };
};

/** The report: not-Ready objects first, then by kind, namespace and name. */
export const statusReport = (
  objects: readonly KubeObject[],
  namespace: string | undefined,
  gateways: GatewaysSection,
): StatusReport => {
  const rank = (s: ObjectStatus): number => (s.ready === "True" ? 1 : 0);
  const statuses = objects
    .map(objectStatus)
    .sort(
      (a, b) =>
        rank(a) - rank(b) ||
        ORDER.indexOf(a.kind) - ORDER.indexOf(b.kind) ||
        (a.namespace ?? "").localeCompare(b.namespace ?? "") ||
        a.name.localeCompare(b.name),
    );
  return {
    ...(namespace === undefined ? {} : { namespace }),
    objects: statuses,
    notReady: statuses.filter((s) => s.ready !== "True").length,
    gateways,
  };
};

/** `12s`, `5m`, `3h`, `2d`: how long ago `iso` was, from `now`. */
const ago = (iso: string, now: number): string => {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (Number.isNaN(s)) return "?";
  return s < 120
    ? `${s}s`
    : s < 7200
      ? `${Math.round(s / 60)}m`
      : s < 172_800
        ? `${Math.round(s / 3600)}h`
        : `${Math.round(s / 86_400)}d`;
};

/** The gateways section as text: one row each, those behind the newest applied revision marked. */
export const gatewaysText = (g: GatewaysSection, now = Date.now()): string => {
  if (!g.reported) return `${g.message}\n`;
  if (g.gateways.length === 0) return `no live gateway in cluster ${g.cluster}\n`;
  const newest = Math.max(...g.gateways.map((r) => r.appliedRevision));
  const behind = g.gateways.filter((r) => r.appliedRevision < newest).length;
  const rows = g.gateways.map((r) => [
    r.id,
    r.namespace ?? "(shared)",
    r.version,
    String(r.appliedRevision),
    ago(r.appliedAt, now),
    r.notReady === undefined ? "True" : `False: ${r.notReady}`,
    r.appliedRevision < newest ? "behind" : "",
  ]);
  const n = g.gateways.length;
  const head = `${n} gateway${n === 1 ? "" : "s"} in cluster ${g.cluster}${behind === 0 ? ", all at the newest revision" : `, ${behind} behind revision ${newest}`}`;
  return `${head}\n${table(["ID", "NAMESPACE", "VERSION", "REVISION", "APPLIED", "READY", ""], rows)}`;
};

/** The report as text: a summary line, the table, the gateways section. */
export const statusText = (r: StatusReport): string => {
  const scope = r.namespace === undefined ? "all namespaces" : `namespace ${r.namespace}`;
  const summary =
    r.objects.length === 0
      ? `no VPN, Function or Subscription in ${scope}`
      : r.notReady === 0
        ? `${r.objects.length} objects in ${scope}, all Ready`
        : `${r.notReady} of ${r.objects.length} objects in ${scope} not Ready (listed first)`;
  const rows = r.objects.map((o) => [o.kind, o.namespace ?? "-", o.name, o.ready, o.reason, o.message]);
  return `${summary}\n${
    rows.length === 0 ? "" : `\n${table(["KIND", "NAMESPACE", "NAME", "READY", "REASON", "MESSAGE"], rows)}`
  }\nGATEWAYS\n${gatewaysText(r.gateways)}`;
};

/** What the operator's /gateways says, or why it could not be read (never throws). */
const readGateways = async (args: Parsed, io: Io, kube: () => Kube): Promise<GatewaysSection> => {
  const given = value(args, "operator-url")?.replace(/\/+$/, "");
  let close = (): void => {};
  try {
    let url = given;
    if (url === undefined) {
      const f = await forwardOperator(
        kube(),
        { kubeconfig: value(args, "kubeconfig"), context: value(args, "context") },
        value(args, "operator"),
        io.signal,
      );
      close = f.close;
      url = f.targets[0]?.url ?? "";
    }
    const res = await request(`${url}/gateways`, { signal: io.signal, headersTimeout: 10_000 });
    const text = await res.body.text();
    if (res.statusCode !== 200)
      return {
        reported: false,
        message: `the operator at ${url} answered ${res.statusCode} to /gateways: is it this version?`,
      };
    const body = JSON.parse(text) as { cluster: string; gateways: GatewayRow[] };
    return { reported: true, cluster: body.cluster, gateways: body.gateways };
  } catch (err) {
    return {
      reported: false,
      message: `gateways unknown: ${err instanceof Error ? err.message : String(err)}`,
    };
  } finally {
    close();
  }
};

/** VPNs shown for a namespace: those it is a member of by name, and those its objects name. */
const vpnsFor = (vpns: readonly KubeObject[], namespace: string, named: ReadonlySet<string>): KubeObject[] =>
  vpns.filter((v) => {
    const ns: unknown =
      typeof v.spec.namespaces === "object" && v.spec.namespaces !== null
        ? Reflect.get(v.spec.namespaces, "names")
        : [];
    return named.has(v.name) || (Array.isArray(ns) && ns.includes(namespace));
  });

const run = async (args: Parsed, io: Io): Promise<number> => {
  const lazy = lazyKube(args, io);
  const kube = lazy();
  const namespace = args.bools.has("all-namespaces") ? undefined : value(args, "namespace");
  const [vpns, fns, subs] = await Promise.all([
    kube.list("VPN"),
    kube.list("Function", namespace),
    kube.list("Subscription", namespace),
  ]);
  const named = new Set([...fns, ...subs].map((o) => (typeof o.spec.vpn === "string" ? o.spec.vpn : "")));
  const shownVpns = namespace === undefined ? vpns : vpnsFor(vpns, namespace, named);
  const gateways = await readGateways(args, io, lazy);
  const report = statusReport([...shownVpns, ...fns, ...subs], namespace, gateways);
  io.out(render(formatOf(args), report, () => statusText(report)));
  return 0;
};

export const status: Command = {
  name: "status",
  summary:
    "every VPN, Function and Subscription with its Ready condition, those not Ready first with why; the gateways and the revision each has applied",
  usage: "status [-n NAMESPACE | -A] [--operator-url URL | --operator NAMESPACE/SERVICE] [-o text|json|yaml]",
  flags: [
    {
      name: "namespace",
      short: "n",
      value: "NAMESPACE",
      help: "only this namespace (and its VPNs) (default: all)",
    },
    { name: "all-namespaces", short: "A", help: "every namespace (the default)" },
    {
      name: "operator-url",
      value: "URL",
      help: "the operator's metrics port, for the gateways (default: a port-forward to the operator Service)",
    },
    {
      name: "operator",
      value: "NAMESPACE/SERVICE",
      help: "the operator Service to port-forward to (default: the one labelled app.kubernetes.io/component=operator)",
    },
    OUTPUT_FLAG,
    ...KUBE_FLAGS,
    HELP_FLAG,
  ],
  run,
};
