// What one delivery attempt asks of an HTTP client, and what it gets back. Two clients provide it,
// each with a connection pool per VPN allow-list whose every new connection the egress policy
// admits first (./egress.ts): undici (./undici-client.ts, the default) and Node's own node:http
// (./node-client.ts, --delivery-client=node). Both follow no redirects, bound each attempt by
// one deadline covering connect, headers and body, and cap the response body read back (a sync
// caller gets it; an async delivery discards it). sidecar/delivery/clients.int.test.ts holds both
// to the same contract against real servers.
//
// The trade-off, measured side by side (bench/sync-hop.ts, one core, 128 MiB memory cgroup;
// docs/benchmarks.md): the gateway on node:http held 6–18 MiB less at 1000 requests/s than on
// undici (e.g. 52 against 58 MiB), but served 20–45 % fewer requests per second in a closed loop
// (e.g. 6721 against 10584): Node's own client spends about twice undici's CPU per request
// (bench/cost.ts --gateway-args=--delivery-client=node: Node's modules 121 against 51 µs per
// request in a closed loop, with the same one writev per request). undici stays the default;
// node:http suits a sidecar whose rate stays well inside its CPU limit.
import type { Readable } from "node:stream";
import { CappedBody } from "../../common/capped-body.ts";
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

/** The response bodies a sync caller gets back are capped at this by default. */
export const MAX_RESPONSE_BYTES = 10 * 1024 * 1024;

/** Where a pool may connect for `host`:`port` (the address checked is the address connected to); rejects with EgressDeniedError. */
export type Admit = (host: string, port: number) => Promise<{ address: string }>;

/** The connections of one VPN allow-list. */
export interface DeliveryPool {
  /** Sends one request to `url`; never throws: failures come back as outcomes ("timeout", "network", "egress-denied"). */
  send(url: string, req: AttemptRequest): Promise<AttemptResult>;
  /** Requests in flight finish first; then every connection is closed. */
  close(): Promise<void>;
  readonly closed: boolean;
}

/** Builds a pool whose every new connection `admit` allows first. */
export type PoolFactory = (admit: Admit) => DeliveryPool;

/** The whole body of `body`, or a RangeError (and the body destroyed) past `max` bytes. */
export const readCapped = (body: Readable, max: number): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const capped = new CappedBody(max);
    body.on("data", (chunk: Buffer) => {
      if (capped.add(chunk)) return;
      body.destroy();
      reject(responseTooLarge(max));
    });
    body.on("end", () => resolve(capped.joined()));
    body.on("error", reject);
  });

/** What a response body past `max` bytes fails its attempt with. */
export const responseTooLarge = (max: number): RangeError =>
  new RangeError(`response body exceeds ${max} bytes`);

/** A response's outcome: its status, and how long it asked to wait (Retry-After). */
export const answered = (
  status: number,
  headers: AttemptResult["headers"],
  body: Buffer | undefined,
): AttemptResult => {
  const retryAfter = parseRetryAfter(
    typeof headers["retry-after"] === "string" ? headers["retry-after"] : undefined,
  );
  return {
    outcome: { status, ...(retryAfter === undefined ? {} : { retryAfterMs: retryAfter }) },
    headers,
    body,
  };
};

/** An attempt that got no response: refused by the egress policy, out of time, or a network failure. */
export const failed = (err: unknown, timedOut: boolean): AttemptResult => ({
  outcome:
    err instanceof EgressDeniedError
      ? { error: "egress-denied", reason: err.message }
      : { error: timedOut ? "timeout" : "network" },
  headers: {},
  body: undefined,
});

/** Parsed endpoint URLs, reused across attempts (bounded: cleared when it grows past MAX_TARGETS). */
const targets = new Map<string, URL>();
const MAX_TARGETS = 10_000;

/** `url` parsed, from a bounded cache (the same few endpoints are asked for at every attempt). */
export const parsedTarget = (url: string): URL => {
  let t = targets.get(url);
  if (!t) {
    t = new URL(url);
    if (targets.size >= MAX_TARGETS) targets.clear();
    targets.set(url, t);
  }
  return t;
};
