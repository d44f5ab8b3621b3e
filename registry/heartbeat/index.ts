// A cluster's heartbeat in the registry: its heartbeat key (../keys.ts) bound to an etcd lease
// that this process keeps alive, so the key exists while the cluster's operator runs and
// disappears within one TTL after it dies. Gateways treat a cluster without one as unavailable.
// When a lease is lost (./lease.ts says when) a new one is granted and the key put
// again, with capped exponential backoff and jitter between failed attempts. A clean shutdown
// (the signal aborts) revokes the lease, so the key disappears at once.
import type { Etcd3, Lease } from "etcd3";
import { backoffDelay, pause } from "../../common/backoff.ts";
import type { Logger } from "../../common/log.ts";
import { encodeHeartbeat } from "../codec.ts";
import { heartbeatKey } from "../keys.ts";
import { holdLease, revokeLease } from "./lease.ts";

export interface HeartbeatOptions {
  client: Etcd3;
  /** This operator's cluster name (DNS-1123). */
  cluster: string;
  /** Who keeps the heartbeat (e.g. the operator pod name). */
  identity: string;
  /** The version of this program. */
  version: string;
  /** Lease TTL, whole seconds (etcd raises values below its minimum, about 2 s by default). */
  ttlSeconds?: number;
  log: Logger;
  baseBackoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * Keeps `cluster`'s heartbeat key alive until `signal` aborts, then revokes its lease and
 * resolves. Retries every etcd failure itself (with backoff) and never rejects for one; rejects
 * at once with RegistryKeyError, InvalidRecordError or RangeError on bad options (nothing sent).
 */
export const runHeartbeat = async (
  {
    client,
    cluster,
    identity,
    version,
    ttlSeconds = 15,
    log,
    baseBackoffMs = 250,
    maxBackoffMs = 5_000,
  }: HeartbeatOptions,
  signal: AbortSignal,
): Promise<void> => {
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) {
    throw new RangeError(`heartbeat TTL must be a whole number of seconds >= 1, not ${ttlSeconds}`);
  }
  const key = heartbeatKey(cluster);
  const value = encodeHeartbeat({ cluster, identity, version, startedAt: new Date().toISOString() });
  const hlog = log.child({ component: "registry-heartbeat", cluster, key });
  const requestTimeoutMs = Math.min(ttlSeconds * 1000, 5_000);
  /** The lease the key was last put with, when a later one has not been put yet. */
  let holder: Lease | undefined;
  /** The lease an aborted hold has revoked. */
  let revoked: Lease | undefined;
  let incident: { reason: string; attempts: number } | undefined;
  let attempt = 0;
  while (!signal.aborted) {
    if (attempt > 0) await pause(backoffDelay(attempt, baseBackoffMs, maxBackoffMs), signal);
    if (signal.aborted) break;
    const startedAt = Date.now();
    const hold = await holdLease(
      {
        client,
        key,
        value,
        ttlSeconds,
        requestTimeoutMs,
        log: hlog,
        onPut: () => {
          const restored =
            incident === undefined ? {} : { after: incident.reason, attempts: incident.attempts };
          hlog.info(restored, incident === undefined ? "heartbeat started" : "heartbeat restored");
          incident = undefined;
        },
      },
      signal,
    );
    if (hold.put) holder = hold.lease;
    if (hold.reason === "aborted") {
      revoked = hold.lease;
      break;
    }
    if (incident === undefined) {
      incident = { reason: hold.reason, attempts: 1 };
      hlog.warn({ reason: hold.reason }, "heartbeat lease ended; granting a new one");
    } else {
      incident.attempts++;
      hlog.debug({ reason: hold.reason, attempt: incident.attempts }, "heartbeat attempt failed");
    }
    // A lease held for a while starts over from the shortest backoff.
    attempt = hold.put && Date.now() - startedAt >= ttlSeconds * 1000 ? 1 : attempt + 1;
  }
  // An aborted hold revoked its own lease; the key may still be bound to an earlier, released one.
  if (holder !== undefined && holder !== revoked) await revokeLease(holder, requestTimeoutMs, hlog);
};
