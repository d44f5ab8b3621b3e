// Test helpers for the registry watcher: a running watcher stopped when the test file ends,
// condition-based waits on its snapshots and status, views of records, a logger that keeps its
// lines, and etcd clients closed when the file ends. Etcd processes and the proxy of the fault
// tests are in ./faults.ts.
//
// The watcher reads etcd through the registry client SWITCHBOARD_TEST_REGISTRY_CLIENT names:
// `grpc` (the default: the gateway's), `etcd3` (the operator's) or `http` (over etcd's HTTP
// gateway), so that the same watcher tests run against each.
import { Writable } from "node:stream";
import { isDeepStrictEqual } from "node:util";
import { Etcd3 } from "etcd3";
import { pino } from "pino";
import type { Logger } from "../../common/log.ts";
import { cleanup } from "../../e2e/harness.ts";
import { waitFor } from "../../e2e/proc.ts";
import { encodeRecord } from "../codec.ts";
import { clusterPrefix, recordKey } from "../keys.ts";
import type { RegistrySnapshot } from "../snapshot.ts";
import type { RegistryRecord } from "../types.ts";
import type { RegistryClient } from "../watcher/client.ts";
import { etcd3RegistryClient } from "../watcher/clients/etcd3.ts";
import { grpcRegistryClient } from "../watcher/clients/grpc/index.ts";
import { httpRegistryClient } from "../watcher/clients/http/index.ts";
import {
  createRegistryWatcher,
  type RegistryWatcher,
  type RegistryWatcherOptions,
  type WatcherStatus,
} from "../watcher/index.ts";

// Registered when a test file imports this module (its top level), so that the harness hooks
// its cleanups to the file and not to the first test registering one; runs last.
const clients: Etcd3[] = [];
cleanup(() => {
  for (const client of clients) client.close();
});

/** A client of `url`, closed when the test file ends. */
export const clientOf = (url: string): Etcd3 => {
  const client = new Etcd3({ hosts: url });
  clients.push(client);
  return client;
};

export type RegistryClientKind = "grpc" | "http" | "etcd3";

/** The registry client kind the watcher tests use (SWITCHBOARD_TEST_REGISTRY_CLIENT, default grpc, the gateway's); throws on another value. */
export const registryClientKind = (): RegistryClientKind => {
  const kind = process.env.SWITCHBOARD_TEST_REGISTRY_CLIENT ?? "grpc";
  if (kind !== "grpc" && kind !== "http" && kind !== "etcd3")
    throw new Error(`SWITCHBOARD_TEST_REGISTRY_CLIENT=${kind}: expected grpc, http or etcd3`);
  return kind;
};

/** A registry client of `kind` for `url`, closed when the test file ends. */
export const registryClientOf = (url: string, kind = registryClientKind()): RegistryClient => {
  if (kind === "etcd3") return etcd3RegistryClient(clientOf(url));
  const client =
    kind === "grpc" ? grpcRegistryClient({ endpoints: [url] }) : httpRegistryClient({ endpoints: [url] });
  cleanup(() => client.close());
  return client;
};

/** Puts each record at its key, in order. */
export const write = async (client: Etcd3, ...records: RegistryRecord[]): Promise<void> => {
  for (const record of records) await client.put(recordKey(record)).value(encodeRecord(record));
};

/** The records by key, as a snapshot shows them. */
export const view = (...records: RegistryRecord[]): Record<string, RegistryRecord> =>
  Object.fromEntries(records.map((r) => [recordKey(r), r]));

/** A predicate: the snapshot holds exactly `expected` (only among `cluster`'s records when given). */
export const holds =
  (expected: Record<string, RegistryRecord>, cluster?: string) =>
  (snapshot: RegistrySnapshot): boolean =>
    isDeepStrictEqual(
      cluster === undefined ? Object.fromEntries(snapshot.records) : ownedBy(snapshot, cluster),
      expected,
    );

/** The entries of a captured log with message `msg`. */
export const logged = (entries: () => Record<string, unknown>[], msg: string): Record<string, unknown>[] =>
  entries().filter((e) => e.msg === msg);

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

/** The records of `snapshot` in `cluster`'s subtree, by key. */
export const ownedBy = (
  snapshot: RegistrySnapshot | undefined,
  cluster: string,
): Record<string, RegistryRecord> =>
  Object.fromEntries(
    [...(snapshot?.records ?? [])].filter(([key]) => key.startsWith(clusterPrefix(cluster))),
  );

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
  /** Every onRestart detail, in order. */
  restarts: string[];
  /** Every onResumed detail, in order. */
  resumes: string[];
  /** Every key reported through onInvalid, in order. */
  invalid: string[];
  /** Aborts run() and waits for it to end. */
  stop(): Promise<void>;
}

/** A watcher of etcd at `url` already running (short backoff and probe interval unless given); stopped at the end of the file. */
export const runWatcher = ({
  url,
  ...options
}: Partial<Omit<RegistryWatcherOptions, "client">> & { url: string; log: Logger }): Running => {
  const restarts: string[] = [];
  const resumes: string[] = [];
  const invalid: string[] = [];
  const watcher = createRegistryWatcher({
    baseBackoffMs: 50,
    maxBackoffMs: 500,
    probeIntervalMs: 250,
    requestTimeoutMs: 3_000,
    onRestart: (end) => restarts.push(end.detail),
    onResumed: (end) => resumes.push(end.detail),
    onInvalid: (key) => invalid.push(key),
    ...options,
    client: registryClientOf(url),
  });
  const abort = new AbortController();
  const done = watcher.run(abort.signal);
  const stop = async (): Promise<void> => {
    abort.abort();
    await done;
  };
  cleanup(stop);
  return { watcher, restarts, resumes, invalid, stop };
};
