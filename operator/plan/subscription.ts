// Subscription → its registry record (the route): the function exists in the same VPN, the
// namespace belongs to that VPN, the filters and CEL expression are valid. Pure.
import { checkCel } from "../../common/cel.ts";
import { parseDuration } from "../../common/duration.ts";
import type { Subscription, SwitchboardFunction } from "../../crds/types.ts";
import {
  type DeliveryRecord,
  type FunctionRef,
  SCHEMA_VERSION,
  type SubscriptionRecord,
} from "../../registry/types.ts";
import { type ConditionInput, isFalse, isTrue } from "./conditions.ts";
import { notMemberReason } from "./membership.ts";
import { ownerOf, type Plan, readyFrom } from "./plan.ts";
import type { World } from "./world.ts";

// The default async policy rides out a function outage of at least 7.5 minutes (the shortest
// jittered waits: 0.5 + 1 + 2 + 4 + 8 + 16 s, then 30 s fourteen times; at most 15 minutes) before
// dead-lettering: a restart or a short outage never costs events. docs/delivery.md compares it.
export const DEFAULT_ASYNC_RETRY = 20;
export const DEFAULT_BACKOFF_DELAY_MS = 1000;
export const DEFAULT_MAX_BACKOFF_MS = 60_000;

/** Resolves "name" (in `namespace`) or "namespace/name". */
export const functionRef = (ref: string, namespace: string): FunctionRef => {
  const slash = ref.indexOf("/");
  return slash < 0
    ? { namespace, name: ref }
    : { namespace: ref.slice(0, slash), name: ref.slice(slash + 1) };
};

const checkFunction = (
  what: string,
  ref: FunctionRef,
  vpn: string,
  world: World,
): ConditionInput | undefined => {
  const fn: SwitchboardFunction | undefined = world.fn(ref.namespace, ref.name);
  if (!fn || fn.metadata.deletionTimestamp) {
    // Subscriptions are global within their VPN: the function may live in another cluster only.
    if (world.remoteFunction(vpn, ref.namespace, ref.name).length > 0) return undefined;
    return isFalse(
      "FunctionFound",
      "FunctionNotFound",
      `${what} ${ref.namespace}/${ref.name} does not exist in VPN ${vpn} in any cluster`,
    );
  }
  if (fn.spec.vpn !== vpn) {
    return isFalse(
      "FunctionFound",
      "VPNMismatch",
      `${what} ${ref.namespace}/${ref.name} is in VPN ${fn.spec.vpn}, not ${vpn}`,
    );
  }
  return undefined;
};

/** Where the target function is declared, for the FunctionFound message. */
const foundMessage = (
  target: FunctionRef,
  vpn: string,
  world: World,
): { reason: string; message: string } => {
  if (world.fn(target.namespace, target.name))
    return { reason: "Found", message: `function ${target.namespace}/${target.name}` };
  const clusters = world.remoteFunction(vpn, target.namespace, target.name);
  return {
    reason: "FoundInOtherCluster",
    message: `function ${target.namespace}/${target.name} is declared in cluster(s) ${clusters.join(", ")}`,
  };
};

const delivery = (sub: Subscription, deadLetter: FunctionRef | undefined): DeliveryRecord => {
  const d = sub.spec.delivery ?? {};
  return {
    retry: d.retry ?? (sub.spec.mode === "async" ? DEFAULT_ASYNC_RETRY : 0),
    backoffPolicy: d.backoffPolicy ?? "exponential",
    backoffDelayMs: d.backoffDelay ? parseDuration(d.backoffDelay) : DEFAULT_BACKOFF_DELAY_MS,
    maxBackoffMs: d.maxBackoff ? parseDuration(d.maxBackoff) : DEFAULT_MAX_BACKOFF_MS,
    ...(d.timeout ? { timeoutMs: parseDuration(d.timeout) } : {}),
    ...(deadLetter ? { deadLetter } : {}),
  };
};

/** Plans a Subscription's route and conditions (VPNMember, FunctionFound, FilterValid, Ready). */
export const planSubscription = (
  sub: Subscription,
  world: World,
  cluster: string,
): Plan<SubscriptionRecord, Record<string, never>> => {
  const namespace = sub.metadata.namespace ?? "";
  const { vpn } = sub.spec;
  const notMember = notMemberReason(vpn, namespace, world);
  const target = functionRef(sub.spec.function, namespace);
  const deadLetter = sub.spec.delivery?.deadLetter
    ? functionRef(sub.spec.delivery.deadLetter.function, namespace)
    : undefined;
  const cel = sub.spec.cel === undefined ? { ok: true as const } : checkCel(sub.spec.cel);
  const sameAsTarget =
    deadLetter && deadLetter.namespace === target.namespace && deadLetter.name === target.name
      ? isFalse(
          "FunctionFound",
          "DeadLetterIsTarget",
          `the dead-letter function ${target.namespace}/${target.name} is the subscription's own function`,
        )
      : undefined;
  const missing =
    checkFunction("function", target, vpn, world) ??
    (deadLetter ? checkFunction("dead-letter function", deadLetter, vpn, world) : undefined) ??
    sameAsTarget;
  const conditions: ConditionInput[] = [
    notMember
      ? isFalse("VPNMember", notMember.reason, notMember.message)
      : isTrue("VPNMember", "Member", `namespace ${namespace} belongs to VPN ${vpn}`),
    missing ??
      (({ reason, message }) => isTrue("FunctionFound", reason, message))(foundMessage(target, vpn, world)),
    cel.ok
      ? isTrue("FilterValid", "Valid")
      : isFalse("FilterValid", "CELCompileError", `cel: ${cel.message}`),
  ];
  conditions.push(readyFrom(conditions, "RouteRegistered", "the route is in the registry"));
  // An invalid filter is a mistake in this generation, not a reason to stop the route that works.
  if (!cel.ok) return { record: undefined, conditions, status: {}, keepPrevious: true };
  if (conditions.some((c) => c.status !== "True")) return { record: undefined, conditions, status: {} };
  const record: SubscriptionRecord = {
    schema: SCHEMA_VERSION,
    kind: "subscription",
    vpn,
    owner: ownerOf(sub, cluster),
    spec: {
      function: target,
      mode: sub.spec.mode,
      filters: sub.spec.filters ?? [],
      ...(sub.spec.cel === undefined ? {} : { cel: sub.spec.cel }),
      ...(sub.spec.http ? { http: { method: sub.spec.http.method, path: sub.spec.http.path } } : {}),
      delivery: delivery(sub, deadLetter),
      ...(sub.spec.rateLimit
        ? {
            rateLimit: {
              eventsPerSecond: sub.spec.rateLimit.eventsPerSecond,
              burst: sub.spec.rateLimit.burst ?? sub.spec.rateLimit.eventsPerSecond,
            },
          }
        : {}),
    },
  };
  return { record, conditions, status: {} };
};
