// The registry writer of one cluster's operator leader. Every write is one etcd transaction
// fenced twice: by the leader key's mod_revision (a deposed leader writes nothing once a new one
// has claimed the key) and by each touched key's mod_revision as last seen (nobody else's write
// is overwritten unknowingly). The writer never sleeps or retries with backoff: the operator's
// work queue does. Calls for the same object are serialised; different objects run concurrently.
// A request whose outcome is unknown (etcd3 also retries some failures itself, e.g. deadline
// exceeded) leaves the index possibly stale; the next sync's compare then fails, the keys are
// read back, and the write is redone or found "unchanged".
import type { Etcd3, IKeyValue, ITxnResponse } from "etcd3";
import { decodeRecord, encodeRecord } from "../codec.ts";
import {
  LeadershipLostError,
  RecordRefusedError,
  RegistryConflictError,
  WriterClosedError,
} from "../errors.ts";
import { explainKey, isRecordKey, leaderKey, recordKey } from "../keys.ts";
import type { Keyring } from "../seal/index.ts";
import type { ObjectRef, RegistryRecord } from "../types.ts";
import { compareObservation, type Drift, listObservations, type Observation } from "./drift.ts";
import {
  type IndexEntry,
  type LoadOptions,
  loadIndex,
  objectId,
  refOfKey,
  type WriterIndex,
} from "./own-keys.ts";

export type { ObjectRef } from "../types.ts";
export type { Drift, Observation } from "./drift.ts";

/** What `sync` did: "created" (the object had no record), "updated" (put and/or removed keys), "deleted", or nothing to do. */
export type WriteResult = "created" | "updated" | "unchanged" | "deleted" | "absent";

export interface RegistryWriter {
  /**
   * Makes the registry hold exactly `record` for `ref` in this cluster (or nothing when `record`
   * is undefined): puts it under its key and deletes the object's keys under any other VPN, in
   * one etcd transaction fenced by leadership. Answers "unchanged"/"absent" from the index alone.
   * Throws RecordRefusedError/InvalidRecordError (bad input, nothing sent), LeadershipLostError
   * (terminal: stop writing), RegistryConflictError (our keys changed under us twice in a row),
   * WriterClosedError, or the etcd3 error of a failed request (retry later).
   */
  sync(ref: ObjectRef, record: RegistryRecord | undefined): Promise<WriteResult>;
  /** The objects this cluster currently has records for (from the writer's index). */
  objects(): ObjectRef[];
  /** The record this cluster holds for `ref` (from the writer's index), or undefined when none or unreadable. */
  recorded(ref: ObjectRef): RegistryRecord | undefined;
  /** The etcd revision at which this cluster's record for `ref` was last written (from the writer's index), or undefined when none. */
  revision(ref: ObjectRef): number | undefined;
  /**
   * Checks one key as a watch saw it against the index (./drift.ts), after any sync of the same
   * object in flight: a change the writer did not make is taken into the index, so that the next
   * sync of the object rewrites or removes it, and returned; otherwise undefined. Never writes.
   */
  observe(seen: Observation): Promise<Drift | undefined>;
  /** Lists this cluster's record keys and observes each, and each indexed key the listing lacks; throws the etcd3 error of a failed listing (no retry). */
  audit(): Promise<Drift[]>;
  /** Stops the writer: later syncs throw WriterClosedError. The client stays open (it is the caller's). */
  close(): void;
}

export interface WriterOptions extends LoadOptions {
  client: Etcd3;
  /** This operator's cluster name (DNS-1123); the writer reads and writes only keys of its subtree (keys.ts clusterPrefix). */
  cluster: string;
  /** Who is writing (e.g. the Lease holder identity), stored in the leader key. */
  identity: string;
}

interface Desired {
  key: string;
  value: string;
}

interface Fence {
  client: Etcd3;
  cluster: string;
  identity: string;
  key: string;
  revision: string;
}

const refuse = (cluster: string, ref: ObjectRef, record: RegistryRecord): void => {
  const { owner } = record;
  if (owner.cluster !== cluster) {
    throw new RecordRefusedError(
      `record of cluster ${owner.cluster} refused by the writer of cluster ${cluster}`,
    );
  }
  if (record.kind !== ref.kind || owner.namespace !== ref.namespace || owner.name !== ref.name) {
    const of = `${record.kind} ${owner.namespace ?? ""}/${owner.name}`;
    throw new RecordRefusedError(`record of ${of} given for ${ref.kind} ${ref.namespace ?? ""}/${ref.name}`);
  }
};

const holderOf = (kv: IKeyValue | undefined): string | undefined => {
  try {
    const claim: unknown = kv === undefined ? undefined : JSON.parse(kv.value.toString());
    return claim !== null &&
      typeof claim === "object" &&
      "identity" in claim &&
      typeof claim.identity === "string"
      ? claim.identity
      : undefined;
  } catch {
    return undefined;
  }
};

/** Runs one fenced transaction: put `put`, delete `deletes`; on failure it reads back the leader key and every touched key. */
const transact = (
  fence: Fence,
  entries: IndexEntry[],
  put: Desired | undefined,
  deletes: IndexEntry[],
): { touched: string[]; committed: Promise<ITxnResponse> } => {
  const { client } = fence;
  const touched = [...(put === undefined ? [] : [put.key]), ...deletes.map((e) => e.key)];
  const txn = client.if(fence.key, "Mod", "==", fence.revision);
  for (const key of touched) {
    // mod_revision 0 is how etcd compares a key that does not exist: "still absent".
    txn.and(key, "Mod", "==", entries.find((e) => e.key === key)?.modRevision ?? "0");
  }
  const puts = put === undefined ? [] : [client.put(put.key).value(put.value)];
  txn.then(...puts, ...deletes.map((e) => client.delete().key(e.key)));
  txn.else(client.get(fence.key), ...touched.map((key) => client.get(key)));
  return { touched, committed: txn.commit() };
};

/** After a failed transaction: throws LeadershipLostError if the fence moved, else refreshes the touched keys in the index. */
const readBack = (fence: Fence, index: WriterIndex, ref: ObjectRef, touched: string[], res: ITxnResponse) => {
  const [leader, ...current] = res.responses.map((r) => r.response_range?.kvs[0]);
  if (leader?.mod_revision !== fence.revision) {
    throw new LeadershipLostError(fence.cluster, fence.identity, holderOf(leader));
  }
  for (const [i, key] of touched.entries()) {
    const kv = current[i];
    if (kv === undefined) index.remove(ref, key);
    else index.set(ref, { key, value: kv.value.toString(), modRevision: kv.mod_revision });
  }
};

const createWriter = (
  fence: Fence,
  index: WriterIndex,
  keyring: Keyring | undefined,
  pageSize?: number,
): RegistryWriter => {
  let stopped: Error | undefined;
  const queues = new Map<string, Promise<unknown>>();
  // Per object, the last revision at which this writer wrote or read back its keys (drift.ts).
  const known = new Map<string, bigint>();
  const knownAt = (ref: ObjectRef): bigint => known.get(objectId(ref)) ?? 0n;

  const attempt = async (
    ref: ObjectRef,
    desired: Desired | undefined,
    retried: boolean,
  ): Promise<WriteResult> => {
    if (stopped !== undefined) throw stopped;
    const entries = index.entries(ref);
    const deletes = entries.filter((e) => e.key !== desired?.key);
    const same =
      desired !== undefined && entries.some((e) => e.key === desired.key && e.value === desired.value);
    const put = same ? undefined : desired;
    if (put === undefined && deletes.length === 0) return desired === undefined ? "absent" : "unchanged";
    const { touched, committed } = transact(fence, entries, put, deletes);
    const res = await committed;
    known.set(objectId(ref), BigInt(res.header.revision));
    if (res.succeeded) {
      if (put !== undefined) index.set(ref, { ...put, modRevision: res.header.revision });
      for (const e of deletes) index.remove(ref, e.key);
      return desired === undefined ? "deleted" : entries.length === 0 ? "created" : "updated";
    }
    try {
      readBack(fence, index, ref, touched, res);
    } catch (error) {
      if (error instanceof LeadershipLostError) stopped = error;
      throw error;
    }
    if (retried) throw new RegistryConflictError(touched);
    return attempt(ref, desired, true);
  };

  const serial = <T>(id: string, run: () => Promise<T>): Promise<T> => {
    const next = (queues.get(id) ?? Promise.resolve()).then(run, run);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    queues.set(id, settled);
    void settled.then(() => queues.get(id) === settled && queues.delete(id));
    return next;
  };

  const writer: RegistryWriter = {
    sync: async (ref, record) => {
      if (stopped !== undefined) throw stopped;
      if (record !== undefined) refuse(fence.cluster, ref, record);
      // value before key: encoding names a bad record's offending field, recordKey only a segment.
      const desired =
        record === undefined ? undefined : { value: encodeRecord(record, keyring), key: recordKey(record) };
      return serial(objectId(ref), () => attempt(ref, desired, false));
    },
    objects: () => index.refs(),
    revision: (ref) => {
      const [entry] = index.entries(ref);
      return entry === undefined ? undefined : Number(entry.modRevision);
    },
    recorded: (ref) => {
      const [entry] = index.entries(ref);
      if (entry === undefined) return undefined;
      try {
        return decodeRecord(entry.key, entry.value, keyring);
      } catch {
        return undefined;
      }
    },
    observe: (seen) => {
      const parts = explainKey(seen.key);
      const id = typeof parts === "string" || !isRecordKey(parts) ? seen.key : objectId(refOfKey(parts));
      return serial(id, async () => compareObservation(index, fence.cluster, seen, knownAt));
    },
    audit: async () => {
      const seen = await listObservations(fence.client, fence.cluster, index, pageSize);
      const drifts = await Promise.all(seen.map((s) => writer.observe(s)));
      return drifts.filter((d) => d !== undefined);
    },
    close: () => {
      stopped ??= new WriterClosedError(`registry writer of cluster ${fence.cluster} is closed`);
    },
  };
  return writer;
};

/**
 * Claims `cluster`'s leader key for `identity` (a plain put: the Kubernetes Lease has already
 * made us leader; the key fences the previous one), then indexes the cluster's record keys (its
 * own subtree only).
 * Throws RegistryKeyError on a bad cluster name, or the etcd3 error of a failed request (no retry).
 */
export const openWriter = async ({
  client,
  cluster,
  identity,
  ...load
}: WriterOptions): Promise<RegistryWriter> => {
  const key = leaderKey(cluster);
  if (identity === "") throw new RangeError("registry writer identity must not be empty");
  const claim = JSON.stringify({ identity, claimedAt: new Date().toISOString() });
  const claimed = await client.put(key).value(claim).exec();
  const index = await loadIndex(client, cluster, load);
  return createWriter(
    { client, cluster, identity, key, revision: claimed.header.revision },
    index,
    load.keyring,
    load.pageSize,
  );
};
