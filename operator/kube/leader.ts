// Leader election on a coordination.k8s.io Lease, as client-go's leaderelection does it: a
// candidate takes the Lease when it is free or its holder has not renewed it for a full
// leaseDuration *as observed by this process's clock* (so clock skew between hosts does not
// matter); the leader renews every retryPeriod and gives up leadership when it could not renew
// for renewDeadline. Writes use the Lease's resourceVersion, so two candidates never both win.
// A Lease namespace that does not exist blocks the campaign: reported through `onBlocked` (the
// operator is not ready then), logged at once and then at most once a minute with the attempt
// count, and retried with backoff until the namespace appears.
import { ApiException, type CoordinationV1Api, type V1Lease, V1MicroTime } from "@kubernetes/client-node";
import { backoffDelay, pause } from "../../common/backoff.ts";
import { errorMessage } from "../../common/errors.ts";
import type { Logger } from "../../common/log.ts";
import { apiErrorMessage } from "./api-error.ts";

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
  /** Called with why the campaign cannot proceed (the Lease namespace is missing), and with undefined once it can again. */
  onBlocked?: (reason: string | undefined) => void;
  /** How often a blocked campaign is logged again, with its attempt count (default one minute). */
  blockedLogIntervalMs?: number;
}

/** Thrown inside a campaign attempt when the Lease cannot be created because its namespace does not exist. */
class LeaseNamespaceMissingError extends Error {
  override name = "LeaseNamespaceMissingError";
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
      try {
        await api.createNamespacedLease({
          namespace,
          body: { metadata: { name, namespace }, spec: { ...spec, acquireTime: now, leaseTransitions: 0 } },
        });
      } catch (err) {
        // Creating an object answers 404 only when its namespace does not exist.
        if (err instanceof ApiException && err.code === 404)
          throw new LeaseNamespaceMissingError(`namespace ${namespace} does not exist`);
        throw err;
      }
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

  /** Consecutive failed reads or writes of the Lease (conflicts are not failures). */
  let failures = 0;
  const attempt = async (): Promise<boolean | "no-namespace"> => {
    try {
      const won = await tryAcquireOrRenew();
      failures = 0;
      return won;
    } catch (err) {
      if (err instanceof LeaseNamespaceMissingError) return "no-namespace";
      if (!isConflict(err)) {
        failures++;
        log.warn(
          {
            lease: `${namespace}/${name}`,
            err: apiErrorMessage(err),
            attempt: failures,
            retryInMs: retryPeriodMs,
          },
          "lease update failed; retrying",
        );
      }
      return false;
    }
  };

  await campaign(opts, attempt, signal);
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

/** Attempts until one wins or `signal` aborts; a missing Lease namespace is reported, logged and retried with backoff. */
const campaign = async (
  opts: LeaderElectionOptions,
  attempt: () => Promise<boolean | "no-namespace">,
  signal: AbortSignal,
): Promise<void> => {
  const { namespace, name, log, onBlocked, retryPeriodMs = 2_000, blockedLogIntervalMs = 60_000 } = opts;
  const lease = `${namespace}/${name}`;
  let blocked = 0;
  let loggedAt = 0;
  while (!signal.aborted) {
    const result = await attempt();
    if (result !== "no-namespace" && blocked > 0) {
      log.info({ lease, attempts: blocked }, "the leader-election namespace exists now; campaigning");
      blocked = 0;
      onBlocked?.(undefined);
    }
    if (result === true) return;
    if (result !== "no-namespace") {
      await pause(retryPeriodMs, signal);
      continue;
    }
    blocked++;
    if (blocked === 1) onBlocked?.(`the leader-election namespace ${namespace} does not exist`);
    if (blocked === 1 || Date.now() - loggedAt >= blockedLogIntervalMs) {
      loggedAt = Date.now();
      log.error(
        { lease, namespace, attempts: blocked },
        "the leader-election namespace does not exist, so this replica cannot campaign: create it or fix --leader-election-namespace; retrying with backoff",
      );
    }
    await pause(backoffDelay(blocked, retryPeriodMs, Math.min(30_000, retryPeriodMs * 16)), signal);
  }
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
