// The gateway's view of the registry: list the prefix at one revision, watch from that revision
// + 1, apply each watch response to a copy and publish it as a new immutable snapshot. On any
// watch failure (error, compaction, disconnect, failed liveness probes, a revision going
// backwards) it re-lists, diffs against the current snapshot (keys absent from the listing are
// deletions) and watches again, with capped exponential backoff and jitter between failed
// attempts. While etcd is unreachable the last snapshot keeps being served; status() says since
// when (lastContactAt). Snapshots (../snapshot.ts) hold the records and the live clusters'
// heartbeats. The loop is in ./loop.ts, one watch in ./session.ts, the contents
// in ./store.ts.
import { errorMessage } from "../../common/errors.ts";
import type { Logger } from "../../common/log.ts";
import { CLUSTERS_PREFIX, REGISTRY_PREFIX } from "../keys.ts";
import type { Keyring } from "../seal/index.ts";
import type { RegistrySnapshot } from "../snapshot.ts";
import type { RegistryClient } from "./client.ts";
import { type LoopOptions, runWatchLoop } from "./loop.ts";
import { type RegistryScope, scopeFields } from "./scope.ts";
import type { SessionEnd } from "./session.ts";
import { createRecordStore } from "./store.ts";

export type { RegistryScope } from "./scope.ts";
export type { RestartReason, SessionEnd } from "./session.ts";

export interface WatcherStatus {
  /** Revision of the current snapshot (0 before the first listing). */
  revision: number;
  /** The revision through which changes have been applied: the listing's after a (re)list, then each applied watch event's mod_revision (leader and gateway keys included). */
  lastAppliedModRevision: number;
  /** A watch is established and etcd answered the last liveness probe. */
  connected: boolean;
  /** When etcd last answered anything (ms epoch; 0 never): how stale the snapshot may be. */
  lastContactAt: number;
  /**
   * How long the snapshot may have been behind etcd, in ms: 0 while connected and etcd answered
   * within the last probe interval (plus a second's grace); otherwise the time since etcd last
   * answered anything. Computed when asked, so a frozen etcd shows within a probe interval and a
   * second, long before the probes' deadlines declare the watch lost. 0 before the first contact.
   */
  stalenessMs: number;
  /** Resyncs that replaced a failed watch (one per incident, however many attempts it took). */
  restarts: number;
  /** Invalid records and heartbeats seen (each key and mod_revision counted once); they are never in a snapshot. */
  invalidRecords: number;
  /** What the last attempt to list or watch ran into while etcd is failing (e.g. `list failed: … ECONNREFUSED …`); undefined once it answers again. */
  failing: string | undefined;
}

export interface RegistryWatcher {
  /** The latest complete snapshot; undefined until the first full list. */
  current(): RegistrySnapshot | undefined;
  /** Resolves once the first full snapshot exists; rejects if run() ends before that. */
  readonly ready: Promise<void>;
  /** Calls `listener` with each new snapshot (after a batch of watch events, or a resync); returns a function that stops it. */
  onSnapshot(listener: (snapshot: RegistrySnapshot) => void): () => void;
  status(): WatcherStatus;
  /** Lists, watches and resyncs until `signal` aborts; resolves then (it retries every etcd error itself). */
  run(signal: AbortSignal): Promise<void>;
}

export interface RegistryWatcherOptions {
  /** How the watcher reads etcd: ./clients/etcd3.ts or ./clients/http/index.ts. */
  client: RegistryClient;
  log: Logger;
  /** What to list and watch: REGISTRY_PREFIX or a narrower prefix under it. */
  prefix?: string;
  /**
   * Hold only part of the registry (./scope.ts): one VPN's records and the clusters' heartbeats (a
   * sidecar's), or other clusters' Functions (the operator's); list and watch those ranges alone.
   * The prefix must cover every cluster.
   */
  scope?: RegistryScope;
  /** How often a scoped watcher looks for clusters that appeared since its listing, in ms (default 30 000). */
  clusterCheckMs?: number;
  /** The client's etcd endpoints, named in every failure (the client's own errors often name none, e.g. its circuit breaker's). */
  endpoints?: readonly string[];
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** Called once per resync that replaced a failed watch, with the incident's first failure (or `revision_backwards`). */
  onRestart?: (end: SessionEnd) => void;
  /** Called once per new watch from the last applied revision that replaced a failed one without a re-list, with the incident's first failure. */
  onResumed?: (end: SessionEnd) => void;
  /** Called once per invalid record or heartbeat value (key and mod_revision). */
  onInvalid?: (key: string, err: Error) => void;
  /** Called after each full listing (the first and each resync), just before its snapshot is published, with when that listing started (performance.now()). */
  onListed?: (startedAt: number) => void;
  /** Time between liveness probes while watching, in ms (default 2000: it bounds how late a frozen etcd shows in stalenessMs). */
  probeIntervalMs?: number;
  /** Deadline of each list page and probe, and of establishing a watch, in ms. */
  requestTimeoutMs?: number;
  /**
   * Keys per list page (default 5000: about 2 MB of typical records, half the gRPC receive limit;
   * a page over the limit is listed again in halves). etcd counts the rest of the range for every
   * page, so small pages make a large listing quadratic: 100k keys took 1.0 s in pages of 500 and
   * 0.5 s in pages of 5000 (bench/resync.ts).
   */
  pageSize?: number;
  /** Opens sealed records; a keyring limited to one VPN keeps only that VPN's records. Undefined: only unsealed records are read. */
  keyring?: Keyring;
  /**
   * Before a re-list that replaces a watch (etcd compacted past it, restored or replaced), wait a
   * random share of this, in ms, so that a fleet of gateways does not list etcd all at once
   * (default 0: the backoff alone). New watches after a restart are not delayed.
   */
  relistSpreadMs?: number;
  /** Test hook: the random source of the re-list spread. */
  random?: () => number;
  /** Test hook: runs after each listing, before the watch from its revision + 1 starts. */
  beforeWatch?: (listedRevision: number) => Promise<void> | void;
}

/** A second's grace past the probe interval before silence counts as staleness (a probe's own round trip). */
const CONTACT_GRACE_MS = 1_000;

/** WatcherStatus.stalenessMs at `now`. */
export const staleness = (
  health: { connected: boolean; lastContactAt: number },
  probeIntervalMs: number,
  now: number,
): number => {
  if (health.lastContactAt === 0) return 0;
  const silent = Math.max(0, now - health.lastContactAt);
  return health.connected && silent <= probeIntervalMs + CONTACT_GRACE_MS ? 0 : silent;
};

/** A registry watcher over `client`; nothing happens until run(). Throws TypeError on a prefix outside the registry. */
export const createRegistryWatcher = ({
  client,
  log,
  prefix = REGISTRY_PREFIX,
  endpoints = [],
  baseBackoffMs = 100,
  maxBackoffMs = 10_000,
  onRestart = () => {},
  onResumed = () => {},
  onInvalid = () => {},
  onListed = () => {},
  probeIntervalMs = 2_000,
  requestTimeoutMs = 10_000,
  pageSize = 5000,
  relistSpreadMs = 0,
  clusterCheckMs = 30_000,
  random,
  beforeWatch,
  keyring,
  scope,
}: RegistryWatcherOptions): RegistryWatcher => {
  if (!prefix.startsWith(REGISTRY_PREFIX)) {
    throw new TypeError(`registry watcher prefix ${JSON.stringify(prefix)} is not under ${REGISTRY_PREFIX}`);
  }
  if (scope !== undefined && !CLUSTERS_PREFIX.startsWith(prefix)) {
    throw new TypeError(
      `a scoped registry watcher watches every cluster; prefix ${JSON.stringify(prefix)} does not`,
    );
  }
  const wlog = log.child({ component: "registry-watcher", prefix, ...(scope ? scopeFields(scope) : {}) });
  /** `fn`, with what it throws logged instead of breaking the watcher. */
  const guarded =
    <A extends unknown[]>(name: string, fn: (...args: A) => void) =>
    (...args: A): void => {
      try {
        fn(...args);
      } catch (err) {
        wlog.error({ callback: name, err: errorMessage(err) }, "callback threw");
      }
    };
  const reportInvalid = guarded("onInvalid", onInvalid);
  const store = createRecordStore({
    onInvalid: (key, modRevision, err) => {
      wlog.warn({ key, modRevision, err: err.message }, "invalid registry value skipped");
      reportInvalid(key, err);
    },
    keyring,
  });
  const listeners = new Set<(snapshot: RegistrySnapshot) => void>();
  const health: LoopOptions["health"] = {
    connected: false,
    lastContactAt: 0,
    restarts: 0,
    failing: undefined,
  };
  let running = false;
  let settleReady: { resolve: () => void; reject: (err: Error) => void } | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    settleReady = { resolve, reject };
  });
  // A rejection nobody awaits must not crash the process; awaiting `ready` still sees it.
  ready.catch(() => {});

  const publish = (snapshot: RegistrySnapshot): void => {
    for (const listener of listeners) guarded("onSnapshot listener", listener)(snapshot);
    settleReady?.resolve();
  };

  const run = async (signal: AbortSignal): Promise<void> => {
    if (running) throw new Error("registry watcher is already running");
    running = true;
    try {
      await runWatchLoop({
        client,
        log: wlog,
        prefix,
        scope,
        endpoints,
        signal,
        store,
        health,
        publish,
        onRestart: guarded("onRestart", onRestart),
        onResumed: guarded("onResumed", onResumed),
        onListed: guarded("onListed", onListed),
        beforeWatch,
        timing: {
          baseBackoffMs,
          maxBackoffMs,
          probeIntervalMs,
          requestTimeoutMs,
          pageSize,
          relistSpreadMs,
          clusterCheckMs,
        },
        ...(random ? { random } : {}),
      });
    } finally {
      running = false;
      health.connected = false;
      if (store.snapshot() === undefined)
        settleReady?.reject(new Error("registry watcher stopped before listing"));
    }
  };

  return {
    current: () => store.snapshot(),
    ready,
    onSnapshot: (listener) => {
      const own = (snapshot: RegistrySnapshot): void => listener(snapshot);
      listeners.add(own);
      return () => {
        listeners.delete(own);
      };
    },
    status: () => ({
      revision: store.snapshot()?.revision ?? 0,
      lastAppliedModRevision: store.lastApplied(),
      connected: health.connected,
      lastContactAt: health.lastContactAt,
      stalenessMs: staleness(health, probeIntervalMs, Date.now()),
      restarts: health.restarts,
      invalidRecords: store.invalidCount(),
      failing: health.failing,
    }),
    run,
  };
};
