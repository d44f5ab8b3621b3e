// Informers that do not stay down. client-node's ListWatch restarts itself only after 410 Gone
// or a watch timeout; any other error (a refused connection, a 5xx, a failed list) emits
// `error` and stops it for good (kubernetes-client/javascript #1496, #1933). This wrapper
// restarts it with capped exponential backoff, and a watchdog restarts a watch that has been
// silent longer than `stallMs` (the library reconnects every 30 s on quiet resources, so
// silence means it is stuck).
import {
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  ListWatch,
  Watch,
} from "@kubernetes/client-node";
import type { Logger } from "../../common/log.ts";
import type { OperatorMetrics } from "../metrics.ts";
import { apiErrorMessage } from "./api-error.ts";

export type ChangeKind = "add" | "update" | "delete";

export interface Watched<T extends KubernetesObject> {
  /** The cached object, if present. */
  get(name: string, namespace?: string): T | undefined;
  /** The cached objects, all or of one namespace. */
  list(namespace?: string): readonly T[];
  /** Resolves after the first complete list. */
  readonly synced: Promise<void>;
  /** The last error that stopped it, until it next starts cleanly (one line: apiErrorMessage). */
  lastError(): string | undefined;
  /** Watches until `signal` aborts, restarting after errors and stalls. */
  run(signal: AbortSignal): Promise<void>;
}

export interface WatchOptions<T extends KubernetesObject> {
  kc: KubeConfig;
  /** Display name for logs and metrics, e.g. "functions". */
  resource: string;
  /** The API path to list and watch, e.g. `/api/v1/services`. */
  path: string;
  /** Lists, with the field selector when there is one (the watch is given it by the informer). */
  list: () => Promise<KubernetesListObject<T>>;
  /** Only the objects matching this field selector are listed, watched and cached. */
  fieldSelector?: string;
  onChange: (obj: T, change: ChangeKind) => void;
  metrics: OperatorMetrics;
  log: Logger;
  stallMs?: number;
  baseBackoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * Drops what no reconciler reads from a cached object, in place (the informer's cache holds this
 * very object): `metadata.managedFields`, the server-side apply bookkeeping, which for an object
 * applied with `kubectl apply --server-side` and written by the operator is larger than its spec
 * and status together. client-node's informers take no transform, so their add and update events,
 * which hand over the cached object, are where it is done.
 */
export const slim = <T extends KubernetesObject>(obj: T): T => {
  if (obj.metadata?.managedFields !== undefined) delete obj.metadata.managedFields;
  return obj;
};

/** Creates a self-restarting informer over `path`; nothing happens until `run`. */
export const watchResource = <T extends KubernetesObject>(opts: WatchOptions<T>): Watched<T> => {
  const { kc, resource, path, list, onChange, metrics, log } = opts;
  const { stallMs = 120_000, baseBackoffMs = 500, maxBackoffMs = 30_000 } = opts;
  const informer = new ListWatch<T>(path, new Watch(kc), list, false, undefined, opts.fieldSelector);
  const synced = Promise.withResolvers<void>();
  let lastActivity = Date.now();
  let lastError: string | undefined;
  const touch = (): void => {
    lastActivity = Date.now();
  };
  informer.on("add", (o) => {
    touch();
    onChange(slim(o), "add");
  });
  informer.on("update", (o) => {
    touch();
    onChange(slim(o), "update");
  });
  informer.on("delete", (o) => {
    touch();
    onChange(o, "delete");
  });
  informer.on("connect", touch);

  const run = async (signal: AbortSignal): Promise<void> => {
    let failures = 0;
    let restartTimer: NodeJS.Timeout | undefined;
    const startOnce = async (): Promise<void> => {
      if (signal.aborted) return;
      try {
        await informer.start();
        failures = 0;
        lastError = undefined;
        touch();
        synced.resolve();
      } catch (err) {
        scheduleRestart(err);
      }
    };
    const scheduleRestart = (err: unknown): void => {
      if (signal.aborted || restartTimer) return;
      const delay = Math.min(baseBackoffMs * 2 ** failures, maxBackoffMs) * (1 + Math.random() * 0.2);
      failures++;
      lastError = apiErrorMessage(err);
      metrics.informerRestarts.inc({ resource });
      log.warn(
        { resource, path, err: lastError, attempt: failures, retryInMs: Math.round(delay) },
        "informer stopped; restarting",
      );
      restartTimer = setTimeout(() => {
        restartTimer = undefined;
        void startOnce();
      }, delay);
    };
    informer.on("error", scheduleRestart);
    const watchdog = setInterval(
      () => {
        if (Date.now() - lastActivity < stallMs) return;
        touch();
        void informer.stop().then(() => scheduleRestart(new Error(`no watch activity for ${stallMs} ms`)));
      },
      Math.min(stallMs, 10_000),
    );
    await startOnce();
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      signal.addEventListener("abort", () => resolve(), { once: true });
    });
    clearInterval(watchdog);
    if (restartTimer) clearTimeout(restartTimer);
    informer.off("error", scheduleRestart);
    await informer.stop();
  };

  return {
    get: (name, namespace) => informer.get(name, namespace),
    list: (namespace) => informer.list(namespace),
    synced: synced.promise,
    lastError: () => lastError,
    run,
  };
};
