// Lists every key under a prefix page by page at one revision (the first page's), so that the
// listing is one consistent cut of etcd and the watch can start right after it. Pages are
// bounded by count. A page larger than the client's receive limit (records can be up to 1 MiB;
// @grpc/grpc-js accepts 4 MiB by default, the HTTP client as much in JSON) fails as
// ListPageTooLargeError so that the caller lists again with smaller pages; not at once, because
// etcd3 has by then retried the page three times, which opens its circuit breaker for that host
// for 5 s.
import { type KeyRange, ListPageTooLargeError, prefixRange, type RegistryClient } from "./client.ts";
import type { StoredValue, StoreListing } from "./store.ts";

export { ListPageTooLargeError };

export interface ListOptions {
  /** Keys per page at most. */
  pageSize?: number;
  /** Deadline of each page request, in ms. */
  timeoutMs?: number;
}

/**
 * Every key in `range` with its value and mod_revision, at `revision` (undefined: the revision of
 * the first page, returned); throws ListPageTooLargeError, or the client's error of a failed page
 * (no retry here; a compaction of that revision while paging surfaces as such an error).
 */
export const listRange = async (
  client: RegistryClient,
  range: KeyRange,
  { pageSize = 5000, timeoutMs = 10_000, revision }: ListOptions & { revision?: number | undefined } = {},
): Promise<StoreListing> => {
  let start = range.start;
  let at = revision;
  let clusterId = "";
  const kvs: StoredValue[] = [];
  for (;;) {
    const page = await client.range({
      start,
      end: range.end,
      limit: pageSize,
      timeoutMs,
      ...(at === undefined ? {} : { revision: at }),
    });
    at ??= page.revision;
    clusterId = page.clusterId;
    kvs.push(...page.kvs);
    const last = page.kvs.at(-1);
    if (!page.more || last === undefined) break;
    start = Buffer.concat([Buffer.from(last.key), Buffer.from([0])]);
  }
  return { revision: at ?? 0, clusterId, kvs };
};

/** Every key under `prefix`, at the revision of the first page (see listRange). */
export const listPrefix = (
  client: RegistryClient,
  prefix: string,
  options: ListOptions = {},
): Promise<StoreListing> => listRange(client, prefixRange(prefix), options);
