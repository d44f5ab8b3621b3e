// The writer's in-memory index of its own cluster's record keys (listed from its subtree only):
// for each object, the keys holding its records (normally one; more only if it was left under
// several VPNs) with the raw value and the mod_revision the writer last saw. It is what `sync`
// compares against, without reading etcd.
import type { Etcd3 } from "etcd3";
import { asError } from "../../common/errors.ts";
import { decodeRecord } from "../codec.ts";
import { RegistryKeyError } from "../errors.ts";
import { explainKey, isRecordKey, type RecordKeyParts } from "../keys.ts";
import type { Keyring } from "../seal/index.ts";
import type { ObjectRef } from "../types.ts";
import { listClusterKeys } from "./listing.ts";

export interface IndexEntry {
  key: string;
  /** The stored value as text (possibly not a valid record). */
  value: string;
  modRevision: string;
}

export interface WriterIndex {
  /** The entries of `ref`'s object, in key order. */
  entries(ref: ObjectRef): IndexEntry[];
  /** Records `entry` as the current content of its key for `ref`. */
  set(ref: ObjectRef, entry: IndexEntry): void;
  /** Forgets `key` of `ref` (it was deleted). */
  remove(ref: ObjectRef, key: string): void;
  /** The objects that have at least one entry, sorted by kind, namespace and name. */
  refs(): ObjectRef[];
}

/** A stable identifier of the object `ref` names. */
export const objectId = (ref: ObjectRef): string => `${ref.kind}/${ref.namespace ?? ""}/${ref.name}`;

/** The object a record key belongs to. */
export const refOfKey = (parts: RecordKeyParts): ObjectRef =>
  parts.kind === "vpn"
    ? { kind: "vpn", name: parts.name }
    : { kind: parts.kind, namespace: parts.namespace, name: parts.name };

/** An empty index. */
export const createIndex = (): WriterIndex => {
  const objects = new Map<string, { ref: ObjectRef; byKey: Map<string, IndexEntry> }>();
  return {
    entries: (ref) => {
      const byKey = objects.get(objectId(ref))?.byKey;
      return byKey === undefined ? [] : [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
    },
    set: (ref, entry) => {
      const id = objectId(ref);
      const object = objects.get(id) ?? { ref, byKey: new Map<string, IndexEntry>() };
      object.byKey.set(entry.key, entry);
      objects.set(id, object);
    },
    remove: (ref, key) => {
      const id = objectId(ref);
      const byKey = objects.get(id)?.byKey;
      byKey?.delete(key);
      if (byKey?.size === 0) objects.delete(id);
    },
    refs: () =>
      [...objects.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([, object]) => ({ ...object.ref })),
  };
};

export interface LoadOptions {
  /** Called for each listed key whose key or value is invalid; such values are still indexed. */
  onInvalid?: ((key: string, error: Error) => void) | undefined;
  /** Opens sealed records (and seals what the writer writes); undefined: records are written in clear. */
  keyring?: Keyring | undefined;
  pageSize?: number | undefined;
}

/** The index of `cluster`'s record keys as etcd holds them now; throws the etcd3 error of a failed listing (no retry). */
export const loadIndex = async (
  client: Etcd3,
  cluster: string,
  { onInvalid, pageSize, keyring }: LoadOptions = {},
): Promise<WriterIndex> => {
  const index = createIndex();
  const { keys } = await listClusterKeys(client, cluster, { pageSize });
  for (const { key, value, modRevision } of keys) {
    const parts = explainKey(key);
    if (typeof parts === "string" || !isRecordKey(parts)) {
      // Not an object's key: sync can never address it, so it is reported and left alone.
      onInvalid?.(
        key,
        new RegistryKeyError(typeof parts === "string" ? parts : `${key} is not a record key`),
      );
      continue;
    }
    try {
      decodeRecord(key, value, keyring);
    } catch (error) {
      onInvalid?.(key, asError(error));
    }
    index.set(refOfKey(parts), { key, value: value.toString(), modRevision });
  }
  return index;
};
