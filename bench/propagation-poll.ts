// Polling a gateway until a new CloudEvent type is routed, and the small statistics of the
// propagation benchmark (bench/propagation.ts).
//
// A gateway accepts an event no subscription matches (202 with `"deliveries":0`, as a CloudEvents
// broker does); it is routed once the answer counts a delivery. Resolution: the route appeared
// somewhere between the gateway handling the last unrouted event and the first routed one, and we
// note the time when that answer arrives back here. So a measured
// figure overstates the true one by up to one request round trip (plus `gapMs` when polling with
// a gap); each result carries the round trip of its last poll so that the error is visible.
import { setTimeout as sleep } from "node:timers/promises";
import { Pool } from "undici";
import { eventHeaders, percentile } from "./lib.ts";

export interface Routed {
  /** From `t0` to the arrival of the first routed answer, ms. */
  ms: number;
  /** Requests sent, the routed one included. */
  polls: number;
  /** Round trip of the request that was routed, ms. */
  lastRttMs: number;
}

export interface Poller {
  /**
   * Publishes binary-mode events of `type` one after another until one is routed (202 with at
   * least one delivery); resolves with the time since `t0` (a performance.now() value). 202 with
   * no delivery means "not routed yet"; any other status, or no route within `timeoutMs`, throws.
   */
  until(type: string, t0: number): Promise<Routed>;
  close(): Promise<void>;
}

export interface PollOptions {
  /** Pause between polls, ms; 0 polls back to back. */
  gapMs?: number;
  timeoutMs?: number;
}

const body = JSON.stringify({ probe: true });

/** A poller of the gateway at `gatewayUrl` on one kept-alive connection (an undici Pool of 1). */
export const poller = (gatewayUrl: string, { gapMs = 0, timeoutMs = 10_000 }: PollOptions = {}): Poller => {
  const pool = new Pool(new URL(gatewayUrl).origin, { connections: 1, pipelining: 1 });
  let seq = 0;
  /** Whether the event was routed (202 naming at least one delivery). */
  const publish = async (type: string): Promise<boolean> => {
    const res = await pool.request({
      path: "/",
      method: "POST",
      headers: eventHeaders(type, { id: `poll-${++seq}`, source: "/bench/propagation" }),
      body,
    });
    const text = await res.body.text();
    if (res.statusCode === 202) return !text.includes('"deliveries":0}');
    throw new Error(`gateway ${gatewayUrl} answered ${res.statusCode} for type ${type}: ${text}`);
  };
  return {
    until: async (type, t0) => {
      for (let polls = 1; ; polls++) {
        const sent = performance.now();
        const routed = await publish(type);
        const now = performance.now();
        if (routed) return { ms: now - t0, polls, lastRttMs: now - sent };
        if (now - t0 > timeoutMs)
          throw new Error(`type ${type} not routed by ${gatewayUrl} in ${timeoutMs} ms`);
        if (gapMs > 0) await sleep(gapMs);
      }
    },
    close: () => pool.close(),
  };
};

export interface Summary {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

/** p50, p99 and max of `values` (ms). With fewer than 100 values p99 is the largest one. */
export const summarize = (values: readonly number[]): Summary => {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
};

/** "p50 / p99" with `digits` decimals. */
export const p50p99 = (s: Summary, digits = 1): string =>
  `${s.p50.toFixed(digits)} / ${s.p99.toFixed(digits)}`;
