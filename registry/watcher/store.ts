// The registry watcher's contents between etcd and the published snapshots. Pure: no I/O, no
// timers. Two parts: the records (keys in the record collections, by key) and the cluster
// heartbeats (heartbeat keys, by cluster name); leader, gateway and unknown keys are ignored
// (../keys.ts keyRole). A full listing replaces both (diffed against the previous snapshot: values
// whose mod_revision is unchanged are reused without decoding, keys absent from the listing are
// the deletions); a batch of watch events is applied to copies. Every published snapshot is
// frozen and holds its own Maps, never mutated afterwards; a part that did not change keeps its
// Map, so `records` is the same object when only heartbeats changed.

import { asError } from "../../common/errors.ts";
import { decodeHeartbeat, decodeRecord } from "../codec.ts";
import { NotThisReadersVpnError } from "../errors.ts";
import { keyRole } from "../keys.ts";
import type { Keyring } from "../seal/index.ts";
import type { RegistrySnapshot } from "../snapshot.ts";
import type { HeartbeatRecord, RegistryRecord } from "../types.ts";

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
  /** Records added, changed and deleted by the listing (heartbeats not counted). */
  added: number;
  changed: number;
  deleted: number;
  /** The listing is older than a revision already seen (a restored or replaced etcd). */
  backwards: boolean;
  /** etcd answered with another cluster id than the previous listing's. */
  clusterChanged: boolean;
}

/** One part of the snapshot: decoded values by etcd key (never mutated once published), and the mod_revision of each. */
interface Part<T> {
  values: ReadonlyMap<string, T>;
  versions: Map<string, number>;
}

const emptyPart = <T>(): Part<T> => ({ values: new Map(), versions: new Map() });

const byCluster = (heartbeats: ReadonlyMap<string, HeartbeatRecord>): Map<string, HeartbeatRecord> =>
  new Map([...heartbeats.values()].map((heartbeat) => [heartbeat.cluster, heartbeat]));

const freeze = (
  revision: number,
  records: ReadonlyMap<string, RegistryRecord>,
  clusters: ReadonlyMap<string, HeartbeatRecord>,
): RegistrySnapshot => Object.freeze({ revision, records, clusters });

/** A store reporting each invalid value (key and mod_revision) once through `onInvalid`. */
export const createRecordStore = ({
  onInvalid,
  keyring,
}: {
  onInvalid: (key: string, modRevision: number, err: Error) => void;
  /** Opens sealed records; records it cannot open (another VPN's) are left out, not reported. */
  keyring?: Keyring | undefined;
}) => {
  let snapshot: RegistrySnapshot | undefined;
  let records = emptyPart<RegistryRecord>();
  let heartbeats = emptyPart<HeartbeatRecord>();
  let clusters: ReadonlyMap<string, HeartbeatRecord> = new Map();
  /** Keys whose current value is invalid, with that value's mod_revision. */
  const invalid = new Map<string, number>();
  let listedRevision = 0;
  /** The highest mod_revision applied, over every watch. */
  let lastApplied = 0;
  /**
   * The last mod_revision applied from each watch since the listing (a scoped watcher's watches
   * each cover one range, in order within it, not with one another).
   */
  let appliedIn: number[] = [];
  let highWater = 0;
  let clusterId: string | undefined;
  let invalidCount = 0;

  const decoder =
    <T>(decode: (key: string, value: Buffer) => T) =>
    (kv: StoredValue): T | undefined => {
      try {
        const value = decode(kv.key, kv.value);
        invalid.delete(kv.key);
        return value;
      } catch (err) {
        if (err instanceof NotThisReadersVpnError) return undefined;
        if (invalid.get(kv.key) === kv.modRevision) return undefined;
        invalid.set(kv.key, kv.modRevision);
        invalidCount++;
        onInvalid(kv.key, kv.modRevision, asError(err));
        return undefined;
      }
    };
  const decodeRecordKv = decoder((key, value) => decodeRecord(key, value, keyring));
  const decodeHeartbeatKv = decoder(decodeHeartbeat);

  /** `part` as listed in `kvs`, reusing values whose mod_revision is unchanged when `reuse`; with the record diff. */
  const relist = <T>(
    part: Part<T>,
    kvs: readonly StoredValue[],
    reuse: boolean,
    decode: (kv: StoredValue) => T | undefined,
  ) => {
    const values = new Map<string, T>();
    const versions = new Map<string, number>();
    let added = 0;
    let changed = 0;
    for (const kv of kvs) {
      const before = part.values.get(kv.key);
      let value = reuse && part.versions.get(kv.key) === kv.modRevision ? before : undefined;
      if (value === undefined) {
        if (reuse && invalid.get(kv.key) === kv.modRevision) continue;
        value = decode(kv);
        if (value === undefined) continue;
        if (before === undefined) added++;
        else changed++;
      }
      values.set(kv.key, value);
      versions.set(kv.key, kv.modRevision);
    }
    let deleted = 0;
    for (const key of part.values.keys()) if (!values.has(key)) deleted++;
    const same = added + changed + deleted === 0;
    return { part: { values: same ? part.values : values, versions }, same, added, changed, deleted };
  };

  /** Replaces the contents by `listing`; returns the new snapshot and how its records differ from the previous ones. */
  const resync = (listing: StoreListing): ResyncResult => {
    // What was staged first, so that values and their mod_revisions agree before the diff.
    seal();
    const backwards = snapshot !== undefined && listing.revision < highWater;
    const clusterChanged = clusterId !== undefined && clusterId !== listing.clusterId;
    const reuse = !backwards && !clusterChanged;
    if (!reuse) invalid.clear();
    // One pass over the listing: a key's role is parsed once.
    const recordKvs: StoredValue[] = [];
    const heartbeatKvs: StoredValue[] = [];
    for (const kv of listing.kvs) {
      const role = keyRole(kv.key);
      if (role === "record") recordKvs.push(kv);
      else if (role === "heartbeat") heartbeatKvs.push(kv);
    }
    if (invalid.size > 0) {
      const listed = new Set<string>();
      for (const kv of recordKvs) listed.add(kv.key);
      for (const kv of heartbeatKvs) listed.add(kv.key);
      for (const key of [...invalid.keys()]) if (!listed.has(key)) invalid.delete(key);
    }
    const nextRecords = relist(records, recordKvs, reuse, decodeRecordKv);
    const nextHeartbeats = relist(heartbeats, heartbeatKvs, reuse, decodeHeartbeatKv);
    records = nextRecords.part;
    heartbeats = nextHeartbeats.part;
    if (!nextHeartbeats.same) clusters = byCluster(heartbeats.values);
    snapshot = freeze(listing.revision, records.values, clusters);
    listedRevision = listing.revision;
    lastApplied = listing.revision;
    appliedIn = [];
    highWater = backwards ? listing.revision : Math.max(highWater, listing.revision);
    clusterId = listing.clusterId;
    const { added, changed, deleted } = nextRecords;
    return { snapshot, added, changed, deleted, backwards, clusterChanged };
  };

  /** Applies `event` to `values` (a copy being built) and `versions`. */
  const applyEvent = <T>(
    values: Map<string, T>,
    versions: Map<string, number>,
    event: WatchEvent,
    decode: (kv: StoredValue) => T | undefined,
  ): void => {
    const value = event.type === "put" ? decode(event) : undefined;
    if (event.type === "delete") invalid.delete(event.key);
    if (value === undefined) {
      values.delete(event.key);
      versions.delete(event.key);
    } else {
      values.set(event.key, value);
      versions.set(event.key, event.modRevision);
    }
  };

  /** Copies being changed by staged watch events, published by seal(). */
  let draftRecords: Map<string, RegistryRecord> | undefined;
  let draftHeartbeats: Map<string, HeartbeatRecord> | undefined;

  /**
   * Applies one response of watch `watch` (the index of its range; 0 for a single watch), its
   * events in order, to copies that seal() publishes: responses staged one after another cost one
   * copy of the records, not one each (a bulk change sends thousands). `changed` says whether a
   * record or heartbeat changed (not only leader or gateway keys, or only duplicates). Events at or
   * below the listed revision, or older than the last one applied from the same watch, are
   * duplicates: skipped and counted.
   */
  const stage = (events: readonly WatchEvent[], watch = 0): { changed: boolean; duplicates: number } => {
    let changed = false;
    let duplicates = 0;
    for (const event of events) {
      // Events of one transaction share a revision, hence `<` and not `<=` against the last applied.
      if (event.modRevision <= listedRevision || event.modRevision < (appliedIn[watch] ?? 0)) {
        duplicates++;
        continue;
      }
      appliedIn[watch] = event.modRevision;
      lastApplied = Math.max(lastApplied, event.modRevision);
      highWater = Math.max(highWater, event.modRevision);
      const role = keyRole(event.key);
      if (role === "record") {
        draftRecords ??= new Map(records.values);
        applyEvent(draftRecords, records.versions, event, decodeRecordKv);
        changed = true;
      } else if (role === "heartbeat") {
        draftHeartbeats ??= new Map(heartbeats.values);
        applyEvent(draftHeartbeats, heartbeats.versions, event, decodeHeartbeatKv);
        changed = true;
      }
    }
    return { changed, duplicates };
  };

  /** Publishes what was staged as a new snapshot; undefined when nothing was. */
  const seal = (): RegistrySnapshot | undefined => {
    if (draftRecords === undefined && draftHeartbeats === undefined) return undefined;
    if (draftRecords !== undefined) records = { values: draftRecords, versions: records.versions };
    if (draftHeartbeats !== undefined) {
      heartbeats = { values: draftHeartbeats, versions: heartbeats.versions };
      clusters = byCluster(draftHeartbeats);
    }
    draftRecords = undefined;
    draftHeartbeats = undefined;
    snapshot = freeze(lastApplied, records.values, clusters);
    return snapshot;
  };

  return {
    resync,
    stage,
    seal,
    /** Notes a revision etcd answered with (watch headers, probes), raising the high-water mark. */
    observe: (revision: number): void => {
      highWater = Math.max(highWater, revision);
    },
    snapshot: (): RegistrySnapshot | undefined => snapshot,
    /** The highest mod_revision applied (the listing's revision when none since). */
    lastApplied: (): number => lastApplied,
    /** Where a new watch of range `watch` resumes: the last revision applied from it, or the listing's. */
    resumeFrom: (watch: number): number => appliedIn[watch] ?? listedRevision,
    /** The highest revision etcd has answered with in the current history. */
    highWater: (): number => highWater,
    clusterId: (): string | undefined => clusterId,
    /** How many invalid values (distinct key and mod_revision) have been seen. */
    invalidCount: (): number => invalidCount,
  };
};

export type RecordStore = ReturnType<typeof createRecordStore>;
