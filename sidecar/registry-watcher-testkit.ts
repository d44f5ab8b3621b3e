// Test helpers for the registry watcher: a running watcher stopped when the test file ends,
// condition-based waits on its snapshots and status, a view of one cluster's records, a logger
// that keeps its lines, and etcd processes of a test's own that it can kill and restart.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { Etcd3 } from "etcd3";
import { pino } from "pino";
import type { Logger } from "../common/log.ts";
import { type Etcd, startEtcd } from "../e2e/etcd.ts";
import { cleanup } from "../e2e/harness.ts";
import { freePort } from "../e2e/ports.ts";
import { waitFor } from "../e2e/proc.ts";
import { repoRoot } from "../e2e/tools.ts";
import type { RegistryRecord } from "../registry/types.ts";
import {
  createRegistryWatcher,
  type RegistryWatcher,
  type RegistryWatcherOptions,
  type WatcherStatus,
} from "./registry-watcher.ts";
import type { RegistrySnapshot } from "./types.ts";

/** Resolves with the first snapshot (the current one included) satisfying `predicate`; rejects after `timeoutMs`. */
export const waitForSnapshot = (
  watcher: RegistryWatcher,
  predicate: (snapshot: RegistrySnapshot) => boolean,
  timeoutMs = 30_000,
): Promise<RegistrySnapshot> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(
        new Error(`no satisfying snapshot within ${timeoutMs} ms (at revision ${watcher.status().revision})`),
      );
    }, timeoutMs);
    const check = (snapshot: RegistrySnapshot | undefined): void => {
      if (snapshot === undefined || !predicate(snapshot)) return;
      clearTimeout(timer);
      stop();
      resolve(snapshot);
    };
    const stop = watcher.onSnapshot(check);
    check(watcher.current());
  });

/** Resolves with the status once `predicate` holds (polled every 20 ms); rejects after `timeoutMs`. */
export const waitForStatus = (
  watcher: RegistryWatcher,
  what: string,
  predicate: (status: WatcherStatus) => boolean,
  timeoutMs = 30_000,
): Promise<WatcherStatus> =>
  waitFor(
    what,
    async () => {
      const status = watcher.status();
      return predicate(status) ? status : undefined;
    },
    { timeoutMs, intervalMs: 20 },
  );

/** The records of `snapshot` written by `cluster` (the last key segment), by key. */
export const ownedBy = (
  snapshot: RegistrySnapshot | undefined,
  cluster: string,
): Record<string, RegistryRecord> =>
  Object.fromEntries([...(snapshot?.records ?? [])].filter(([key]) => key.endsWith(`/${cluster}`)));

/** A debug-level logger keeping its JSON lines in memory. */
export const captureLog = (): { log: Logger; entries: () => Record<string, unknown>[] } => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const log = pino({ level: "debug" }, sink);
  return { log, entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
};

export interface Running {
  watcher: RegistryWatcher;
  /** Every onRestart reason, in order. */
  restarts: string[];
  /** Every key reported through onInvalid, in order. */
  invalid: string[];
  /** Aborts run() and waits for it to end. */
  stop(): Promise<void>;
}

/** A watcher already running (short backoff and probe interval unless given); stopped at the end of the file. */
export const runWatcher = (
  options: Partial<RegistryWatcherOptions> & { client: Etcd3; log: Logger },
): Running => {
  const restarts: string[] = [];
  const invalid: string[] = [];
  const watcher = createRegistryWatcher({
    baseBackoffMs: 50,
    maxBackoffMs: 500,
    probeIntervalMs: 250,
    requestTimeoutMs: 3_000,
    onRestart: (reason) => restarts.push(reason),
    onInvalid: (key) => invalid.push(key),
    ...options,
  });
  const abort = new AbortController();
  const done = watcher.run(abort.signal);
  const stop = async (): Promise<void> => {
    abort.abort();
    await done;
  };
  cleanup(stop);
  return { watcher, restarts, invalid, stop };
};

export interface OwnEtcd {
  /** Client URL; the same across restarts. */
  readonly url: string;
  /** Starts etcd (again) on the same ports; `fresh` gives it an empty data directory. */
  start(fresh?: boolean): Promise<void>;
  /** Kills etcd at once (SIGKILL), as a crash would. */
  kill(): Promise<void>;
  /** Freezes etcd (SIGSTOP): connections stay open but nothing answers, as with a hung host. */
  pause(): void;
  /** Lets a paused etcd go on (SIGCONT). */
  resume(): void;
}

/** An etcd of this test alone, in a directory under .work (removed when the process exits cleanly). */
export const ownEtcd = async (): Promise<OwnEtcd> => {
  mkdirSync(join(repoRoot, ".work"), { recursive: true });
  const dir = mkdtempSync(join(repoRoot, ".work", "watcher-etcd-"));
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  let proc: Etcd | undefined;
  let generation = 0;
  const kill = async (): Promise<void> => {
    await proc?.proc.stop(0);
    proc = undefined;
  };
  const signalEtcd = (signal: NodeJS.Signals): void => {
    if (proc === undefined) throw new Error("etcd is not running");
    process.kill(proc.proc.pid, signal);
  };
  cleanup(kill);
  process.on("exit", (code) => {
    if (code === 0 && (process.exitCode ?? 0) === 0) rmSync(dir, { recursive: true, force: true });
  });
  return {
    url: `http://127.0.0.1:${clientPort}`,
    start: async (fresh = false) => {
      if (fresh) generation++;
      proc = await startEtcd(join(dir, `gen-${generation}`), { clientPort, peerPort });
    },
    kill,
    pause: () => signalEtcd("SIGSTOP"),
    resume: () => signalEtcd("SIGCONT"),
  };
};
