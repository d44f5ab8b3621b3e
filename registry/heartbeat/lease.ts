// One etcd lease of a cluster heartbeat (./index.ts): grant it, put the key bound to it, keep
// it alive until it is lost. etcd3 reports a lost lease ("lost") only once etcd has said so or two
// TTLs have passed without a keepalive; etcd itself expires the lease one TTL after the last
// keepalive it received. So a watchdog also ends the lease when no keepalive has been answered
// for one TTL (counted from the grant, then from each answer): by then the key is gone or about
// to go, and a new lease should be granted. A lease ended that way is released (its keepalives
// stop), never revoked: if its put landed unseen, a later put rebinds the key to the next lease,
// and revoking this one afterwards could delete that key.
import type { Etcd3, Lease } from "etcd3";
import { errorMessage } from "../../common/errors.ts";
import type { Logger } from "../../common/log.ts";

export interface LeaseHold {
  /** Why the hold ended: "aborted", or what went wrong. */
  reason: string;
  /** The lease, revoked when the hold was aborted, released otherwise. */
  lease: Lease;
  /** The key was put bound to this lease. */
  put: boolean;
}

export interface HoldOptions {
  client: Etcd3;
  key: string;
  value: string;
  ttlSeconds: number;
  /** Deadline of the grant, the put and the revoke, in ms. */
  requestTimeoutMs: number;
  log: Logger;
  /** Called once the key has been put bound to the lease. */
  onPut: () => void;
}

/**
 * Revokes `lease` (its keys disappear at once), waiting at most `timeoutMs`; never rejects (a
 * failure is logged: the keys then go when the lease expires).
 */
export const revokeLease = async (lease: Lease, timeoutMs: number, log: Logger): Promise<void> => {
  try {
    await lease.revoke({ deadline: Date.now() + timeoutMs });
  } catch (err) {
    log.warn({ err: errorMessage(err) }, "revoking the heartbeat lease failed; its key goes when it expires");
  }
};

/** Holds one lease of `key` until it is lost or `signal` aborts (then revokes it); resolves with how it ended, never rejects. */
export const holdLease = (opts: HoldOptions, signal: AbortSignal): Promise<LeaseHold> =>
  new Promise((resolve) => {
    const { client, key, value, ttlSeconds, requestTimeoutMs, log } = opts;
    const deadline = (): number => Date.now() + requestTimeoutMs;
    const lease = client.lease(ttlSeconds, { autoKeepAlive: true, deadline: deadline() });
    let done = false;
    let put = false;
    let watchdog: NodeJS.Timeout | undefined;
    const finish = (reason: string): void => {
      if (done) return;
      done = true;
      clearTimeout(watchdog);
      signal.removeEventListener("abort", onAbort);
      if (reason === "aborted") {
        void revokeLease(lease, requestTimeoutMs, log).then(() => resolve({ reason, lease, put }));
      } else {
        lease.release();
        resolve({ reason, lease, put });
      }
    };
    const onAbort = (): void => finish("aborted");
    const arm = (): void => {
      clearTimeout(watchdog);
      watchdog = setTimeout(
        () => finish(`no keepalive answered for ${ttlSeconds} s: the lease has expired`),
        ttlSeconds * 1000,
      );
    };

    lease.on("lost", (err) => finish(`lease lost: ${err.message}`));
    lease.on("keepaliveSucceeded", () => {
      if (!done) arm();
    });
    // etcd3 declares the argument as a keepalive response, but passes the error.
    lease.on("keepaliveFailed", (failure) => {
      if (!done) log.debug({ err: errorMessage(failure) }, "heartbeat keepalive failed");
    });
    arm();
    lease
      .put(key)
      .value(value)
      .options({ deadline: deadline() })
      .exec()
      .then(
        () => {
          if (done) return;
          put = true;
          opts.onPut();
        },
        (err: unknown) => finish(`putting the heartbeat failed: ${errorMessage(err)}`),
      );
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
