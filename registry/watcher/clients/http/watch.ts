// One watch over etcd's HTTP gateway: a POST of a create_request to /v3/watch whose chunked answer
// is one JSON message per line ({"result": WatchResponse} or {"error": …}). The first message says
// `created`; a compaction of the start revision arrives as `canceled` with `compact_revision` (the
// stream itself stays open, so the watch ends there). The request body is sent whole, so nothing
// more can be asked on the stream: etcd 3.6's gateway answers no progress_request.
import { errorMessage } from "../../../../common/errors.ts";
import type { KeyRange, WatchHandlers, WatchStream, WatchStreamEnd } from "../../client.ts";
import { decodeWatchMessage } from "./decode.ts";
import type { Transport } from "./transport.ts";

const NEWLINE = 0x0a;

/** Splits a byte stream into lines (without their newline), however the chunks cut them. */
async function* lines(body: AsyncIterable<Buffer>): AsyncGenerator<string> {
  let pending: Buffer[] = [];
  for await (const chunk of body) {
    let from = 0;
    for (let at = chunk.indexOf(NEWLINE); at >= 0; at = chunk.indexOf(NEWLINE, from)) {
      pending.push(chunk.subarray(from, at));
      yield Buffer.concat(pending).toString();
      pending = [];
      from = at + 1;
    }
    if (from < chunk.length) pending.push(chunk.subarray(from));
  }
  if (pending.length > 0) yield Buffer.concat(pending).toString();
}

/** Watches the keys in `range` from `fromRevision` through `transport`; reports through `handlers` (see WatchHandlers). */
export const httpWatch = (
  transport: Transport,
  { range, fromRevision }: { range: KeyRange; fromRevision: number },
  handlers: WatchHandlers,
): WatchStream => {
  const abort = new AbortController();
  let done = false;
  const end = (reason: WatchStreamEnd["reason"], detail: string): void => {
    if (done) return;
    done = true;
    abort.abort();
    handlers.onEnd({ reason, detail });
  };
  const create = {
    create_request: {
      key: range.start.toString("base64"),
      range_end: range.end.toString("base64"),
      start_revision: String(fromRevision),
      progress_notify: true,
    },
  };
  const run = async (): Promise<void> => {
    const res = await transport.open("/v3/watch", create, abort.signal);
    for await (const line of lines(res.body)) {
      if (done) return;
      if (line.trim() === "") continue;
      const message = decodeWatchMessage(line);
      switch (message.kind) {
        case "created":
          handlers.onCreated(message.revision);
          break;
        case "events":
          handlers.onResponse(message.events, message.revision);
          break;
        case "canceled": {
          const why =
            message.reason ||
            (message.compactRevision > 0
              ? `revision ${fromRevision} is compacted (compact revision ${message.compactRevision})`
              : "no reason given");
          return end("watch_canceled", `watcher error: Watcher canceled: ${why}`);
        }
        case "error":
          return end("watch_error", `watcher error: ${message.message}`);
      }
    }
    end("watch_ended", "watch ended");
  };
  // Never synchronously: handlers run only after watch() has returned.
  void Promise.resolve()
    .then(run)
    .catch((err: unknown) => end("watch_error", `watch disconnected: ${errorMessage(err)}`));
  return {
    cancel: async () => {
      done = true;
      abort.abort();
      return "";
    },
  };
};
