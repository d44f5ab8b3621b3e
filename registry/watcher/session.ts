// One etcd watch of the registry prefix from a given revision (or one watch per range of a scoped
// watcher, ./scope.ts, each from its own revision), until it fails. A fresh watch per
// session: the client never resumes a watch itself (a resume can skip events etcd replays); the
// caller starts a new session from the revision it applied last, or re-lists (./loop.ts). The
// session ends at the first of: a watch stream ending (an error, a
// compaction: etcd cancels the watch, a disconnect, or a clean end), not every `created` within the
// request timeout, two liveness probes failing in a row, a probe answering below the revision
// already seen (a restored etcd) or from another cluster id, the caller's periodic check finding
// a reason (a scoped watcher's new cluster), or the abort of `signal`.
//
// Liveness: watches ask for progress notifications, but etcd sends them only every 10 minutes by
// default (--watch-progress-notify-interval), and neither client can request one (etcd3 1.1.2
// has no progress request; etcd's HTTP gateway ignores one sent in the watch request body); so
// every `probeIntervalMs` a point read of the prefix key (one key, no range scan) proves etcd
// answers. Any response, probe or watch, counts as contact. A frozen etcd or a connection
// dropped without a reset leaves a watch stream silent for good unless the client has keepalive:
// the probes notice, and the loop re-lists; with etcd3, whose next watcher may attach to the same
// silent gRPC stream, on every connect timeout, so the snapshot still follows etcd and status()
// still says "not connected".
import { asError, errorMessage } from "../../common/errors.ts";
import type { KeyRange, RegistryClient } from "./client.ts";
import type { WatchEvent } from "./store.ts";

/**
 * Why a watch session ended: a closed set, used as a metric label. `detail` says what exactly
 * happened, for logs and tests. RESUMABLE says which a new watch from the last applied revision
 * recovers from; the others need a re-list.
 */
export type RestartReason =
  | "watch_error"
  | "watch_ended"
  | "watch_canceled"
  | "apply_failed"
  | "watch_timeout"
  | "probe_failed"
  | "revision_backwards"
  | "cluster_changed"
  | "clusters_added"
  | "list_failed"
  | "aborted";

/**
 * Ends after which a new watch from the last applied revision loses nothing: etcd keeps every
 * revision it has not compacted, and asking for a compacted one ends that watch as
 * watch_canceled. (etcd restarted, a connection broke, a probe failed, no `created` in time.)
 */
export const RESUMABLE: ReadonlySet<RestartReason> = new Set([
  "watch_error",
  "watch_ended",
  "watch_timeout",
  "probe_failed",
]);

export interface SessionEnd {
  reason: RestartReason;
  detail: string;
}

/** One watch of a session: the keys of `range` from `fromRevision`. */
export interface RangeWatch {
  range: KeyRange;
  fromRevision: number;
}

export interface SessionOptions {
  client: RegistryClient;
  /** One watch per entry (none: connected at once, only probes and the check run). */
  watches: readonly RangeWatch[];
  /** The key the liveness probes read (one key, no range scan). */
  probeKey: string;
  signal: AbortSignal;
  probeIntervalMs: number;
  requestTimeoutMs: number;
  /** The highest revision seen so far; a probe answering below it (as of when it was sent) ends the session. */
  highWater: () => number;
  /** The cluster id of the last listing; a probe answering with another one ends the session. */
  clusterId: string | undefined;
  /** Once every watch is created, with the highest of their header revisions. */
  onConnected: (revision: number) => void;
  /** One watch response of watches[index] (events may be empty: a progress notification). Must not throw. */
  onResponse: (index: number, events: WatchEvent[], revision: number) => void;
  onProbe: (outcome: { revision: number } | { error: Error }) => void;
  /** Run every `intervalMs` while connected; a SessionEnd it resolves with ends the session (a failed check is ignored: the probes watch liveness). */
  check?: { intervalMs: number; run: () => Promise<SessionEnd | undefined> };
}

interface ProbeOptions {
  client: RegistryClient;
  key: string;
  intervalMs: number;
  timeoutMs: number;
  highWater: () => number;
  clusterId: string | undefined;
  onProbe: SessionOptions["onProbe"];
  /** Ends the session: etcd looks different, or two probes in a row failed. */
  end: (reason: RestartReason, detail: string) => void;
}

/**
 * Why etcd answering with `header` is not the etcd history seen so far (a revision below
 * `highWater`: restored; another cluster id: replaced), or undefined when it is.
 */
export const changedEtcd = (
  header: { revision: number; clusterId: string },
  highWater: number,
  clusterId: string | undefined,
): SessionEnd | undefined => {
  if (header.revision < highWater)
    return {
      reason: "revision_backwards",
      detail: `revision went backwards: etcd answered at ${header.revision}, ${highWater} seen`,
    };
  if (clusterId !== undefined && header.clusterId !== clusterId)
    return {
      reason: "cluster_changed",
      detail: `etcd cluster id changed from ${clusterId} to ${header.clusterId}`,
    };
  return undefined;
};

/** Probes etcd every `intervalMs` with a point read of `key`; returns a function that stops probing. */
const startProbing = (opts: ProbeOptions): (() => void) => {
  let stopped = false;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  const probe = async (): Promise<void> => {
    const mark = opts.highWater();
    try {
      const header = await opts.client.read(opts.key, opts.timeoutMs);
      if (stopped) return;
      failures = 0;
      const changed = changedEtcd(header, mark, opts.clusterId);
      if (changed) return opts.end(changed.reason, changed.detail);
      opts.onProbe({ revision: header.revision });
    } catch (err) {
      if (stopped) return;
      failures++;
      opts.onProbe({ error: asError(err) });
      if (failures >= 2) return opts.end("probe_failed", `liveness probe failed twice: ${errorMessage(err)}`);
    }
    if (!stopped) timer = setTimeout(probe, opts.intervalMs);
  };
  timer = setTimeout(probe, opts.intervalMs);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
};

/** Watches every range of `watches` until the session must be replaced; resolves with why (never rejects). */
export const watchSession = (opts: SessionOptions): Promise<SessionEnd> =>
  new Promise((resolve) => {
    const { client, signal } = opts;
    let done = false;
    let checkTimer: NodeJS.Timeout | undefined;
    const finish = (reason: RestartReason, detail: string): void => {
      if (done) return;
      done = true;
      clearTimeout(connectTimer);
      clearTimeout(checkTimer);
      stopProbing();
      signal.removeEventListener("abort", onAbort);
      void Promise.all(streams.map((stream) => stream.cancel())).then((notes) =>
        resolve({ reason, detail: `${detail}${notes.join("")}` }),
      );
    };
    const onAbort = (): void => finish("aborted", "aborted");
    const runCheck = (): void => {
      const check = opts.check;
      if (check === undefined || done) return;
      checkTimer = setTimeout(async () => {
        const end = await check.run().catch(() => undefined);
        if (done) return;
        if (end !== undefined) return finish(end.reason, end.detail);
        runCheck();
      }, check.intervalMs);
    };

    let created = 0;
    let createdRevision = 0;
    const streams = opts.watches.map(({ range, fromRevision }, index) =>
      client.watch(
        { range, fromRevision },
        {
          onCreated: (revision) => {
            if (done) return;
            created++;
            createdRevision = Math.max(createdRevision, revision);
            if (created < opts.watches.length) return;
            clearTimeout(connectTimer);
            opts.onConnected(createdRevision);
            runCheck();
          },
          onResponse: (events, revision) => {
            if (done) return;
            try {
              opts.onResponse(index, events, revision);
            } catch (err) {
              // A client may rethrow a listener's error on a later tick and crash the process.
              finish("apply_failed", `applying watch events failed: ${errorMessage(err)}`);
            }
          },
          onEnd: (end) => finish(end.reason, end.detail),
        },
      ),
    );

    const connectTimer = setTimeout(
      () => finish("watch_timeout", `watch not established within ${opts.requestTimeoutMs} ms`),
      opts.requestTimeoutMs,
    );
    // Nothing to watch (a scoped watcher before any cluster exists): connected at once; the probes
    // and the check go on.
    if (opts.watches.length === 0)
      queueMicrotask(() => {
        if (done) return;
        clearTimeout(connectTimer);
        opts.onConnected(0);
        runCheck();
      });
    const stopProbing = startProbing({
      client,
      key: opts.probeKey,
      intervalMs: opts.probeIntervalMs,
      timeoutMs: opts.requestTimeoutMs,
      highWater: opts.highWater,
      clusterId: opts.clusterId,
      onProbe: opts.onProbe,
      end: finish,
    });
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
