// The registry client over the etcd3 package (gRPC), for the operator, which holds an Etcd3 for
// its writer and leases anyway. A fresh etcd3 Watcher per watch: etcd3's own resume (from the
// last response header's revision + 1) is never used, because it can skip events etcd replays;
// the watcher starts a new one from the revision it applied last, or re-lists. A compaction
// arrives as a bare "Watcher canceled: " error (watch_canceled: the watcher re-lists);
// `disconnected` (etcd3 emits it twice per broken stream) ends the watch at the first one.
import { setTimeout as delay } from "node:timers/promises";
import { type Etcd3, GRPCResourceExhastedError, type IWatchResponse, type Watcher } from "etcd3";
import { errorMessage } from "../../../common/errors.ts";
import { ListPageTooLargeError, type RegistryClient, type WatchStreamEnd } from "../client.ts";
import type { WatchEvent } from "../store.ts";

/** How long cancel() waits for etcd3 to cancel its watcher before it resolves anyway. */
const CANCEL_WAIT_MS = 1000;

const tooLarge = (err: unknown): err is Error =>
  err instanceof GRPCResourceExhastedError ||
  (err instanceof Error && /larger than max|RESOURCE_EXHAUSTED/i.test(err.message));

const eventsOf = (res: IWatchResponse): WatchEvent[] =>
  res.events.map((ev) => ({
    type: ev.type === "Delete" ? "delete" : "put",
    key: ev.kv.key.toString(),
    value: ev.kv.value,
    modRevision: Number(ev.kv.mod_revision),
  }));

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

/** A RegistryClient over `client` (which the caller keeps and closes); errors are etcd3's. */
export const etcd3RegistryClient = (client: Etcd3): RegistryClient => ({
  range: async ({ start, end, limit, revision, timeoutMs }) => {
    const page = client
      .getAll()
      .inRange({ start, end })
      .limit(limit)
      .options({ deadline: Date.now() + timeoutMs });
    if (revision !== undefined) page.revision(String(revision));
    const res = await page.exec().catch((err: unknown) => {
      throw tooLarge(err) ? new ListPageTooLargeError(limit, err) : err;
    });
    return {
      revision: Number(res.header.revision),
      clusterId: res.header.cluster_id,
      kvs: res.kvs.map((kv) => ({
        key: kv.key.toString(),
        value: kv.value,
        modRevision: Number(kv.mod_revision),
      })),
      more: res.more,
    };
  },
  read: async (key, timeoutMs) => {
    const res = await client
      .get(key)
      .options({ deadline: Date.now() + timeoutMs })
      .exec();
    return { revision: Number(res.header.revision), clusterId: res.header.cluster_id };
  },
  watch: ({ range, fromRevision }, handlers) => {
    const watcher = client.watch().inRange(range).startRevision(String(fromRevision)).watcher();
    let done = false;
    // After `error` or `end` etcd3 has already dropped the watcher; cancelling it again would
    // wait forever for an `end` that never comes.
    let detached = false;
    const end = (reason: WatchStreamEnd["reason"], detail: string): void => {
      if (done) return;
      done = true;
      handlers.onEnd({ reason, detail });
    };
    watcher.on("connected", (res) => {
      if (!done) handlers.onCreated(Number(res.header.revision));
    });
    watcher.on("data", (res) => {
      if (!done) handlers.onResponse(eventsOf(res), Number(res.header.revision));
    });
    watcher.on("error", (err) => {
      detached = true;
      // etcd3 reports etcd's cancel (a compaction included) as "Watcher canceled: <reason>".
      end(
        /Watcher canceled/.test(err.message) ? "watch_canceled" : "watch_error",
        `watcher error: ${err.message}`,
      );
    });
    watcher.on("end", () => {
      detached = true;
      end("watch_ended", "watch ended");
    });
    watcher.on("disconnected", (err) => end("watch_error", `watch disconnected: ${err.message}`));
    return {
      cancel: async () => {
        done = true;
        return detached ? "" : cancelWatcher(watcher);
      },
    };
  },
});
