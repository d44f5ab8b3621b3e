// Lists one cluster's record keys, page by page at one revision (a consistent snapshot). Only
// that cluster's record collections are read (its subtree, see ../keys.ts), never another
// cluster's keys, so an operator needs etcd read rights on its own prefix alone. Pages are
// bounded by count because gRPC refuses responses above its receive limit (4 MiB by default in
// @grpc/grpc-js); ranges are left unsorted on purpose: etcd already returns keys in order, and
// asking it to sort makes it read the whole range for every page.
import { type Etcd3, Range } from "etcd3";
import { collectionPrefix } from "../keys.ts";
import type { RecordKind } from "../types.ts";

export interface ListedKey {
  key: string;
  value: Buffer;
  modRevision: string;
}

export interface Listing {
  /** The revision the listing reflects. */
  revision: string;
  keys: ListedKey[];
}

const KINDS: RecordKind[] = ["vpn", "function", "subscription"];

/**
 * Every key in `cluster`'s VPN, Function and Subscription collections, at one revision (the
 * current one unless given); throws RegistryKeyError on a non-DNS cluster name, or the etcd3
 * error of a failed page (no retry here; a compacted revision surfaces as an etcd3 error too).
 */
export const listClusterKeys = async (
  client: Etcd3,
  cluster: string,
  { pageSize = 200, revision }: { pageSize?: number | undefined; revision?: string | undefined } = {},
): Promise<Listing> => {
  const prefixes = KINDS.map((kind) => collectionPrefix(cluster, kind));
  let at = revision;
  const keys: ListedKey[] = [];
  for (const prefix of prefixes) {
    const range = Range.prefix(prefix);
    let start: Buffer = range.start;
    for (;;) {
      const page = client.getAll().inRange({ start, end: range.end }).limit(pageSize);
      if (at !== undefined) page.revision(at);
      const response = await page.exec();
      at ??= response.header.revision;
      for (const kv of response.kvs) {
        keys.push({ key: kv.key.toString(), value: kv.value, modRevision: kv.mod_revision });
      }
      const last = response.kvs.at(-1);
      if (!response.more || last === undefined) break;
      start = Buffer.concat([last.key, Buffer.from([0])]);
    }
  }
  return { revision: at ?? "0", keys };
};
