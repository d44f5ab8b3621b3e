// Leader election on a coordination.k8s.io Lease, as client-go's leaderelection does it: a
// candidate takes the Lease when it is free or its holder has not renewed it for a full
// leaseDuration *as observed by this process's clock* (so clock skew between hosts does not
// matter); the leader renews every retryPeriod and gives up leadership when it could not renew
// for renewDeadline. Writes use the Lease's resourceVersion, so two candidates never both win.
import { ApiException, type CoordinationV1Api, type V1Lease, V1MicroTime } from "@kubernetes/client-node";
import { pause } from "../../common/backoff.ts";
import { errorMessage } from "../../common/errors.ts";
import type { Logger } from "../../common/log.ts";

export interface LeaderElectionOptions {
  api: CoordinationV1Api;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  log: Logger;
  /** Called on each change of leadership. */
  onLeading?: (leading: boolean) => void;
}

/** Thrown by `runLeaderElection` when this process was leader and lost the Lease. */
export class LeadershipLostError extends Error {
  override name = "LeadershipLostError";
}

const isConflict = (err: unknown): boolean =>
  err instanceof ApiException && (err.code === 409 || err.code === 404);

/**
 * Campaigns for the Lease until `signal` aborts. Once elected, runs `lead(leaderSignal)` and keeps
 * renewing; resolves when `signal` aborts (releasing the Lease), and throws LeadershipLostError
 * when renewal failed for renewDeadline (the caller should exit: its writes are already fenced).
 */
export const runLeaderElection = async (
  opts: LeaderElectionOptions,
  lead: (leaderSignal: AbortSignal) => Promise<void>,
  signal: AbortSignal,
): Promise<void> => {
  const { api, namespace, name, identity, log, onLeading } = opts;
  const { leaseDurationMs = 15_000, renewDeadlineMs = 10_000, retryPeriodMs = 2_000 } = opts;
  let observed = "";
  let observedAt = 0;

  const tryAcquireOrRenew = async (): Promise<boolean> => {
    const now = new V1MicroTime();
    let lease: V1Lease | undefined;
    try {
      lease = await api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (!(err instanceof ApiException && err.code === 404)) throw err;
    }
    const spec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
      renewTime: now,
    };
    if (!lease) {
      await api.createNamespacedLease({
        namespace,
        body: { metadata: { name, namespace }, spec: { ...spec, acquireTime: now, leaseTransitions: 0 } },
      });
      return true;
    }
    const holder = lease.spec?.holderIdentity ?? "";
    const record = `${holder}|${String(lease.spec?.renewTime ?? "")}`;
    if (record !== observed) {
      observed = record;
      observedAt = Date.now();
    }
    const mine = holder === identity;
    if (holder !== "" && !mine && Date.now() - observedAt < leaseDurationMs) return false;
    const transitions = (lease.spec?.leaseTransitions ?? 0) + (mine ? 0 : 1);
    await api.replaceNamespacedLease({
      name,
      namespace,
      body: {
        metadata: { name, namespace, resourceVersion: lease.metadata?.resourceVersion ?? "" },
        spec: {
          ...spec,
          acquireTime: mine ? (lease.spec?.acquireTime ?? now) : now,
          leaseTransitions: transitions,
        },
      },
    });
    return true;
  };

  const attempt = async (): Promise<boolean> => {
    try {
      return await tryAcquireOrRenew();
    } catch (err) {
      if (!isConflict(err)) log.warn({ err: errorMessage(err) }, "lease update failed");
      return false;
    }
  };

  // Campaign.
  while (!signal.aborted && !(await attempt())) await pause(retryPeriodMs, signal);
  if (signal.aborted) return;
  log.info({ lease: `${namespace}/${name}`, identity }, "became leader");
  onLeading?.(true);
  const leader = new AbortController();
  // When the leader's work fails, stop renewing and hand the failure to the caller.
  const workEnded = new AbortController();
  let workError: unknown;
  const leading = lead(leader.signal).then(
    () => workEnded.abort(),
    (err: unknown) => {
      workError = err;
      workEnded.abort();
    },
  );
  const stop = AbortSignal.any([signal, workEnded.signal]);

  // Renew until stopped or the deadline passes without a successful renewal.
  let lastRenew = Date.now();
  try {
    while (!stop.aborted) {
      await pause(retryPeriodMs, stop);
      if (stop.aborted) break;
      if (await attempt()) lastRenew = Date.now();
      else if (Date.now() - lastRenew > renewDeadlineMs) {
        throw new LeadershipLostError(`could not renew Lease ${namespace}/${name} for ${renewDeadlineMs} ms`);
      }
    }
  } finally {
    onLeading?.(false);
    leader.abort();
    await leading;
  }
  if (workError !== undefined) {
    await release(api, namespace, name, identity, log);
    throw workError;
  }
  await release(api, namespace, name, identity, log);
};

/** Hands the Lease back on a clean shutdown so another replica takes over without waiting for expiry. */
const release = async (
  api: CoordinationV1Api,
  namespace: string,
  name: string,
  identity: string,
  log: Logger,
): Promise<void> => {
  try {
    const lease = await api.readNamespacedLease({ name, namespace });
    if (lease.spec?.holderIdentity !== identity) return;
    await api.replaceNamespacedLease({
      name,
      namespace,
      body: {
        metadata: { name, namespace, resourceVersion: lease.metadata?.resourceVersion ?? "" },
        spec: { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1, renewTime: new V1MicroTime() },
      },
    });
    log.info({ lease: `${namespace}/${name}` }, "released leadership");
  } catch (err) {
    log.warn({ err: errorMessage(err) }, "could not release the Lease; it will expire");
  }
};
