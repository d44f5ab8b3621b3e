// Drift: changes to this cluster's record keys that the writer did not make (an edit, a delete or
// a stray key written behind the operator's back). A watch event or a listing of the cluster's
// collections is compared with the writer's index; a foreign change is taken into the index, so
// that the next sync of its object sees etcd's content and rewrites (or removes) it, and is
// reported to the caller, who enqueues that object. The writer's own writes are recognised by
// their mod_revision, and observations older than what the writer already knows are ignored.
import { explainKey, isRecordKey } from "../keys.ts";
import type { ObjectRef } from "../types.ts";
import { listClusterKeys } from "./listing.ts";
import { refOfKey, type WriterIndex } from "./own-keys.ts";

/** What etcd held for one key at revision `asOf`. */
export interface Observation {
  key: string;
  /** The value as text; undefined when the key was absent (deleted). */
  value: string | undefined;
  /** The key's mod_revision (for an absent key: the revision of its delete, or `asOf`). */
  modRevision: string;
  /** The revision the observation reflects (a watch event's, or a listing's). */
  asOf: string;
}

/** A foreign change of one of the cluster's record keys. */
export interface Drift {
  ref: ObjectRef;
  key: string;
  /** "changed": another value; "deleted": the key is gone; "added": a key the writer never wrote. */
  change: "changed" | "deleted" | "added";
}

/**
 * Compares `seen` with the index of `cluster`'s keys and takes a foreign change into it; returns
 * the change, or undefined when it is the writer's own, already known, or not a record key of
 * `cluster` (those are never synced). `knownAt` is the last revision at which the writer itself
 * wrote or read the object's keys: an observation older than that says nothing new.
 */
export const compareObservation = (
  index: WriterIndex,
  cluster: string,
  seen: Observation,
  knownAt: (ref: ObjectRef) => bigint,
): Drift | undefined => {
  const parts = explainKey(seen.key);
  if (typeof parts === "string" || !isRecordKey(parts) || parts.cluster !== cluster) return undefined;
  const ref = refOfKey(parts);
  const asOf = BigInt(seen.asOf);
  if (knownAt(ref) > asOf) return undefined;
  const entry = index.entries(ref).find((e) => e.key === seen.key);
  if (entry !== undefined && BigInt(entry.modRevision) > asOf) return undefined;
  if (seen.value === undefined) {
    if (entry === undefined) return undefined;
    index.remove(ref, seen.key);
    return { ref, key: seen.key, change: "deleted" };
  }
  if (entry?.modRevision === seen.modRevision) return undefined;
  index.set(ref, { key: seen.key, value: seen.value, modRevision: seen.modRevision });
  // The same bytes written again (by anyone): nothing to repair, the index now has its revision.
  if (entry?.value === seen.value) return undefined;
  return { ref, key: seen.key, change: entry === undefined ? "added" : "changed" };
};

/** Every record key of `cluster` as listed now, and the index's keys absent from that listing, as observations. */
export const listObservations = async (
  client: Parameters<typeof listClusterKeys>[0],
  cluster: string,
  index: WriterIndex,
  pageSize?: number,
): Promise<Observation[]> => {
  const listing = await listClusterKeys(client, cluster, { pageSize });
  const asOf = listing.revision;
  const listed = new Set<string>();
  const seen: Observation[] = listing.keys.map(({ key, value, modRevision }) => {
    listed.add(key);
    return { key, value: value.toString(), modRevision, asOf };
  });
  for (const ref of index.refs()) {
    for (const { key } of index.entries(ref)) {
      if (!listed.has(key)) seen.push({ key, value: undefined, modRevision: asOf, asOf });
    }
  }
  return seen;
};
