// The registry watcher's loop: list, publish, watch until the watch fails, then again, with
// capped exponential backoff and jitter between failed attempts. A watch that failed in a way a
// new watch recovers from (etcd restarted, a connection broke: RESUMABLE) is followed by a new
// watch from the revision applied last, once a point read shows the same etcd at a revision no
// lower than already seen, without listing: after an etcd restart a fleet of gateways re-watches
// instead of re-listing the whole registry at once. A compaction of that revision, a restored or
// replaced etcd, or events that could not be applied need the re-list. An incident (from the first
// failure to the next successful resync) is logged when it starts, at every failed attempt (with
// its number, the wait before the next one and how long etcd has been unreachable — at most one
// line per maxBackoffMs once the backoff is capped, never silence) and once when it ends. A scoped
// watcher (./scope.ts) lists its ranges and watches each from its own revision, and while watching
// looks for clusters that appeared, which its ranges must then cover (a re-list).
import { backoffDelay, pause } from "../../common/backoff.ts";
import { errorMessage } from "../../common/errors.ts";
import type { Logger } from "../../common/log.ts";
import type { RegistrySnapshot } from "../snapshot.ts";
import { type KeyRange, prefixRange, type RegistryClient } from "./client.ts";
import { ListPageTooLargeError, listPrefix } from "./list.ts";
import { discoverClusters, type RegistryScope, scopedListing } from "./scope.ts";
import { changedEtcd, RESUMABLE, type SessionEnd, watchSession } from "./session.ts";
import type { RecordStore, StoreListing } from "./store.ts";

export interface LoopTiming {
  baseBackoffMs: number;
  maxBackoffMs: number;
  probeIntervalMs: number;
  requestTimeoutMs: number;
  pageSize: number;
  /** A re-list that replaces a watch first waits a random share of this (0: the backoff alone). */
  relistSpreadMs: number;
  /** A scoped watcher looks for new clusters this often while watching. */
  clusterCheckMs: number;
}

export interface LoopOptions {
  client: RegistryClient;
  log: Logger;
  prefix: string;
  /** Lists only this scope's ranges instead of the whole prefix (./scope.ts). */
  scope: RegistryScope | undefined;
  /** Named in failures: `list failed (etcd http://…): …`. */
  endpoints: readonly string[];
  signal: AbortSignal;
  store: RecordStore;
  /** Shared with status(): written here. `failing` is the current incident's last failure, undefined while none. */
  health: { connected: boolean; lastContactAt: number; restarts: number; failing: string | undefined };
  publish: (snapshot: RegistrySnapshot) => void;
  /** After a re-list that replaced a failed watch. */
  onRestart: (end: SessionEnd) => void;
  /** After a new watch from the last applied revision replaced a failed one, without a re-list. */
  onResumed: (end: SessionEnd) => void;
  onListed: (startedAt: number) => void;
  beforeWatch: ((listedRevision: number) => Promise<void> | void) | undefined;
  timing: LoopTiming;
  /** For the re-list spread (tests fix it). */
  random?: () => number;
}

/** Runs the list-watch-resync loop until `signal` aborts; never rejects on etcd errors (it retries them). */
export const runWatchLoop = async (opts: LoopOptions): Promise<void> => {
  const { client, log, prefix, signal, store, health, timing } = opts;
  let incident: { end: SessionEnd; since: number; attempts: number } | undefined;
  const contact = (): void => {
    health.lastContactAt = Date.now();
  };
  /** Records a failed attempt; `retryInMs` is the wait before the next one, logged with it. */
  const fail = (end: SessionEnd, retryInMs: number): void => {
    health.connected = false;
    health.failing = end.detail;
    const wait = Math.round(retryInMs);
    if (incident === undefined) {
      incident = { end, since: Date.now(), attempts: 1 };
      const revision = store.snapshot()?.revision;
      const msg =
        revision === undefined
          ? "registry not listed yet; retrying"
          : RESUMABLE.has(end.reason)
            ? "registry watch interrupted; watching again"
            : "registry watch interrupted; re-listing";
      log.warn({ reason: end.detail, revision, attempt: 1, retryInMs: wait }, msg);
    } else {
      incident.attempts++;
      log.warn(
        {
          reason: end.detail,
          attempt: incident.attempts,
          retryInMs: wait,
          downMs: Date.now() - incident.since,
        },
        "registry still unreachable; retrying",
      );
    }
  };

  const resync = (listing: StoreListing): void => {
    const previousRevision = store.snapshot()?.revision;
    const result = store.resync(listing);
    const counts = { added: result.added, changed: result.changed, deleted: result.deleted };
    if (result.backwards) {
      log.warn(
        { from: previousRevision, to: listing.revision },
        "registry revision went backwards; resyncing",
      );
    }
    if (result.clusterChanged)
      log.warn({ clusterId: listing.clusterId }, "etcd cluster id changed; resyncing");
    const { end: cause, attempts = 0, since = Date.now() } = incident ?? {};
    const downMs = Date.now() - since;
    incident = undefined;
    health.failing = undefined;
    if (previousRevision === undefined) {
      const { records, clusters } = result.snapshot;
      log.info(
        {
          revision: listing.revision,
          records: records.size,
          clusters: clusters.size,
          failedAttempts: attempts,
          downMs,
        },
        "registry listed",
      );
    } else {
      const end: SessionEnd = result.backwards
        ? { reason: "revision_backwards", detail: "revision went backwards" }
        : (cause ?? { reason: "watch_error", detail: "resync" });
      health.restarts++;
      opts.onRestart(end);
      log.info(
        { reason: end.detail, revision: listing.revision, ...counts, attempts, downMs },
        "registry resynced",
      );
    }
    opts.publish(result.snapshot);
  };

  /** Ends the incident a new watch (without a re-list) recovered from. */
  const resumed = (fromRevision: number): void => {
    if (incident === undefined) return;
    const { end, attempts, since } = incident;
    incident = undefined;
    health.failing = undefined;
    opts.onResumed(end);
    log.info(
      { reason: end.detail, fromRevision, attempts, downMs: Date.now() - since },
      "registry watch resumed",
    );
  };

  // Watch responses that arrive together (a bulk change: one per write) are published as one
  // snapshot, after the event loop's current I/O: one copy of the records instead of one each.
  let publishing = false;
  const publishSoon = (): void => {
    if (publishing) return;
    publishing = true;
    setImmediate(() => {
      publishing = false;
      const snapshot = store.seal();
      if (snapshot !== undefined) opts.publish(snapshot);
    });
  };

  /** What the last listing read, to watch: the prefix, or a scoped watcher's ranges and the clusters they cover. */
  let ranges: KeyRange[] = [prefixRange(prefix)];
  let clusters: ReadonlySet<string> | undefined;

  /** A scoped watcher's check for clusters that appeared since its listing (their ranges need one). */
  const clusterCheck = (known: ReadonlySet<string>) => ({
    intervalMs: timing.clusterCheckMs,
    run: async (): Promise<SessionEnd | undefined> => {
      const found = await discoverClusters(client, { timeoutMs: timing.requestTimeoutMs });
      const added = found.clusters.filter((cluster) => !known.has(cluster));
      return added.length === 0
        ? undefined
        : { reason: "clusters_added", detail: `cluster(s) ${added.join(", ")} appeared` };
    },
  });

  const watch = async (
    from: readonly number[],
    resuming: boolean,
  ): Promise<{ end: SessionEnd; connectedAt?: number }> => {
    let connectedAt: number | undefined;
    const end = await watchSession({
      client,
      watches: ranges.map((range, i) => ({ range, fromRevision: from[i] ?? 0 })),
      probeKey: prefix,
      signal,
      probeIntervalMs: timing.probeIntervalMs,
      requestTimeoutMs: timing.requestTimeoutMs,
      highWater: store.highWater,
      clusterId: store.clusterId(),
      onConnected: (revision) => {
        connectedAt = Date.now();
        health.connected = true;
        store.observe(revision);
        contact();
        if (resuming) resumed(from.length > 0 ? Math.min(...from) : store.lastApplied());
      },
      onResponse: (index, events, revision) => {
        contact();
        health.connected = true;
        store.observe(revision);
        const { changed, duplicates } = store.stage(events, index);
        if (duplicates > 0)
          log.warn({ duplicates, fromRevision: from[index] }, "duplicate watch events skipped");
        if (changed) publishSoon();
      },
      onProbe: (outcome) => {
        if ("error" in outcome) {
          if (health.connected) log.warn({ err: outcome.error.message }, "registry liveness probe failed");
          health.connected = false;
          return;
        }
        contact();
        store.observe(outcome.revision);
        health.connected = connectedAt !== undefined;
      },
      ...(clusters === undefined ? {} : { check: clusterCheck(clusters) }),
    });
    return connectedAt === undefined ? { end } : { end, connectedAt };
  };

  /** Named in failures: ` (etcd http://…)`. */
  const onEtcd = opts.endpoints.length > 0 ? ` (etcd ${opts.endpoints.join(",")})` : "";
  let pageSize = timing.pageSize;
  /** Lists and publishes; returns the listed revision, or why it failed. */
  const list = async (): Promise<{ revision: number } | { failed: SessionEnd }> => {
    let step = "list";
    try {
      const startedAt = performance.now();
      const listOptions = { pageSize, timeoutMs: timing.requestTimeoutMs };
      let listing: StoreListing;
      if (opts.scope) {
        const scoped = await scopedListing(client, opts.scope, listOptions);
        ({ listing, ranges, clusters } = scoped);
      } else listing = await listPrefix(client, prefix, listOptions);
      contact();
      opts.onListed(startedAt);
      resync(listing);
      step = "beforeWatch hook";
      await opts.beforeWatch?.(listing.revision);
      return { revision: listing.revision };
    } catch (err) {
      if (signal.aborted) return { failed: { reason: "list_failed", detail: "aborted" } };
      if (err instanceof ListPageTooLargeError && pageSize > 1) {
        pageSize = Math.ceil(pageSize / 2);
        log.warn({ pageSize }, "registry list page over the gRPC receive limit; halving the page size");
      }
      return { failed: { reason: "list_failed", detail: `${step} failed${onEtcd}: ${errorMessage(err)}` } };
    }
  };

  /** Whether the same etcd answers at a revision no lower than seen: a new watch then loses nothing; why not otherwise. */
  const canResume = async (): Promise<true | { relist: SessionEnd } | { failed: SessionEnd }> => {
    try {
      const header = await client.read(prefix, timing.requestTimeoutMs);
      contact();
      const changed = changedEtcd(header, store.highWater(), store.clusterId());
      return changed ? { relist: changed } : true;
    } catch (err) {
      if (signal.aborted) return { failed: { reason: "aborted", detail: "aborted" } };
      return { failed: { reason: "list_failed", detail: `read failed${onEtcd}: ${errorMessage(err)}` } };
    }
  };

  // Every gateway of a fleet loses its watch at the same moment when etcd is restored, replaced or
  // compacted under them; each waits a random share of the spread before its re-list, so that
  // etcd serves the fleet's full listings spread over it instead of all at once.
  const spread = (): number => (opts.random ?? Math.random)() * timing.relistSpreadMs;

  let attempt = 0;
  let wait = 0;
  /** The last watch ended in a way a new watch from the last applied revision recovers from. */
  let resumable = false;
  while (!signal.aborted) {
    if (wait > 0) {
      await pause(wait, signal);
      if (signal.aborted) break;
    }
    let from: number[];
    const resuming = resumable && store.snapshot() !== undefined;
    if (resuming) {
      const check = await canResume();
      if (signal.aborted) break;
      if (check !== true && "failed" in check) {
        attempt++;
        wait = backoffDelay(attempt, timing.baseBackoffMs, timing.maxBackoffMs);
        fail(check.failed, wait);
        continue;
      }
      if (check !== true) {
        // Re-list (after a share of the spread); the incident's cause becomes what the check found.
        if (incident) incident.end = check.relist;
        resumable = false;
        wait = spread();
        log.warn({ reason: check.relist.detail, retryInMs: Math.round(wait) }, "registry must be re-listed");
        continue;
      }
      // From the revision applied last, not the one after: events of one revision that arrived
      // in part are applied again, which changes nothing.
      from = ranges.map((_, i) => store.resumeFrom(i));
    } else {
      const listed = await list();
      if (signal.aborted) break;
      if ("failed" in listed) {
        attempt++;
        wait = backoffDelay(attempt, timing.baseBackoffMs, timing.maxBackoffMs);
        fail(listed.failed, wait);
        continue;
      }
      from = ranges.map(() => listed.revision + 1);
    }
    const { end, connectedAt } = await watch(from, resuming);
    if (signal.aborted) break;
    resumable = RESUMABLE.has(end.reason);
    // A watch that held for a while starts a new incident from the shortest backoff.
    const stable = connectedAt !== undefined && Date.now() - connectedAt >= timing.maxBackoffMs;
    attempt = stable ? 1 : attempt + 1;
    wait = backoffDelay(attempt, timing.baseBackoffMs, timing.maxBackoffMs);
    if (!resumable) wait = Math.max(wait, spread());
    fail(end, wait);
  }
};
