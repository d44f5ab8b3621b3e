// The gateway's presence record (registry/heartbeat/presence.ts): written when what it reports changes (at
// most every `minIntervalMs`, so a burst of registry changes is one write), bound to a lease of
// `ttlSeconds` renewed every third of it, and removed by revoking the lease at shutdown. When etcd
// cannot be reached the record stays as last written until its lease runs out: the operator then
// sees this gateway behind, by name, until the lease ends. A failure is logged when it starts and
// when it ends, not on every attempt.
import { errorMessage } from "../../common/errors.ts";
import type { Logger } from "../../common/log.ts";
import { encodePresence, type GatewayPresence } from "../../registry/heartbeat/presence.ts";
import type { PresenceWrites } from "../../registry/watcher/clients/grpc/index.ts";

export interface PresenceOptions {
  client: PresenceWrites;
  key: string;
  ttlSeconds: number;
  /** What to report now. */
  current: () => GatewayPresence;
  log: Logger;
  minIntervalMs?: number;
  timeoutMs?: number;
}

export interface Presence {
  /** What `current()` reports may have changed: written soon. */
  changed(): void;
  /** Reports until `signal` aborts, then revokes the lease (the record goes at once). */
  run(signal: AbortSignal): Promise<void>;
}

/** The reporter of one gateway's presence record. */
export const createPresence = ({
  client,
  key,
  ttlSeconds,
  current,
  log,
  minIntervalMs = 250,
  timeoutMs = 5_000,
}: PresenceOptions): Presence => {
  let wake: (() => void) | undefined;
  let dirty = true;
  return {
    changed: () => {
      dirty = true;
      wake?.();
    },
    run: async (signal) => {
      const renewEveryMs = (ttlSeconds * 1000) / 3;
      let lease: bigint | undefined;
      let written: string | undefined;
      let renewedAt = 0;
      let failing: string | undefined;
      const pause = (ms: number, wakeable: boolean): Promise<void> =>
        new Promise<void>((resolve) => {
          if (signal.aborted) return resolve();
          const done = (): void => {
            clearTimeout(timer);
            signal.removeEventListener("abort", done);
            wake = undefined;
            resolve();
          };
          const timer = setTimeout(done, ms);
          signal.addEventListener("abort", done, { once: true });
          if (wakeable) wake = done;
        });
      while (!signal.aborted) {
        try {
          if (lease === undefined) {
            lease = await client.grantLease(ttlSeconds, timeoutMs);
            renewedAt = Date.now();
            written = undefined;
          }
          const value = encodePresence(current());
          dirty = false;
          if (value.toString() !== written) {
            await client.put(key, value, lease, timeoutMs);
            written = value.toString();
          }
          // Renewed on time whether or not the record was just written: a put does not extend a
          // lease, and a gateway applying changes all the time writes at every pass.
          if (Date.now() - renewedAt >= renewEveryMs) {
            const left = await client.keepAlive(lease, timeoutMs);
            if (left <= 0) {
              // Expired while etcd was out of reach: a new lease, and the record written again.
              lease = undefined;
              continue;
            }
            renewedAt = Date.now();
          }
          if (failing !== undefined) log.info({ key }, "presence record written again");
          failing = undefined;
        } catch (err) {
          const why = errorMessage(err);
          if (failing === undefined)
            log.warn(
              { key, err: why },
              "cannot write the presence record; retrying (the operator sees this gateway behind)",
            );
          failing = why;
          // The lease ended behind this gateway's back (etcd out of reach for longer than it, or
          // revoked): the next pass takes a new one and writes the record again.
          if (/lease not found/i.test(why)) lease = undefined;
          await pause(Math.min(renewEveryMs, 2_000), false);
          continue;
        }
        // A change arriving now is written after minIntervalMs; without one, the lease is renewed on time.
        await pause(minIntervalMs, false);
        if (!dirty) await pause(Math.max(0, renewEveryMs - (Date.now() - renewedAt)), true);
      }
      if (lease !== undefined)
        await client.revokeLease(lease, 2_000).catch((err: unknown) => {
          log.warn(
            { key, err: errorMessage(err) },
            "could not remove the presence record; it goes with its lease",
          );
        });
    },
  };
};
