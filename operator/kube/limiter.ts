// The operator's client-side limit on its writes to the API server (status and finalizer patches,
// Events, VPN key Secrets): a token bucket of --kube-write-qps tokens a second up to
// --kube-write-burst. A write waits for a token; reads (the informers' lists and watches) and the
// leader Lease are never held back, so a throttled operator still sees the cluster and keeps its
// leadership. The time writes waited is counted (switchboard_operator_kube_write_wait_seconds_total):
// a rising counter during a bulk change says the limit, not the API server, is what paces it.
import { setTimeout as sleep } from "node:timers/promises";
import { type TokenBucket, tokenBucket } from "../../common/token-bucket.ts";

export interface WriteLimiter {
  /** Resolves when a write may go: at once while tokens are left. */
  wait(): Promise<void>;
}

/** A limiter of `qps` writes a second up to `burst` at once; `onWait` gets each wait's seconds. 0 qps: no limit. */
export const writeLimiter = (
  { qps, burst }: { qps: number; burst: number },
  onWait: (seconds: number) => void = () => {},
): WriteLimiter => {
  if (qps === 0) return { wait: async () => {} };
  const bucket: TokenBucket = tokenBucket(qps, burst);
  return {
    wait: async () => {
      let waited = 0;
      for (;;) {
        const ms = bucket.take();
        if (ms === 0) break;
        waited += ms;
        await sleep(ms);
      }
      if (waited > 0) onWait(waited / 1000);
    },
  };
};
