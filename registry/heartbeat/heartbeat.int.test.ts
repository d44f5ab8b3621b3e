// The cluster heartbeat against the shared test etcd (TTL 2 s, etcd's minimum with its default
// settings): the key lives while the heartbeat runs, goes at once on a clean stop, goes within
// the TTL when its holder dies (a process killed) or is cut off (a proxy closing its
// connections), and comes back when its lease is lost or etcd is reachable again.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Etcd3 } from "etcd3";
import { silentLogger } from "../../common/log.ts";
import { cleanup, testEtcd } from "../../e2e/harness.ts";
import { type Proc, start as startProcess, waitFor } from "../../e2e/proc.ts";
import { repoRoot } from "../../e2e/tools.ts";
import { decodeHeartbeat } from "../codec.ts";
import { InvalidRecordError, RegistryKeyError } from "../errors.ts";
import { heartbeatKey } from "../keys.ts";
import { client, freshCluster } from "../testing/etcd.ts";
import { startTcpProxy } from "../testing/faults.ts";
import { captureLog, clientOf, logged } from "../testing/watcher.ts";
import { runHeartbeat } from "./index.ts";

const TTL = 2;

/** The lease id the key is bound to, or undefined when the key does not exist. */
const leaseOf = async (key: string): Promise<string | undefined> =>
  (await client.get(key).exec()).kvs[0]?.lease;

/** Resolves with the lease id once `key` exists bound to a lease other than `not`. */
const keyBound = (key: string, not?: string): Promise<string> =>
  waitFor(
    `${key} bound to a lease`,
    async () => {
      const lease = await leaseOf(key);
      return lease !== undefined && lease !== "0" && lease !== not ? lease : undefined;
    },
    { timeoutMs: 10_000, intervalMs: 20 },
  );

/** Starts a heartbeat of `cluster` on `etcd`; `stop()` aborts it and waits for it to end (at the end of the file at the latest). */
const beating = (cluster: string, etcd: Etcd3 = client, log = silentLogger()) => {
  const abort = new AbortController();
  const options = { client: etcd, cluster, identity: "op-1", version: "1.2.3", ttlSeconds: TTL, log };
  const done = runHeartbeat(options, abort.signal);
  const stop = async (): Promise<void> => {
    abort.abort();
    await done;
  };
  cleanup(stop);
  return { done, stop };
};

/** Another process keeping `cluster`'s heartbeat on etcd at `url` (killed at the end of the file at the latest). */
const startHolder = (url: string, cluster: string): Proc => {
  const heartbeat = new URL("./index.ts", import.meta.url).href;
  const log = new URL("../../common/log.ts", import.meta.url).href;
  const code = [
    `import { Etcd3 } from "etcd3";`,
    `import { silentLogger } from ${JSON.stringify(log)};`,
    `import { runHeartbeat } from ${JSON.stringify(heartbeat)};`,
    "const [, hosts, cluster] = process.argv;",
    `const options = { client: new Etcd3({ hosts }), cluster, identity: "holder", version: "1", ttlSeconds: ${TTL}, log: silentLogger() };`,
    "await runHeartbeat(options, new AbortController().signal);",
  ].join("\n");
  mkdirSync(join(repoRoot, ".work"), { recursive: true });
  const dir = mkdtempSync(join(repoRoot, ".work", "heartbeat-"));
  const holder = startProcess({
    name: "heartbeat holder",
    command: process.execPath,
    args: ["--input-type=module", "-e", code, url, cluster],
    log: join(dir, "holder.log"),
    cwd: repoRoot,
  });
  cleanup(() => holder.stop(0));
  return holder;
};

test("the key holds the heartbeat, outlives its TTL while running, and goes at once on stop", async () => {
  const cluster = freshCluster();
  const key = heartbeatKey(cluster);
  const before = new Date();
  const heartbeat = beating(cluster);
  const lease = await keyBound(key);
  const value = decodeHeartbeat(key, (await client.get(key).string()) ?? "");
  assert.deepEqual(
    { ...value, startedAt: "" },
    { cluster, identity: "op-1", version: "1.2.3", startedAt: "" },
  );
  assert.ok(new Date(value.startedAt) >= new Date(before.getTime() - 1000));

  // Kept alive: across three TTLs the key never goes and keeps its lease (a watch sees any change).
  const watcher = await client.watch().key(key).create();
  const changes: string[] = [];
  watcher.on("put", () => changes.push("put"));
  watcher.on("delete", () => changes.push("delete"));
  const from = Date.now();
  await waitFor(
    "three TTLs with the key in place",
    async () => {
      if ((await leaseOf(key)) !== lease) changes.push("lease changed");
      return Date.now() - from > 3 * TTL * 1000 || changes.length > 0 ? true : undefined;
    },
    { timeoutMs: 4 * TTL * 1000, intervalMs: 100 },
  );
  await watcher.cancel();
  assert.deepEqual(changes, []);

  await heartbeat.stop();
  assert.equal(await client.get(key).exists(), false, "revoked: gone at once");
  const ttl = await client.leaseClient.leaseTimeToLive({ ID: lease });
  assert.equal(ttl.TTL, "-1", "the lease itself is gone");
});

test("a lost lease is replaced: the key comes back under a new lease", async () => {
  const cluster = freshCluster();
  const key = heartbeatKey(cluster);
  const { log, entries } = captureLog();
  const heartbeat = beating(cluster, client, log);
  const first = await keyBound(key);
  await client.leaseClient.leaseRevoke({ ID: first });
  const second = await keyBound(key, first);
  assert.notEqual(second, first);
  assert.equal(logged(entries, "heartbeat lease ended; granting a new one").length, 1);
  await waitFor("restored logged", async () =>
    logged(entries, "heartbeat restored").length === 1 ? true : undefined,
  );
  await heartbeat.stop();
  assert.equal(await client.get(key).exists(), false);
});

test("a holder killed without revoking: the key disappears within the TTL", async () => {
  const cluster = freshCluster();
  const key = heartbeatKey(cluster);
  const holder = startHolder(await testEtcd(), cluster);
  await keyBound(key);
  process.kill(holder.pid, "SIGKILL");
  await holder.exited;
  const diedAt = Date.now();
  await waitFor("the key to expire", async () => ((await client.get(key).exists()) ? undefined : true), {
    timeoutMs: TTL * 1000 + 1000,
    intervalMs: 50,
  });
  assert.ok(Date.now() - diedAt <= TTL * 1000 + 1000);
});

test("a holder cut off from etcd: the key expires within the TTL and comes back when etcd is reachable", async () => {
  const cluster = freshCluster();
  const key = heartbeatKey(cluster);
  const proxy = await startTcpProxy(Number(new URL(await testEtcd()).port));
  cleanup(() => proxy.close());
  const { log, entries } = captureLog();
  const heartbeat = beating(cluster, clientOf(proxy.url), log);
  const first = await keyBound(key);
  proxy.block();
  const cutAt = Date.now();
  await waitFor("the key to expire", async () => ((await client.get(key).exists()) ? undefined : true), {
    timeoutMs: TTL * 1000 + 1000,
    intervalMs: 50,
  });
  assert.ok(Date.now() - cutAt <= TTL * 1000 + 1000);
  await waitFor("the holder to notice", async () =>
    logged(entries, "heartbeat lease ended; granting a new one").length > 0 ? true : undefined,
  );
  proxy.unblock();
  assert.notEqual(await keyBound(key, first), first);
  await heartbeat.stop();
  assert.equal(await client.get(key).exists(), false);
});

test("an unreachable etcd is retried with growing waits, never in a hot loop, until stopped", async () => {
  const unreachable = new Etcd3({ hosts: "http://127.0.0.1:1" });
  const { log, entries } = captureLog();
  const abort = new AbortController();
  const run = runHeartbeat(
    {
      client: unreachable,
      cluster: "east",
      identity: "op-1",
      version: "1",
      ttlSeconds: 1,
      log,
      baseBackoffMs: 100,
      maxBackoffMs: 400,
    },
    abort.signal,
  );
  const failures = () => [
    ...logged(entries, "heartbeat lease ended; granting a new one"),
    ...logged(entries, "heartbeat attempt failed"),
  ];
  await waitFor("five failed attempts", async () => (failures().length >= 5 ? true : undefined), {
    timeoutMs: 10_000,
    intervalMs: 20,
  });
  abort.abort();
  await run;
  const times = failures().map((e) => Number(e.time));
  // Each wait is at least half of min(400, 100·2^(n-1)): 50, 100, 200, 200 ms.
  for (const [i, least] of [50, 100, 200, 200].entries()) {
    const gap = (times[i + 1] ?? 0) - (times[i] ?? 0);
    assert.ok(gap >= least - 5, `wait ${i + 1} was ${gap} ms`);
  }
  assert.equal(logged(entries, "heartbeat lease ended; granting a new one").length, 1, "warned once");
  unreachable.close();
});

test("bad options are refused before anything is sent", async () => {
  const cluster = freshCluster();
  const base = { client, cluster, identity: "op-1", version: "1", log: silentLogger() };
  const signal = new AbortController().signal;
  await assert.rejects(runHeartbeat({ ...base, cluster: "East" }, signal), RegistryKeyError);
  await assert.rejects(runHeartbeat({ ...base, identity: "" }, signal), InvalidRecordError);
  await assert.rejects(runHeartbeat({ ...base, ttlSeconds: 0 }, signal), RangeError);
  await assert.rejects(runHeartbeat({ ...base, ttlSeconds: 1.5 }, signal), RangeError);
  assert.equal(await client.get(heartbeatKey(cluster)).exists(), false);
});
