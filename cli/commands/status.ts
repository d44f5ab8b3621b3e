// `kubectl switchboard status [-n NS]`: every VPN, Function and Subscription with its Ready
// condition, those not Ready first with why, and what is known of the gateways.
import { type Parsed, value } from "../support/args.ts";
import type { Kind, KubeObject } from "../support/kube.ts";
import { render, table } from "../support/output.ts";
import type { Command, Io } from "../types.ts";
import { formatOf, HELP_FLAG, KUBE_FLAGS, lazyKube, OUTPUT_FLAG } from "./common.ts";

/** What status says of the gateways while the registry's gateway records are reserved, not written. */
export const GATEWAYS_NOT_REPORTED = "gateway presence not reported by this version";

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
  readonly gateways: { readonly reported: boolean; readonly message: string };
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
export const statusReport = (objects: readonly KubeObject[], namespace?: string): StatusReport => {
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
    gateways: { reported: false, message: GATEWAYS_NOT_REPORTED },
  };
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
  }\nGATEWAYS\n${r.gateways.message}\n`;
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
  const kube = lazyKube(args, io)();
  const namespace = args.bools.has("all-namespaces") ? undefined : value(args, "namespace");
  const [vpns, fns, subs] = await Promise.all([
    kube.list("VPN"),
    kube.list("Function", namespace),
    kube.list("Subscription", namespace),
  ]);
  const named = new Set([...fns, ...subs].map((o) => (typeof o.spec.vpn === "string" ? o.spec.vpn : "")));
  const shownVpns = namespace === undefined ? vpns : vpnsFor(vpns, namespace, named);
  const report = statusReport([...shownVpns, ...fns, ...subs], namespace);
  io.out(render(formatOf(args), report, () => statusText(report)));
  return 0;
};

export const status: Command = {
  name: "status",
  summary: "every VPN, Function and Subscription with its Ready condition; those not Ready first, with why",
  usage: "status [-n NAMESPACE | -A] [-o text|json|yaml]",
  flags: [
    {
      name: "namespace",
      short: "n",
      value: "NAMESPACE",
      help: "only this namespace (and its VPNs) (default: all)",
    },
    { name: "all-namespaces", short: "A", help: "every namespace (the default)" },
    OUTPUT_FLAG,
    ...KUBE_FLAGS,
    HELP_FLAG,
  ],
  run,
};
