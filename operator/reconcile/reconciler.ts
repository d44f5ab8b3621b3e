// One reconcile for any of the three kinds: read the object from the cache, plan, write the
// registry record, then the status. Level-based: the whole desired state is computed every
// time from the current world, so a missed event cannot leave a wrong state behind.

import { errorMessage } from "../../common/errors.ts";
import type { Logger } from "../../common/log.ts";
import type { Condition } from "../../crds/types.ts";
import { canonicalJson } from "../../registry/codec.ts";
import type { RecordKind, RegistryRecord } from "../../registry/types.ts";
import type { ObjectRef, RegistryWriter } from "../../registry/writer/index.ts";
import type { KindInfo, KubeWriter } from "../kube/writes.ts";
import type { OperatorMetrics } from "../metrics.ts";
import { type ConditionInput, findCondition, mergeConditions } from "../plan/conditions.ts";
import type { Plan } from "../plan/plan.ts";
import type { World } from "../plan/world.ts";
import type { Reconciler } from "./controller.ts";
import type { Propagation } from "./propagation.ts";

export const FINALIZER = "switchboard.dev/registry";

/** The shape all three resources share, as far as reconciling goes. */
export interface ReconciledObject {
  metadata: {
    name?: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    finalizers?: string[];
    deletionTimestamp?: string | Date;
  };
  status?: { conditions?: Condition[]; observedGeneration?: number };
}

export interface KindHandler<T extends ReconciledObject> extends KindInfo {
  recordKind: RecordKind;
  /** The cached object for a queue key ("ns/name" or "name"). */
  get(namespace: string | undefined, name: string): T | undefined;
  plan(obj: T, world: World, cluster: string): Plan<RegistryRecord, object>;
}

export interface ReconcilerDeps<T extends ReconciledObject> {
  handler: KindHandler<T>;
  world: World;
  writer: RegistryWriter;
  kube: KubeWriter;
  cluster: string;
  metrics: OperatorMetrics;
  log: Logger;
  /** The gateways' applied revisions: Ready waits for Propagated. Without it, Ready once the record is written. */
  propagation?: Propagation;
}

/** Splits a queue key into namespace and name. */
export const splitKey = (key: string): { namespace: string | undefined; name: string } => {
  const slash = key.indexOf("/");
  return slash < 0
    ? { namespace: undefined, name: key }
    : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
};

/** The queue key of an object. */
export const keyOf = (obj: { metadata?: { name?: string; namespace?: string } }): string =>
  obj.metadata?.namespace
    ? `${obj.metadata.namespace}/${obj.metadata.name ?? ""}`
    : (obj.metadata?.name ?? "");

/** Whether `current` already holds every field of `wanted` (key order aside: the API server returns its own). */
const alreadyHolds = (wanted: Record<string, unknown>, current: Record<string, unknown>): boolean =>
  Object.entries(wanted).every(([key, value]) => canonicalJson(value) === canonicalJson(current[key]));

/**
 * The conditions of a plan whose spec is invalid (Plan.keepPrevious): Ready says whether an earlier
 * generation's record is still serving, and which.
 */
export const keptConditions = (
  conditions: readonly ConditionInput[],
  previous: RegistryRecord | undefined,
  obj: ReconciledObject,
): ConditionInput[] => {
  const failing = conditions.find((c) => c.type !== "Ready" && c.status !== "True");
  const why = failing ? `${failing.type}: ${failing.message}` : "the spec is invalid";
  const generation = obj.metadata.generation ?? 0;
  const serving =
    previous === undefined
      ? `generation ${generation} is not applied (${why}); nothing is routed until it is fixed`
      : `generation ${generation} is not applied (${why}); generation ${previous.owner.generation} is still serving`;
  return conditions.map((c) =>
    c.type === "Ready"
      ? {
          type: "Ready",
          status: "False",
          reason: previous === undefined ? (failing?.reason ?? "InvalidSpec") : "PreviousGenerationServing",
          message: serving,
        }
      : c,
  );
};

/** Builds the reconciler for one kind. Throws (retry with backoff) when etcd or the API server fails. */
export const makeReconciler = <T extends ReconciledObject>(deps: ReconcilerDeps<T>): Reconciler => {
  const { handler, world, writer, kube, cluster, metrics, log, propagation } = deps;

  /** Adds Propagated before Ready; Ready is False until every gateway that should route the record has applied it. */
  const withPropagation = (
    key: string,
    ref: ObjectRef,
    record: RegistryRecord | undefined,
    conditions: ConditionInput[],
  ): ConditionInput[] => {
    const revision = writer.revision(ref);
    if (!propagation || record === undefined || revision === undefined) return conditions;
    const { condition, done } = propagation.check(handler.recordKind, key, record.vpn, revision, world);
    const out: ConditionInput[] = [];
    for (const c of conditions) {
      if (c.type !== "Ready") {
        out.push(c);
        continue;
      }
      out.push(condition);
      out.push(
        c.status === "True" && !done
          ? { type: "Ready", status: "False", reason: "NotPropagated", message: condition.message }
          : c,
      );
    }
    return out;
  };

  const sync = async (ref: ObjectRef, record: RegistryRecord | undefined): Promise<void> => {
    try {
      const result = await writer.sync(ref, record);
      metrics.registryWrites.inc({ kind: handler.recordKind, result });
    } catch (err) {
      metrics.registryWrites.inc({ kind: handler.recordKind, result: "error" });
      throw err;
    }
  };

  const writeStatus = async (obj: T, conditions: ConditionInput[], fields: object): Promise<void> => {
    const generation = obj.metadata.generation ?? 0;
    const previous = obj.status?.conditions;
    const status = {
      ...fields,
      observedGeneration: generation,
      conditions: mergeConditions(previous, conditions, generation, new Date()),
    };
    if (alreadyHolds(status, { ...obj.status })) return;
    await kube.patchStatus(handler, obj.metadata, status);
    await reportTransitions(obj, previous, conditions);
  };

  const reportTransitions = async (
    obj: T,
    previous: Condition[] | undefined,
    conditions: ConditionInput[],
  ): Promise<void> => {
    const ready = conditions.find((c) => c.type === "Ready");
    const before = findCondition(previous, "Ready");
    if (!ready || (before?.status === ready.status && before.reason === ready.reason)) return;
    // Waiting for the gateways is the normal way to Ready, not a warning.
    if (ready.reason === "NotPropagated") return;
    // Becoming Ready is the normal course, which the condition says: an Event records a recovery
    // from a failure only. One per new object would be one more API server write per object (a
    // quarter of them when 10 000 are applied at once: docs/benchmarks.md) and an Event storm.
    const recovered = before?.status === "False" && before.reason !== "NotPropagated";
    if (ready.status === "True" && !recovered) return;
    const type = ready.status === "True" ? "Normal" : "Warning";
    await kube.event(handler, obj.metadata, type, ready.reason, ready.message || `${handler.kind} is ready`);
  };

  return async (key) => {
    const { namespace, name } = splitKey(key);
    const ref: ObjectRef = { kind: handler.recordKind, ...(namespace ? { namespace } : {}), name };
    const obj = handler.get(namespace, name);
    if (!obj) {
      await sync(ref, undefined);
      return undefined;
    }
    const finalizers = obj.metadata.finalizers ?? [];
    if (obj.metadata.deletionTimestamp) {
      await sync(ref, undefined);
      if (finalizers.includes(FINALIZER)) {
        await kube.setFinalizers(
          handler,
          obj.metadata,
          finalizers.filter((f) => f !== FINALIZER),
        );
        log.info({ kind: handler.kind, key }, "records removed; finalizer released");
      }
      return undefined;
    }
    if (!finalizers.includes(FINALIZER)) {
      // The update this causes re-queues the key; records are written on that pass.
      await kube.setFinalizers(handler, obj.metadata, [...finalizers, FINALIZER]);
      return undefined;
    }
    const plan = handler.plan(obj, world, cluster);
    if (plan.keepPrevious) {
      await writeStatus(obj, keptConditions(plan.conditions, writer.recorded(ref), obj), plan.status);
      return undefined;
    }
    try {
      await sync(ref, plan.record);
    } catch (err) {
      const message = `registry write failed: ${errorMessage(err)}`;
      const conditions = plan.conditions.map((c) =>
        c.type === "Ready" ? { ...c, status: "False" as const, reason: "RegistryUnavailable", message } : c,
      );
      await writeStatus(obj, conditions, plan.status).catch(() => {});
      throw err;
    }
    await writeStatus(obj, withPropagation(key, ref, plan.record, plan.conditions), plan.status);
    return undefined;
  };
};
