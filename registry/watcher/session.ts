// One etcd watch of the registry prefix from a given revision, until it fails. A fresh etcd3
// Watcher per session: etcd3's own resume (from the last response header's revision + 1) is
// never used, because it can skip events etcd replays; the caller re-lists instead. The session
// ends at the first of: a watcher error (a compaction arrives as a bare "Watcher canceled: "),
// `disconnected` (etcd3 emits it twice per broken stream; the first one counts), `end`, no
// `connected` within the request timeout, two liveness probes failing in a row, a probe
// answering below the revision already seen (a restored etcd) or from another cluster id, or
// the abort of `signal`.
//
// Liveness: etcd3 asks for progress notifications (progress_notify is set on every watch), but
// etcd sends them only every 10 minutes by default (--watch-progress-notify-interval) and etcd3
// 1.1.2 cannot request one; so every `probeIntervalMs` a point read of the prefix key (one key,
// no range scan) proves etcd answers. Any response, probe or watch, counts as contact. A frozen
// etcd or a connection dropped without a reset leaves an etcd3 watch stream silent for good
// unless the client has gRPC keepalive (`grpc.keepalive_time_ms`): the probes notice, but etcd3
// attaches the next watcher to the same silent stream; the loop then re-lists on every connect
// timeout, so the snapshot still follows etcd and status() still says "not connected".
import { setTimeout as delay } from "node:timers/promises";
import type { Etcd3, IWatchResponse, Watcher } from "etcd3";
import { asError, errorMessage } from "../../common/errors.ts";
import type { WatchEvent } from "./store.ts";

/**
 * Why a watch was replaced by a re-list: a closed set, used as a metric label. `detail` says what
 * exactly happened, for logs and tests.
 */
export type RestartReason =
  | "watch_error"
  | "watch_ended"
  | "watch_timeout"
  | "probe_failed"
  | "revision_backwards"
  | "cluster_changed"
  | "list_failed"
  | "aborted";

export interface SessionEnd {
  reason: RestartReason;
  detail: string;
}

export interface SessionOptions {
  client: Etcd3;
  prefix: string;
  fromRevision: number;
  signal: AbortSignal;
  probeIntervalMs: number;
  requestTimeoutMs: number;
  /** The highest revision seen so far; a probe answering below it (as of when it was sent) ends the session. */
  highWater: () => number;
  /** The cluster id of the last listing; a probe answering with another one ends the session. */
  clusterId: string | undefined;
  onConnected: (revision: number) => void;
  /** One watch response (events may be empty: a progress notification). Must not throw. */
  onResponse: (events: WatchEvent[], revision: number) => void;
  onProbe: (outcome: { revision: number } | { error: Error }) => void;
}

/** How long a session waits for etcd3 to cancel its watcher before it reports its end anyway. */
const CANCEL_WAIT_MS = 1000;

const eventsOf = (res: IWatchResponse): WatchEvent[] =>
  res.events.map((ev) => ({
    type: ev.type === "Delete" ? "delete" : "put",
    key: ev.kv.key.toString(),
    value: ev.kv.value,
    modRevision: Number(ev.kv.mod_revision),
  }));

interface ProbeOptions {
  client: Etcd3;
  key: string;
  intervalMs: number;
  timeoutMs: number;
  highWater: () => number;
  clusterId: string | undefined;
  onProbe: SessionOptions["onProbe"];
  /** Ends the session: etcd looks different, or two probes in a row failed. */
  end: (reason: RestartReason, detail: string) => void;
}

/** Probes etcd every `intervalMs` with a point read of `key`; returns a function that stops probing. */
const startProbing = (opts: ProbeOptions): (() => void) => {
  let stopped = false;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  const probe = async (): Promise<void> => {
    const mark = opts.highWater();
    try {
      const res = await opts.client
        .get(opts.key)
        .options({ deadline: Date.now() + opts.timeoutMs })
        .exec();
      if (stopped) return;
      failures = 0;
      const revision = Number(res.header.revision);
      if (revision < mark)
        return opts.end(
          "revision_backwards",
          `revision went backwards: etcd answered at ${revision}, ${mark} seen`,
        );
      if (opts.clusterId !== undefined && res.header.cluster_id !== opts.clusterId) {
        return opts.end(
          "cluster_changed",
          `etcd cluster id changed from ${opts.clusterId} to ${res.header.cluster_id}`,
        );
      }
      opts.onProbe({ revision });
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

/** Resolves once `watcher` is cancelled, or after CANCEL_WAIT_MS, with a note when that went wrong. */
const cancelWatcher = async (watcher: Watcher): Promise<string> => {
  const wait = new AbortController();
  const cancelled = Promise.resolve()
    .then(() => watcher.cancel())
    .then(
      () => "",
      (err: unknown) => ` (and cancelling the watcher failed: ${errorMessage(err)})`,
    );
  const late = delay(CANCEL_WAIT_MS, " (the watcher was not cancelled in time)", { signal: wait.signal });
  const note = await Promise.race([cancelled, late.catch(() => "")]);
  wait.abort();
  return note;
};

/** Watches `prefix` from `fromRevision` until the watch must be replaced; resolves with why (never rejects). */
export const watchSession = (opts: SessionOptions): Promise<SessionEnd> =>
  new Promise((resolve) => {
    const { client, prefix, signal } = opts;
    const watcher = client.watch().prefix(prefix).startRevision(String(opts.fromRevision)).watcher();
    let done = false;
    // After `error` or `end` etcd3 has already dropped the watcher; cancelling it again would
    // wait forever for an `end` that never comes.
    let detached = false;
    const finish = (reason: RestartReason, detail: string): void => {
      if (done) return;
      done = true;
      clearTimeout(connectTimer);
      stopProbing();
      signal.removeEventListener("abort", onAbort);
      if (detached) resolve({ reason, detail });
      else void cancelWatcher(watcher).then((note) => resolve({ reason, detail: `${detail}${note}` }));
    };
    const onAbort = (): void => finish("aborted", "aborted");

    watcher.on("connected", (res) => {
      if (done) return;
      clearTimeout(connectTimer);
      opts.onConnected(Number(res.header.revision));
    });
    watcher.on("data", (res) => {
      if (done) return;
      try {
        opts.onResponse(eventsOf(res), Number(res.header.revision));
      } catch (err) {
        // etcd3 would rethrow a listener's error on a later tick and crash the process.
        finish("watch_error", `applying watch events failed: ${errorMessage(err)}`);
      }
    });
    watcher.on("error", (err) => {
      detached = true;
      finish("watch_error", `watcher error: ${err.message}`);
    });
    watcher.on("end", () => {
      detached = true;
      finish("watch_ended", "watch ended");
    });
    watcher.on("disconnected", (err) => finish("watch_error", `watch disconnected: ${err.message}`));

    const connectTimer = setTimeout(
      () => finish("watch_timeout", `watch not established within ${opts.requestTimeoutMs} ms`),
      opts.requestTimeoutMs,
    );
    const stopProbing = startProbing({
      client,
      key: prefix,
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
