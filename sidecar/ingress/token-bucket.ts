// A token bucket: `rate` tokens per second up to `burst`. Used for per-VPN and per-subscription
// rate limits; `take` never waits, it says how long until a token would be there.

export interface TokenBucket {
  /** Takes one token: 0 when granted, otherwise the milliseconds until one is available. */
  take(now?: number): number;
}

/** A bucket that starts full. */
export const tokenBucket = (rate: number, burst: number, start = Date.now()): TokenBucket => {
  let tokens = burst;
  let last = start;
  return {
    take: (now = Date.now()) => {
      tokens = Math.min(burst, tokens + ((now - last) / 1000) * rate);
      last = now;
      if (tokens >= 1) {
        tokens -= 1;
        return 0;
      }
      return Math.ceil(((1 - tokens) / rate) * 1000);
    },
  };
};
