// What a gateway and an operator say while their registry etcd is down, and when it comes back:
// every retry is a log line with its attempt number, the wait before the next one and what failed
// (the address that refused), never one line and then silence; readiness names what it waits for.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { startEtcd } from "./etcd.ts";
import { cleanup, testCluster, testNamespace, uniqueName } from "./harness.ts";
import { startOperator } from "./operator.ts";
import { freePort } from "./ports.ts";
import { start, waitFor } from "./proc.ts";
import { programArgs } from "./programs.ts";
import { startedLine } from "./started.ts";
import { repoRoot } from "./tools.ts";

const dir = mkdtempSync(join(repoRoot, ".work", "etcd-down-"));
cleanup(() => rmSync(dir, { recursive: true, force: true }));

type Line = Record<string, unknown>;

const lines = (log: string): Line[] =>
  readFileSync(log, "utf8")
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l): Line => ({ ...(JSON.parse(l) as object) }));

const retries = (log: string): Line[] =>
  lines(log).filter((l) => l.component === "registry-watcher" && l.level === "warn");

const readyz = async (adminUrl: string): Promise<{ status: number; body: string }> => {
  const res = await fetch(`${adminUrl}/readyz`);
  return { status: res.status, body: await res.text() };
};

/** Retries numbered 1, 2, 3 …, each with its wait and the refused address. */
const assertRetryLines = (found: Line[], port: number): void => {
  assert.ok(found.length >= 3, `at least three retry lines, got ${found.length}`);
  assert.deepEqual(
    found.map((l) => l.attempt),
    found.map((_, i) => i + 1),
  );
  assert.equal(found[0]?.msg, "registry not listed yet; retrying");
  for (const l of found.slice(1)) {
    assert.equal(l.msg, "registry still unreachable; retrying");
    assert.equal(typeof l.downMs, "number");
  }
  for (const l of found) {
    assert.equal(typeof l.retryInMs, "number");
    assert.match(String(l.reason), new RegExp(`^list failed \\(etcd http://127\\.0\\.0\\.1:${port}\\): `));
  }
};

test("a gateway whose etcd is down logs every retry with its attempt, wait and the refused address, then lists when etcd starts", async () => {
  const port = await freePort();
  const proc = start({
    name: "gateway etcd-down",
    command: process.execPath,
    args: [
      ...programArgs("gateway"),
      `--etcd=http://127.0.0.1:${port}`,
      "--listen=127.0.0.1:0",
      "--cluster-name=down",
      "--metrics-addr=127.0.0.1:0",
      "--id=etcd-down",
    ],
    log: join(dir, "gateway.log"),
  });
  cleanup(() => proc.stop());
  const adminUrl = `http://${String((await startedLine(proc, "gateway started")).metrics)}`;
  await waitFor("three retry lines", async () => (retries(proc.log).length >= 3 ? true : undefined), {
    timeoutMs: 30_000,
  });
  assertRetryLines(retries(proc.log), port);
  const notReady = await readyz(adminUrl);
  assert.equal(notReady.status, 503);
  assert.match(
    notReady.body,
    new RegExp(
      `^not ready: the first registry snapshot has not been loaded \\(list failed \\(etcd http://127\\.0\\.0\\.1:${port}\\): `,
    ),
  );

  const etcd = await startEtcd(dir, { name: "late", clientPort: port });
  cleanup(() => etcd.stop());
  await waitFor("the gateway to be ready", async () =>
    (await readyz(adminUrl)).status === 200 ? true : undefined,
  );
  const listed = lines(proc.log).find((l) => l.msg === "registry listed");
  const attempts = retries(proc.log).length;
  assert.equal(listed?.failedAttempts, attempts, "the recovery line counts the failed attempts");
  assert.equal(typeof listed?.downMs, "number");
});

test("an operator whose etcd is down says in /readyz that it waits for the registry and why, and logs its retries", async () => {
  const cluster = await testCluster();
  const ns = await testNamespace(cluster, "etcd-down");
  const port = await freePort();
  const operator = await startOperator(cluster, {
    clusterName: uniqueName("down"),
    id: "etcd-down",
    etcd: `http://127.0.0.1:${port}`,
    leaseNamespace: ns,
  });
  cleanup(() => operator.proc.stop());
  await waitFor(
    "three retry lines",
    async () => (retries(operator.proc.log).length >= 3 ? true : undefined),
    {
      timeoutMs: 30_000,
    },
  );
  assertRetryLines(retries(operator.proc.log), port);
  const body = await waitFor("readiness to name the registry alone", async () => {
    const r = await readyz(operator.adminUrl);
    return r.status === 503 && !r.body.includes("informer") ? r.body : undefined;
  });
  assert.match(
    body,
    new RegExp(
      `^not ready: waiting for the registry etcd to be listed \\(last error: list failed \\(etcd http://127\\.0\\.0\\.1:${port}\\): `,
    ),
  );
});
