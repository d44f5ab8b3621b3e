// Drift repair on the leader: registry records of this cluster changed, deleted or added behind
// the operator's back are rewritten or removed. A watch on the cluster's subtree reports each
// change promptly; an audit (a full listing compared with the writer's index) at the start and
// every resync period catches what a watch can miss (a reconnect, a compaction). The writer
// (registry/writer/drift.ts) recognises its own writes; a foreign change is counted, logged once
// at warn with its key, and its object enqueued, whose reconcile then writes the desired record.
import type { Etcd3, IKeyValue } from "etcd3";
import { errorMessage } from "../../common/errors.ts";
import type { Logger } from "../../common/log.ts";
import { clusterPrefix } from "../../registry/keys.ts";
import type { ObjectRef } from "../../registry/types.ts";
import type { Drift, Observation, RegistryWriter } from "../../registry/writer/index.ts";
import type { OperatorMetrics } from "../metrics.ts";

export interface RepairOptions {
  etcd: Etcd3;
  cluster: string;
  writer: RegistryWriter;
  /** Enqueues the object whose record drifted. */
  enqueue: (ref: ObjectRef) => void;
  /** Time between audits. */
  resyncPeriodMs: number;
  metrics: OperatorMetrics;
  log: Logger;
}

/** Watches and audits until `signal` aborts; never throws (a failed audit is logged and tried again next period). */
export const runRepair = async (opts: RepairOptions, signal: AbortSignal): Promise<void> => {
  const { etcd, cluster, writer, enqueue, resyncPeriodMs, metrics, log } = opts;
  const repair = (drift: Drift | undefined): void => {
    if (drift === undefined) return;
    const { ref, key, change } = drift;
    metrics.registryRepairs.inc({ kind: ref.kind });
    log.warn(
      { key, change, kind: ref.kind, namespace: ref.namespace, name: ref.name },
      "registry record changed behind the operator's back; restoring it",
    );
    enqueue(ref);
  };
  const observe = (seen: Observation): void => {
    writer.observe(seen).then(repair, (err: unknown) => {
      log.warn({ key: seen.key, err: errorMessage(err) }, "registry change not checked; the next audit will");
    });
  };
  const event =
    (present: boolean) =>
    (kv: IKeyValue): void => {
      const modRevision = kv.mod_revision;
      observe({
        key: kv.key.toString(),
        value: present ? kv.value.toString() : undefined,
        modRevision,
        asOf: modRevision,
      });
    };
  const audit = async (): Promise<void> => {
    try {
      for (const drift of await writer.audit()) repair(drift);
      log.debug({ cluster }, "registry audit done");
    } catch (err) {
      log.warn({ err: errorMessage(err) }, "registry audit failed; trying again next period");
    }
  };

  const watcher = await etcd.watch().prefix(clusterPrefix(cluster)).create();
  watcher.on("put", event(true));
  watcher.on("delete", event(false));
  // etcd3 reconnects the watch itself; what it misses meanwhile, the next audit finds.
  watcher.on("error", (err) => log.warn({ err: errorMessage(err) }, "registry repair watch failed"));
  let auditing = audit();
  const timer = setInterval(() => {
    auditing = auditing.then(audit);
  }, resyncPeriodMs);
  try {
    await new Promise((r) => signal.addEventListener("abort", r, { once: true }));
  } finally {
    clearInterval(timer);
    await watcher.cancel().catch(() => {});
    await auditing;
  }
};
