// The registry watcher while etcd is unreachable, each test with an etcd of its own: etcd
// restarts, the watcher cut off while etcd changes (with and without a compaction meanwhile),
// and a frozen etcd. The last snapshot is served meanwhile, status() says so, and the watcher
// converges afterwards, deletions included: by a new watch from the revision it applied last,
// or by a re-list when etcd compacted that revision.
import assert from "node:assert/strict";
import { test } from "node:test";
import { cleanup } from "../../e2e/harness.ts";
import { recordKey } from "../keys.ts";
import { type OwnEtcd, ownEtcd, startTcpProxy } from "../testing/faults.ts";
import { sampleFunction, sampleSubscription, sampleVpn } from "../testing/records.ts";
import {
  captureLog,
  clientOf,
  holds,
  logged,
  ownedBy,
  runWatcher,
  view,
  waitForSnapshot,
  waitForStatus,
  write,
} from "../testing/watcher.ts";

const TIMEOUT = { timeout: 90_000 };
const cluster = "east";
const vpn = sampleVpn({ cluster });
const fnA = sampleFunction({ cluster, name: "a" });
const fnB = sampleFunction({ cluster, name: "b" });
const fnC = sampleFunction({ cluster, name: "c" });
const sub = sampleSubscription({ cluster });

/** An etcd of this test's own, started. */
const started = async (): Promise<OwnEtcd> => {
  const etcd = await ownEtcd();
  await etcd.start();
  return etcd;
};

test(
  "etcd restart: the last snapshot is served while it is down, then the watcher converges",
  TIMEOUT,
  async () => {
    const etcd = await started();
    const admin = clientOf(etcd.url);
    await write(admin, vpn, fnA, fnB, sub);
    const { log, entries } = captureLog();
    const { watcher, restarts, resumes } = runWatcher({ url: etcd.url, log });
    await watcher.ready;
    const before = watcher.current();

    await etcd.kill();
    const down = await waitForStatus(watcher, "disconnected", (s) => !s.connected);
    await waitForStatus(
      watcher,
      "retrying",
      () => logged(entries, "registry still unreachable; retrying").length >= 2,
    );
    assert.equal(watcher.current(), before, "still serving the last snapshot");
    assert.equal(watcher.status().connected, false);
    assert.ok(watcher.status().lastContactAt <= down.lastContactAt, "no contact while etcd is down");

    await etcd.start();
    const after = clientOf(etcd.url);
    await after.delete().key(recordKey(fnB));
    await write(after, fnC, { ...sub, owner: { ...sub.owner, generation: 4 } });
    const expected = view(vpn, fnA, fnC, { ...sub, owner: { ...sub.owner, generation: 4 } });
    await waitForSnapshot(watcher, holds(expected));
    const status = await waitForStatus(watcher, "reconnected", (s) => s.connected);
    assert.ok(status.lastContactAt > down.lastContactAt);
    assert.equal(resumes.length, 1, `one incident: ${resumes.join("; ")}`);
    assert.deepEqual(restarts, [], "etcd kept its revisions: watched again, not re-listed");
    assert.equal(
      logged(entries, "registry watch interrupted; watching again").length,
      1,
      "one start of the incident",
    );
    assert.equal(logged(entries, "registry watch resumed").length, 1, "one end of it");
  },
);

for (const compacted of [false, true])
  test(
    compacted
      ? "changes made while the watcher is cut off and compacted away are found by a re-list, deletions included"
      : "changes made while the watcher is cut off are found by a new watch, deletions included",
    TIMEOUT,
    async () => {
      const etcd = await started();
      const admin = clientOf(etcd.url);
      await write(admin, vpn, fnA, fnB, sub);
      const proxy = await startTcpProxy(Number(new URL(etcd.url).port));
      cleanup(() => proxy.close());
      const { log, entries } = captureLog();
      const { watcher, restarts, resumes } = runWatcher({ url: proxy.url, log });
      await watcher.ready;
      const before = watcher.current();

      // etcd restarts while the watcher cannot reach it; the changes happen before it can again.
      await etcd.kill();
      await waitForStatus(watcher, "disconnected", (s) => !s.connected);
      proxy.block();
      await etcd.start();
      const after = clientOf(etcd.url);
      await after.delete().key(recordKey(fnA));
      await after.delete().key(recordKey(sub));
      await write(after, fnC);
      if (compacted) {
        const { header } = await after.get(recordKey(fnC)).exec();
        await after.kv.compact({ revision: header.revision, physical: true });
      }
      const failed = logged(entries, "registry still unreachable; retrying").length;
      await waitForStatus(
        watcher,
        "a failed attempt after the changes",
        () => logged(entries, "registry still unreachable; retrying").length > failed,
      );
      assert.equal(watcher.current(), before);

      proxy.unblock();
      const snapshot = await waitForSnapshot(watcher, holds(view(vpn, fnB, fnC)));
      assert.deepEqual(ownedBy(snapshot, cluster), view(vpn, fnB, fnC));
      if (compacted) {
        // The new watch asked for a compacted revision; etcd canceled it, and the re-list found all.
        assert.match(restarts.join("; "), /Watcher canceled/);
        const [resynced] = logged(entries, "registry resynced");
        assert.deepEqual([resynced?.added, resynced?.changed, resynced?.deleted], [1, 0, 2]);
      } else {
        assert.deepEqual(restarts, [], "no re-list");
        assert.equal(resumes.length, 1);
        assert.equal(logged(entries, "registry resynced").length, 0);
      }
    },
  );

test(
  "a hung etcd is noticed by the liveness probe; the watcher recovers when it answers again",
  TIMEOUT,
  async () => {
    const etcd = await started();
    const admin = clientOf(etcd.url);
    await write(admin, vpn, fnA);
    const { log, entries } = captureLog();
    const { watcher, resumes } = runWatcher({ url: etcd.url, log, requestTimeoutMs: 1_000 });
    await watcher.ready;
    await waitForStatus(watcher, "connected", (s) => s.connected);
    const before = watcher.current();

    etcd.pause();
    const stale = await waitForStatus(watcher, "disconnected", (s) => !s.connected);
    await waitForStatus(
      watcher,
      "re-listing",
      () => logged(entries, "registry still unreachable; retrying").length > 0,
    );
    assert.equal(watcher.current(), before);
    assert.equal(watcher.status().lastContactAt, stale.lastContactAt, "no contact while etcd is frozen");
    assert.equal(logged(entries, "registry liveness probe failed").length, 1);

    etcd.resume();
    await write(admin, fnB);
    await waitForSnapshot(watcher, holds(view(vpn, fnA, fnB)));
    await waitForStatus(watcher, "reconnected", (s) => s.connected && s.lastContactAt > stale.lastContactAt);
    assert.match(resumes.join("; "), /liveness probe failed twice/);
  },
);
