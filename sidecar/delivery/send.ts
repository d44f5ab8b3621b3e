// One delivery attempt over HTTP with undici: no redirects followed (undici's `request` never
// follows them; the egress policy checks every connection, so a redirect could not escape it
// either), a per-attempt deadline covering connect, headers and body, and a cap on the response
// body read back (a sync caller gets it; an async delivery discards it).
import type { Readable } from "node:stream";
import type { Dispatcher } from "undici";
import { EgressDeniedError } from "./egress.ts";
import { type Outcome, parseRetryAfter } from "./retry.ts";

export interface AttemptRequest {
  method: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
  timeoutMs: number;
  /** Keep the response body (sync); async deliveries drain it. */
  keepBody: boolean;
  maxResponseBytes?: number;
}

export interface AttemptResult {
  outcome: Outcome;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer | undefined;
}

/** The whole response body, or a RangeError (and the body destroyed) past `max` bytes. */
const readCapped = (body: Readable, max: number): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    body.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        body.destroy();
        reject(new RangeError(`response body exceeds ${max} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    body.on("end", () => resolve(chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks, size)));
    body.on("error", reject);
  });

/** Parsed endpoint URLs, reused across attempts (bounded: cleared when it grows past MAX_TARGETS). */
const targets = new Map<string, { origin: string; path: string }>();
const MAX_TARGETS = 10_000;
const target = (url: string): { origin: string; path: string } => {
  let t = targets.get(url);
  if (!t) {
    const u = new URL(url);
    t = { origin: u.origin, path: `${u.pathname}${u.search}` };
    if (targets.size >= MAX_TARGETS) targets.clear();
    targets.set(url, t);
  }
  return t;
};

/** Sends one request to `url`; never throws: failures come back as outcomes ("timeout", "network", "egress-denied"). */
export const sendAttempt = async (
  dispatcher: Dispatcher,
  url: string,
  req: AttemptRequest,
): Promise<AttemptResult> => {
  // One timer per attempt, cleared when it ends: AbortSignal.timeout keeps its timer (and the
  // signal) alive for the whole timeout even after the request finished, which at thousands of
  // requests per second held hundreds of thousands of timers and tens of MB of heap.
  const deadline = new AbortController();
  const signal = deadline.signal;
  const timer = setTimeout(() => deadline.abort(), req.timeoutMs);
  try {
    const { origin, path } = target(url);
    const res = await dispatcher.request({
      origin,
      path,
      method: req.method as Dispatcher.HttpMethod,
      headers: req.headers,
      body: req.body ?? null,
      signal,
    });
    const body = req.keepBody
      ? await readCapped(res.body, req.maxResponseBytes ?? 10 * 1024 * 1024)
      : undefined;
    if (!req.keepBody) await res.body.dump();
    const retryAfter = parseRetryAfter(
      typeof res.headers["retry-after"] === "string" ? res.headers["retry-after"] : undefined,
    );
    return {
      outcome: { status: res.statusCode, ...(retryAfter === undefined ? {} : { retryAfterMs: retryAfter }) },
      headers: res.headers,
      body,
    };
  } catch (err) {
    if (err instanceof EgressDeniedError)
      return { outcome: { error: "egress-denied", reason: err.message }, headers: {}, body: undefined };
    return { outcome: { error: signal.aborted ? "timeout" : "network" }, headers: {}, body: undefined };
  } finally {
    clearTimeout(timer);
  }
};
