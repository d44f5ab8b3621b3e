// Lists every key under a prefix page by page at one revision (the first page's), so that the
// listing is one consistent cut of etcd and the watch can start right after it. Pages are
// bounded by count. A page larger than the client's receive limit (records can be up to 1 MiB;
// @grpc/grpc-js accepts 4 MiB by default, the HTTP client as much in JSON) fails as
// ListPageTooLargeError so that the caller lists again with smaller pages; not at once, because
// etcd3 has by then retried the page three times, which opens its circuit breaker for that host
// for 5 s.
import { ListPageTooLargeError, prefixEnd, type RegistryClient } from "./client.ts";
import type { StoredValue, StoreListing } from "./store.ts";

export { ListPageTooLargeError };

export interface ListOptions {
  /** Keys per page at most. */
  pageSize?: number;
  /** Deadline of each page request, in ms. */
  timeoutMs?: number;
}

/**
 * Every key under `prefix` with its value and mod_revision, at the revision of the first page;
 * throws ListPageTooLargeError, or the client's error of a failed page (no retry here; a
 * compaction of that revision while paging surfaces as such an error).
 */
export const listPrefix = async (
  client: RegistryClient,
  prefix: string,
  { pageSize = 5000, timeoutMs = 10_000 }: ListOptions = {},
): Promise<StoreListing> => {
  const end = prefixEnd(Buffer.from(prefix));
  let start = Buffer.from(prefix);
  let revision: number | undefined;
  let clusterId = "";
  const kvs: StoredValue[] = [];
  for (;;) {
    const page = await client.range({
      start,
      end,
      limit: pageSize,
      timeoutMs,
      ...(revision === undefined ? {} : { revision }),
    });
    revision ??= page.revision;
    clusterId = page.clusterId;
    kvs.push(...page.kvs);
    const last = page.kvs.at(-1);
    if (!page.more || last === undefined) break;
    start = Buffer.concat([Buffer.from(last.key), Buffer.from([0])]);
  }
  return { revision: revision ?? 0, clusterId, kvs };
};
