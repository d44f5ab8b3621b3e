// Sidecar injection into a real pod: the webhook adds the gateway container with the VPN key
// Secret mounted (sealed records); the application publishes on localhost without a token and the
// event is delivered; deleting the pod drains the sidecar within the grace period.
import assert from "node:assert/strict";
import { get, list } from "../../helm/chart-kit.ts";
import { waitFor } from "../proc.ts";
import { kubectl, kubectlFollow, loggedIds } from "./env.ts";
import { ORDER_CREATED } from "./main-path.ts";
import { injectedApp, SHOP, SIDECAR_PORT } from "./manifests.ts";
import type { Scenario } from "./scenario.ts";

const APP = "shopfront";
const GRACE_SECONDS = 15;

export const injection: Scenario = {
  name: "sidecar injection",
  summary:
    'a Deployment annotated switchboard.dev/inject: "true" gets the gateway container with the VPN key Secret; busybox publishes on 127.0.0.1 without a token and the event is delivered; kubectl delete pod drains the sidecar within the grace period',
  run: async (env) => {
    await kubectl(env, ["apply", "-f", "-"], injectedApp(SHOP, APP, env.images.busybox));
    await kubectl(env, ["-n", SHOP, "rollout", "status", `deployment/${APP}`, "--timeout=120s"]);
    const pods = list(
      JSON.parse(await kubectl(env, ["-n", SHOP, "get", "pods", "-l", `app=${APP}`, "-o", "json"])),
      "items",
    );
    assert.equal(pods.length, 1);
    const pod = String(get(pods[0], "metadata", "name"));
    const containers = list(pods[0], "spec", "containers").map((c) => get(c, "name"));
    assert.deepEqual(containers, ["app", "switchboard-gateway"]);
    const vpnKey = list(pods[0], "spec", "volumes").find((v) => get(v, "name") === "switchboard-vpn-key");
    assert.equal(get(vpnKey, "secret", "secretName"), "switchboard-vpn-key");

    const id = `side-${Date.now()}`;
    // busybox wget adds its own form Content-Type unless the header is spelled Content-Type.
    const answer = await waitFor("the sidecar to accept the event", () =>
      kubectl(env, [
        ...["-n", SHOP, "exec", pod, "-c", "app", "--", "wget", "-q", "-O-"],
        ...[
          "--header",
          "ce-specversion: 1.0",
          "--header",
          `ce-id: ${id}`,
          "--header",
          "ce-source: /shopfront",
        ],
        ...["--header", `ce-type: ${ORDER_CREATED}`, "--header", "Content-Type: application/json"],
        ...["--post-data", '{"amount": 5}', `http://127.0.0.1:${SIDECAR_PORT}/`],
      ]),
    );
    assert.match(answer, /"accepted":1/);
    await waitFor(
      `an orders pod to log ${id}`,
      async () => ((await loggedIds(env, SHOP, "orders")).includes(id) ? true : undefined),
      { intervalMs: 500 },
    );

    const logs = kubectlFollow(env, ["-n", SHOP, "logs", "-f", pod, "-c", "switchboard-gateway"]);
    try {
      await waitFor("the sidecar's log to stream", async () =>
        logs.text().includes("gateway started") ? true : undefined,
      );
      const deleted = performance.now();
      await kubectl(env, ["-n", SHOP, "delete", "pod", pod, "--wait=false"]);
      await logs.done;
      const ms = Math.round(performance.now() - deleted);
      env.note(`sidecar stopped ${ms} ms after kubectl delete pod (grace period ${GRACE_SECONDS} s)`);
      assert.ok(ms < GRACE_SECONDS * 1000, `stopped within the grace period: ${ms} ms`);
      assert.match(logs.text(), /"signal":"SIGTERM","msg":"shutting down"/);
      assert.match(logs.text(), /"msg":"drained: no accepted event awaits delivery; stopping"/);
    } finally {
      logs.stop();
    }
  },
};
