// Lists every key under a prefix page by page at one revision (the first page's), so that the
// listing is one consistent cut of etcd and the watch can start right after it. Pages are
// bounded by count. A page larger than the client's gRPC receive limit (records can be up to
// 1 MiB, @grpc/grpc-js accepts 4 MiB by default) fails as ListPageTooLargeError so that the
// caller lists again with smaller pages; not at once, because etcd3 has by then retried the
// page three times, which opens its circuit breaker for that host for 5 s.
import { type Etcd3, GRPCResourceExhastedError, Range } from "etcd3";
import type { StoredValue, StoreListing } from "./store.ts";

export interface ListOptions {
  /** Keys per page at most. */
  pageSize?: number;
  /** Deadline of each page request, in ms. */
  timeoutMs?: number;
}

/** A page of `pageSize` keys was refused as larger than the gRPC receive limit. */
export class ListPageTooLargeError extends Error {
  override name = "ListPageTooLargeError";
  readonly pageSize: number;

  constructor(pageSize: number, cause: Error) {
    super(`a page of ${pageSize} keys is too large: ${cause.message}`, { cause });
    this.pageSize = pageSize;
  }
}

const tooLarge = (err: unknown): err is Error =>
  err instanceof GRPCResourceExhastedError ||
  (err instanceof Error && /larger than max|RESOURCE_EXHAUSTED/i.test(err.message));

/**
 * Every key under `prefix` with its value and mod_revision, at the revision of the first page;
 * throws ListPageTooLargeError, or the etcd3 error of a failed page (no retry here; a
 * compaction of that revision while paging surfaces as such an error).
 */
export const listPrefix = async (
  client: Etcd3,
  prefix: string,
  { pageSize = 5000, timeoutMs = 10_000 }: ListOptions = {},
): Promise<StoreListing> => {
  const range = Range.prefix(prefix);
  let start: Buffer = range.start;
  let revision: string | undefined;
  let clusterId = "";
  const kvs: StoredValue[] = [];
  for (;;) {
    const page = client
      .getAll()
      .inRange({ start, end: range.end })
      .limit(pageSize)
      .options({ deadline: Date.now() + timeoutMs });
    if (revision !== undefined) page.revision(revision);
    const response = await page.exec().catch((err: unknown) => {
      throw tooLarge(err) ? new ListPageTooLargeError(pageSize, err) : err;
    });
    revision ??= response.header.revision;
    clusterId = response.header.cluster_id;
    for (const kv of response.kvs) {
      kvs.push({ key: kv.key.toString(), value: kv.value, modRevision: Number(kv.mod_revision) });
    }
    const last = response.kvs.at(-1);
    if (!response.more || last === undefined) break;
    start = Buffer.concat([last.key, Buffer.from([0])]);
  }
  return { revision: Number(revision ?? "0"), clusterId, kvs };
};
