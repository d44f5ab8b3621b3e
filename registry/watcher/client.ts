// The registry watcher's whole view of etcd, typed narrowly: a paged range read at one revision,
// one watch from a revision, and a point read for liveness probes. Three implementations: over the
// etcd3 package (./clients/etcd3.ts, the operator's), over etcd's gRPC API on node:http2 with the
// few messages coded by hand (./clients/grpc/, the gateway's: it loads neither etcd3 nor gRPC), and
// over etcd's gRPC-gateway HTTP/JSON API with undici (./clients/http/, which cannot authenticate
// certificate users once etcd's auth is on). All pass one contract suite against a real etcd
// (../testing/client-contract.ts).
import type { StoredValue, WatchEvent } from "./store.ts";

/** Keys in [start, end). */
export interface KeyRange {
  start: Buffer;
  end: Buffer;
}

/** One page of a range read: keys in [start, end) in key order, at most `limit` of them. */
export interface RangeRequest {
  start: Buffer;
  end: Buffer;
  limit: number;
  /** Read at this revision (undefined: the current one). */
  revision?: number;
  timeoutMs: number;
}

export interface RangePage {
  /** The header revision: the revision the page was read at. */
  revision: number;
  clusterId: string;
  kvs: StoredValue[];
  /** More keys follow in the range beyond this page. */
  more: boolean;
}

/** What etcd answered a point read with: its header. */
export interface ReadHeader {
  revision: number;
  clusterId: string;
}

/**
 * How a watch stream ended by itself: `watch_canceled` when etcd canceled the watch (a compaction
 * of its start revision included) or answered what the client cannot read, which only a re-list
 * recovers from; `watch_error` for a failed or broken stream, `watch_ended` for a clean end, after
 * which a new watch from the last applied revision recovers.
 */
export interface WatchStreamEnd {
  reason: "watch_error" | "watch_ended" | "watch_canceled";
  detail: string;
}

/** What a watch delivers; never called from within watch() itself, and not after onEnd or after cancel() was called. */
export interface WatchHandlers {
  /** etcd created the watch; `revision` is the header revision then. */
  onCreated(revision: number): void;
  /** One watch response, in order; `events` is empty for a progress notification. May throw: the watch is then cancelled by the caller. */
  onResponse(events: WatchEvent[], revision: number): void;
  /** At most once. */
  onEnd(end: WatchStreamEnd): void;
}

export interface WatchStream {
  /** Stops the watch; resolves with a note for logs ("" when all went well), never rejects. */
  cancel(): Promise<string>;
}

export interface RegistryClient {
  /** One page; throws ListPageTooLargeError when the page is over the client's size limit, or the client's error of a failed request (no retry). */
  range(request: RangeRequest): Promise<RangePage>;
  /** A point read of `key` (one key, no range); throws the client's error of a failed request (no retry). */
  read(key: string, timeoutMs: number): Promise<ReadHeader>;
  /** Watches the keys in `range` from `fromRevision` (past events replayed); reports through `handlers`. */
  watch(request: { range: KeyRange; fromRevision: number }, handlers: WatchHandlers): WatchStream;
}

/** A page of `pageSize` keys was refused as larger than the client's receive limit. */
export class ListPageTooLargeError extends Error {
  override name = "ListPageTooLargeError";
  readonly pageSize: number;

  constructor(pageSize: number, cause: Error) {
    super(`a page of ${pageSize} keys is too large: ${cause.message}`, { cause });
    this.pageSize = pageSize;
  }
}

/** The end of the range of every key starting with `prefix` (etcd's prefix range end). */
export const prefixEnd = (prefix: Buffer): Buffer => {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    const byte = end[i] ?? 0;
    if (byte < 0xff) {
      end[i] = byte + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
};

/** The range of every key starting with `prefix`. */
export const prefixRange = (prefix: string): KeyRange => {
  const start = Buffer.from(prefix);
  return { start, end: prefixEnd(start) };
};

/** The range of `key` alone. */
export const keyRange = (key: string): KeyRange => {
  const start = Buffer.from(key);
  return { start, end: Buffer.concat([start, Buffer.from([0])]) };
};
