// A token bucket: `rate` tokens per second up to `burst`. Used for per-VPN and per-subscription
// rate limits; `take` never waits, it says how long until a token would be there.

export interface TokenBucket {
  /** Takes `n` tokens (default 1), all or none: 0 when granted, otherwise the milliseconds until they are available. */
  take(now?: number, n?: number): number;
  /** Gives back `n` tokens taken for a request that was then refused (never above the burst). */
  refund(n: number): void;
}

/** A bucket that starts full. */
export const tokenBucket = (rate: number, burst: number, start = Date.now()): TokenBucket => {
  let tokens = burst;
  let last = start;
  return {
    take: (now = Date.now(), n = 1) => {
      tokens = Math.min(burst, tokens + ((now - last) / 1000) * rate);
      last = now;
      if (tokens >= n) {
        tokens -= n;
        return 0;
      }
      return Math.ceil(((n - tokens) / rate) * 1000);
    },
    refund: (n) => {
      tokens = Math.min(burst, tokens + n);
    },
  };
};
