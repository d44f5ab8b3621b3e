// The registry watcher's records between etcd and the published snapshots. Pure: no I/O, no
// timers. A full listing replaces the records (diffed against the previous snapshot: records
// whose mod_revision is unchanged are reused without decoding, keys absent from the listing are
// the deletions); a batch of watch events is applied to a copy. Every published snapshot is
// frozen and holds its own Map, never mutated afterwards. Only keys in the record collections
// (vpns/, functions/, subscriptions/) become records; heartbeat and leader keys are ignored.
import { decodeRecord } from "../registry/codec.ts";
import { collectionPrefix } from "../registry/keys.ts";
import type { RegistryRecord } from "../registry/types.ts";
import type { RegistrySnapshot } from "./types.ts";

/** One key as etcd holds it. */
export interface StoredValue {
  key: string;
  value: Buffer;
  modRevision: number;
}

/** Every key under the watched prefix at one revision. */
export interface StoreListing {
  revision: number;
  clusterId: string;
  kvs: readonly StoredValue[];
}

/** One watch event; for a delete, `value` is empty and `modRevision` is the revision of the delete. */
export interface WatchEvent extends StoredValue {
  type: "put" | "delete";
}

export interface ResyncResult {
  snapshot: RegistrySnapshot;
  added: number;
  changed: number;
  deleted: number;
  /** The listing is older than a revision already seen (a restored or replaced etcd). */
  backwards: boolean;
  /** etcd answered with another cluster id than the previous listing's. */
  clusterChanged: boolean;
}

const RECORD_PREFIXES = (["vpn", "function", "subscription"] as const).map(collectionPrefix);

/** Whether `key` lies in a record collection rather than among heartbeat or leader keys. */
export const isRecordCollectionKey = (key: string): boolean => RECORD_PREFIXES.some((p) => key.startsWith(p));

const freeze = (revision: number, records: ReadonlyMap<string, RegistryRecord>): RegistrySnapshot =>
  Object.freeze({ revision, records });

/** A record store reporting each invalid value (key and mod_revision) once through `onInvalid`. */
export const createRecordStore = ({
  onInvalid,
}: {
  onInvalid: (key: string, modRevision: number, err: Error) => void;
}) => {
  let snapshot: RegistrySnapshot | undefined;
  /** mod_revision of each key of the snapshot. */
  let versions = new Map<string, number>();
  /** Keys whose current value is invalid, with that value's mod_revision. */
  const invalid = new Map<string, number>();
  let listedRevision = 0;
  let lastApplied = 0;
  let highWater = 0;
  let clusterId: string | undefined;
  let invalidCount = 0;

  const decode = (kv: StoredValue): RegistryRecord | undefined => {
    try {
      const record = decodeRecord(kv.key, kv.value);
      invalid.delete(kv.key);
      return record;
    } catch (err) {
      if (invalid.get(kv.key) === kv.modRevision) return undefined;
      invalid.set(kv.key, kv.modRevision);
      invalidCount++;
      onInvalid(kv.key, kv.modRevision, err instanceof Error ? err : new Error(String(err)));
      return undefined;
    }
  };

  /** Replaces the records by `listing`; returns the new snapshot and how it differs from the previous one. */
  const resync = (listing: StoreListing): ResyncResult => {
    const previous = snapshot;
    const backwards = previous !== undefined && listing.revision < highWater;
    const clusterChanged = clusterId !== undefined && clusterId !== listing.clusterId;
    const reuse = !backwards && !clusterChanged;
    if (!reuse) invalid.clear();
    const records = new Map<string, RegistryRecord>();
    const nextVersions = new Map<string, number>();
    const stillInvalid = new Set<string>();
    let added = 0;
    let changed = 0;
    for (const kv of listing.kvs) {
      if (!isRecordCollectionKey(kv.key)) continue;
      const before = previous?.records.get(kv.key);
      let record = reuse && versions.get(kv.key) === kv.modRevision ? before : undefined;
      if (record === undefined) {
        if (reuse && invalid.get(kv.key) === kv.modRevision) {
          stillInvalid.add(kv.key);
          continue;
        }
        record = decode(kv);
        if (record === undefined) {
          stillInvalid.add(kv.key);
          continue;
        }
        if (before === undefined) added++;
        else changed++;
      }
      records.set(kv.key, record);
      nextVersions.set(kv.key, kv.modRevision);
    }
    for (const key of [...invalid.keys()]) if (!stillInvalid.has(key)) invalid.delete(key);
    let deleted = 0;
    for (const key of previous?.records.keys() ?? []) if (!records.has(key)) deleted++;
    const same = previous !== undefined && added + changed + deleted === 0;
    snapshot = freeze(listing.revision, same ? previous.records : records);
    versions = nextVersions;
    listedRevision = listing.revision;
    lastApplied = listing.revision;
    highWater = backwards ? listing.revision : Math.max(highWater, listing.revision);
    clusterId = listing.clusterId;
    return { snapshot, added, changed, deleted, backwards, clusterChanged };
  };

  /**
   * Applies one watch response's events in order; returns the new snapshot, or undefined when
   * no record changed (only heartbeats, or only duplicates). Events at or below the listed
   * revision, or older than the last applied one, are duplicates: skipped and counted.
   */
  const apply = (events: readonly WatchEvent[]): { snapshot?: RegistrySnapshot; duplicates: number } => {
    let next: Map<string, RegistryRecord> | undefined;
    let duplicates = 0;
    for (const event of events) {
      // Events of one transaction share a revision, hence `<` and not `<=` against lastApplied.
      if (event.modRevision <= listedRevision || event.modRevision < lastApplied) {
        duplicates++;
        continue;
      }
      lastApplied = event.modRevision;
      highWater = Math.max(highWater, event.modRevision);
      if (!isRecordCollectionKey(event.key)) continue;
      next ??= new Map(snapshot?.records);
      const record = event.type === "put" ? decode(event) : undefined;
      if (event.type === "delete") invalid.delete(event.key);
      if (record === undefined) {
        next.delete(event.key);
        versions.delete(event.key);
      } else {
        next.set(event.key, record);
        versions.set(event.key, event.modRevision);
      }
    }
    if (next === undefined) return { duplicates };
    snapshot = freeze(lastApplied, next);
    return { snapshot, duplicates };
  };

  return {
    resync,
    apply,
    /** Notes a revision etcd answered with (watch headers, probes), raising the high-water mark. */
    observe: (revision: number): void => {
      highWater = Math.max(highWater, revision);
    },
    snapshot: (): RegistrySnapshot | undefined => snapshot,
    /** The revision through which changes have been applied. */
    lastApplied: (): number => lastApplied,
    /** The highest revision etcd has answered with in the current history. */
    highWater: (): number => highWater,
    clusterId: (): string | undefined => clusterId,
    /** How many invalid values (distinct key and mod_revision) have been seen. */
    invalidCount: (): number => invalidCount,
  };
};

export type RecordStore = ReturnType<typeof createRecordStore>;
