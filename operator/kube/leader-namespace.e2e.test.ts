// An operator process whose --leader-election-namespace does not exist, against the real API
// server: it says so on /readyz and in its log (once, not once per attempt), keeps retrying, and
// becomes leader once the namespace is created.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { installCrds } from "../../crds/install.ts";
import { cleanup, exclusive, testCluster, testEtcd, uniqueName } from "../../e2e/harness.ts";
import { startOperator } from "../../e2e/operator.ts";
import { waitForDefaultServiceAccount } from "../../e2e/pods.ts";
import { waitFor } from "../../e2e/proc.ts";

const cluster = await testCluster();
await exclusive(cluster, "operator");
await installCrds(cluster);
const etcd = await testEtcd();

const BLOCKED =
  "the leader-election namespace does not exist, so this replica cannot campaign: create it or fix --leader-election-namespace; retrying with backoff";

test("a missing Lease namespace: not ready with its name, logged once, leader once it is created", async () => {
  const leaseNamespace = uniqueName("no-such-ns");
  const operator = await startOperator(cluster, {
    clusterName: uniqueName("lease"),
    id: "lease-op",
    etcd,
    leaseNamespace,
  });
  cleanup(async () => {
    await operator.proc.stop();
    await cluster.kubectl(["delete", "namespace", leaseNamespace, "--ignore-not-found", "--wait=false"]);
  });
  const lines = (): Record<string, unknown>[] =>
    readFileSync(operator.proc.log, "utf8")
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const blocked = () => lines().filter((l) => l.msg === BLOCKED);

  const readyz = await waitFor("/readyz to name the missing namespace", async () => {
    const res = await fetch(`${operator.adminUrl}/readyz`);
    const text = await res.text();
    return res.status === 503 && text.includes(leaseNamespace) ? text : undefined;
  });
  assert.equal(readyz, `not ready: the leader-election namespace ${leaseNamespace} does not exist`);
  await waitFor("the blocked line", async () => (blocked().length > 0 ? true : undefined));
  // Let it retry for a while (the retry period is 500 ms; the backoff starts there): the
  // recovery line below counts the attempts, all of them under this one line.
  await waitFor("4 s of retries since the blocked line", async () =>
    Date.now() - Date.parse(String(blocked()[0]?.time)) > 4_000 ? true : undefined,
  );
  assert.equal(blocked()[0]?.namespace, leaseNamespace);
  assert.equal(blocked()[0]?.level, "error");
  assert.equal(await operator.isLeader(), false);

  await cluster.kubectl(["create", "namespace", leaseNamespace]);
  await waitForDefaultServiceAccount(cluster, leaseNamespace);
  await waitFor("leadership once the namespace exists", async () =>
    (await operator.isLeader()) ? true : undefined,
  );
  assert.equal((await fetch(`${operator.adminUrl}/readyz`)).status, 200);
  const recovered = lines().find((l) => l.msg === "the leader-election namespace exists now; campaigning");
  assert.ok(recovered, "the recovery is logged");
  assert.ok(Number(recovered.attempts) >= 3, `attempt count ${String(recovered.attempts)}`);
  assert.equal(blocked().length, 1, "logged once for all those attempts, not per attempt");
});
