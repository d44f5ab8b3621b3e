// Per-VPN admission: a token bucket for events/s and burst, and a cap on requests in flight.
// Buckets follow the VPN's limits as the registry changes them.

import { idleKeepingCounts } from "../../common/idle-keeping-map.ts";
import { type TokenBucket, tokenBucket } from "../../common/token-bucket.ts";
import { tooManyRequests, unavailable } from "../problem.ts";
import type { VpnView } from "../types.ts";

export interface VpnLimiter {
  /**
   * Admits `events` events of `vpn`, all or none, or throws 429 with Retry-After; returns a refund
   * to call when the request is refused after all (so a refused batch costs no tokens).
   */
  admit(vpn: VpnView, events: number): () => void;
  /** Counts a request in flight until the returned release is called; throws 503 at maxInFlight. */
  enter(vpn: VpnView): () => void;
}

/** The refund of an admission that took no tokens: one for all, not a closure per request. */
const NOTHING_TO_REFUND = (): void => {};

/** Creates the limiter. */
export const createVpnLimiter = (): VpnLimiter => {
  const buckets = new Map<string, { key: string; bucket: TokenBucket }>();
  // Kept at zero, not deleted: a delete per request on a long-lived Map is old-generation garbage.
  const inflight = idleKeepingCounts<string>();
  return {
    admit: (vpn, events) => {
      const { eventsPerSecond, burst } = vpn.limits;
      if (eventsPerSecond === undefined) return NOTHING_TO_REFUND;
      const key = `${eventsPerSecond}/${burst ?? eventsPerSecond}`;
      let entry = buckets.get(vpn.name);
      if (entry?.key !== key) {
        entry = { key, bucket: tokenBucket(eventsPerSecond, burst ?? eventsPerSecond) };
        buckets.set(vpn.name, entry);
      }
      const waitMs = entry.bucket.take(Date.now(), events);
      if (waitMs > 0)
        throw tooManyRequests(
          `VPN ${vpn.name} is limited to ${eventsPerSecond} events/s`,
          Math.ceil(waitMs / 1000),
        );
      const bucket = entry.bucket;
      return () => bucket.refund(events);
    },
    enter: (vpn) => {
      const n = inflight.get(vpn.name) ?? 0;
      const max = vpn.limits.maxInFlight;
      if (max !== undefined && n >= max)
        throw unavailable(`VPN ${vpn.name} has ${max} requests in flight, its limit`, 1);
      inflight.set(vpn.name, n + 1);
      return () => {
        inflight.set(vpn.name, Math.max(0, (inflight.get(vpn.name) ?? 1) - 1));
      };
    },
  };
};
