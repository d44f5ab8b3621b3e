// One delivery attempt over HTTP with undici: no redirects followed (undici's `request` never
// follows them), a per-attempt deadline covering connect, headers and body, and a cap on the
// response body read back (a sync caller gets it; an async delivery discards it).
import type { Dispatcher } from "undici";
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

const readCapped = async (body: AsyncIterable<Buffer>, max: number): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) throw new RangeError(`response body exceeds ${max} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
};

/** Sends one request to `url`; never throws: failures come back as outcomes ("timeout", "network"). */
export const sendAttempt = async (
  dispatcher: Dispatcher,
  url: string,
  req: AttemptRequest,
): Promise<AttemptResult> => {
  const signal = AbortSignal.timeout(req.timeoutMs);
  try {
    const target = new URL(url);
    const res = await dispatcher.request({
      origin: target.origin,
      path: `${target.pathname}${target.search}`,
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
  } catch {
    return { outcome: { error: signal.aborted ? "timeout" : "network" }, headers: {}, body: undefined };
  }
};
