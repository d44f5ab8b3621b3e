// Changes to a running release keep routing and lose nothing: a helm upgrade to a changed value
// and a helm rollback with events published before, during and after; a rolling restart of the
// shared gateway (durable log on an emptyDir) under steady async load, every accepted event id
// delivered. Counted exactly: the `count` function logs every event id it receives.
import assert from "node:assert/strict";
import { waitFor } from "../proc.ts";
import { helm, kubectl, loggedIds, type ScenarioEnv, waitReady } from "./env.ts";
import { describeLoad, hostLoad } from "./host-load.ts";
import { GATEWAY, installArgs, NAMESPACE, RELEASE } from "./install.ts";
import type { LoadSummary } from "./loadgen.ts";
import { COUNT_TYPE, LOAD, LOAD_TOKEN, loadVpn } from "./manifests.ts";
import type { Scenario } from "./scenario.ts";

const prepare = async (env: ScenarioEnv): Promise<void> => {
  await kubectl(env, ["apply", "-f", "-"], loadVpn(env.images.echo));
  await kubectl(env, ["-n", LOAD, "rollout", "status", "deployment/count", "--timeout=120s"]);
  await waitReady(env, LOAD, "subscriptions.switchboard.dev/count");
};

/** Waits until the count function logged every accepted id; notes duplicates (at-least-once). */
const assertDelivered = async (
  env: ScenarioEnv,
  what: string,
  runs: readonly LoadSummary[],
): Promise<void> => {
  const accepted = runs.flatMap((r) => r.ids ?? []);
  assert.ok(accepted.length > 0, `${what}: events were accepted`);
  const missing = await waitFor(
    `${what}: every accepted event at the count function`,
    async () => {
      const seen = new Set(await loggedIds(env, LOAD, "count"));
      const left = accepted.filter((id) => !seen.has(id));
      return left.length === 0 ? left : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 1_000 },
  );
  assert.deepEqual(missing, []);
  const prefixes = new Set(accepted.map((id) => id.slice(0, id.lastIndexOf("-"))));
  const ours = (await loggedIds(env, LOAD, "count")).filter((id) =>
    prefixes.has(id.slice(0, id.lastIndexOf("-"))),
  );
  env.note(
    `${what}: ${accepted.length} accepted, all delivered (${ours.length - new Set(ours).size} delivered twice); ${runs.map(describeLoad).join("; ")}`,
  );
};

/** Publishes steadily while `change` runs: a run before, one alongside the change, one after. */
const publishedAround = async (
  env: ScenarioEnv,
  tag: string,
  change: () => Promise<unknown>,
): Promise<LoadSummary[]> => {
  const url = await env.gatewayUrl();
  const load = (phase: string, rate: number, seconds: number) =>
    hostLoad({
      url,
      rate,
      seconds,
      token: LOAD_TOKEN,
      type: COUNT_TYPE,
      prefix: `${tag}-${phase}-${Date.now()}`,
      listIds: true,
    });
  const before = await load("before", 100, 2);
  const [during] = await Promise.all([load("during", 100, 20), change()]);
  const after = await load("after", 100, 2);
  return [before, during, after];
};

/** helm upgrade of the release to the durable log (gateway.durability.enabled=true, on an emptyDir). */
const durable = (env: ScenarioEnv): Promise<string> =>
  helm(env, [...installArgs(env.clusterName, env.images), "--set", "gateway.durability.enabled=true"]);

export const upgradeRollback: Scenario = {
  name: "helm upgrade and rollback",
  summary:
    "helm upgrade to a changed value (durable delivery on) and helm rollback keep routing: events published before, during and after each all reach the function",
  needs: "node",
  run: async (env) => {
    await prepare(env);
    const upgrade = await publishedAround(env, "upgrade", () => durable(env));
    await assertDelivered(env, "helm upgrade (gateway.durability.enabled=true)", upgrade);
    const args = JSON.parse(
      await kubectl(env, ["-n", NAMESPACE, "get", "deployment", GATEWAY, "-o", "json"]),
    );
    assert.match(JSON.stringify(args), /--data-dir=/, "the upgrade turned the durable log on");
    const history = await helm(env, ["history", RELEASE, "--namespace", NAMESPACE, "--output", "json"]);
    const parsed: unknown = JSON.parse(history);
    const revisions = Array.isArray(parsed) ? parsed.length : 0;
    const rollback = await publishedAround(env, "rollback", () =>
      helm(env, [
        "rollback",
        RELEASE,
        String(revisions - 1),
        "--namespace",
        NAMESPACE,
        "--wait",
        "--timeout",
        "5m",
      ]),
    );
    await assertDelivered(env, `helm rollback to revision ${revisions - 1}`, rollback);
  },
};

/** kubectl rollout restart of the shared gateways while publishing 200 events/s for 25 s; resolves with the load's ids. */
const restartUnderLoad = async (env: ScenarioEnv, tag: string): Promise<LoadSummary> => {
  const url = await env.gatewayUrl();
  const restart = async (): Promise<void> => {
    await new Promise((r) => setTimeout(r, 2_000));
    await kubectl(env, ["-n", NAMESPACE, "rollout", "restart", `deployment/${GATEWAY}`]);
    await kubectl(env, ["-n", NAMESPACE, "rollout", "status", `deployment/${GATEWAY}`, "--timeout=180s"]);
  };
  const [run] = await Promise.all([
    hostLoad({
      url,
      rate: 200,
      seconds: 25,
      token: LOAD_TOKEN,
      type: COUNT_TYPE,
      prefix: `${tag}-${Date.now()}`,
      listIds: true,
    }),
    restart(),
  ]);
  return run;
};

/** helm upgrade of the release to JetStream on the bundled three-member NATS (gateway.jetstream.enabled=true, bundledNats.enabled=true). */
const onJetStream = (env: ScenarioEnv): Promise<string> =>
  helm(env, [
    ...installArgs(env.clusterName, env.images),
    ...["--set", "gateway.jetstream.enabled=true", "--set", "bundledNats.enabled=true"],
    ...(env.images.nats
      ? [
          ...["--set-string", `bundledNats.image.repository=${env.images.nats.repository}`],
          ...["--set-string", `bundledNats.image.tag=${env.images.nats.tag}`],
        ]
      : []),
  ]);

export const rollingRestartJetStream: Scenario = {
  name: "rolling restart on JetStream",
  summary:
    "helm upgrade to JetStream on the bundled three-member NATS (TLS, one gateway user), then kubectl rollout restart of every shared gateway under steady async load: every accepted event id reaches the function",
  needs: "node",
  run: async (env) => {
    await prepare(env);
    await onJetStream(env);
    const args = JSON.stringify(
      JSON.parse(await kubectl(env, ["-n", NAMESPACE, "get", "deployment", GATEWAY, "-o", "json"])),
    );
    assert.match(args, /--durability=jetstream/, "the upgrade moved the gateways to JetStream");
    await kubectl(env, [
      "-n",
      NAMESPACE,
      "rollout",
      "status",
      `statefulset/${RELEASE}-nats`,
      "--timeout=180s",
    ]);
    await assertDelivered(env, "rollout restart of every shared gateway on JetStream", [
      await restartUnderLoad(env, "js-restart"),
    ]);
  },
};

export const rollingRestart: Scenario = {
  name: "rolling restart",
  summary:
    "kubectl rollout restart of the shared gateway (durable log on an emptyDir: no default StorageClass here) under steady async load: every accepted event id reaches the function",
  needs: "node",
  run: async (env) => {
    await prepare(env);
    const classes = (await kubectl(env, ["get", "storageclass", "-o", "name"])).trim();
    env.note(
      `StorageClasses: ${classes === "" ? "none, so a Deployment with the durable log on an emptyDir" : classes}`,
    );
    await durable(env);
    await assertDelivered(env, "rollout restart of the shared gateway", [
      await restartUnderLoad(env, "restart"),
    ]);
  },
};
