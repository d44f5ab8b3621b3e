// The VPN key distributor: one reconcile per namespace (queue key = the namespace name) that makes
// the namespace's `switchboard-vpn-key` Secret hold its VPN's key, or removes it when the
// namespace belongs to no VPN. Runs on the leader only, and only when registry records are sealed.
import type { CoreV1Api } from "@kubernetes/client-node";
import type { Logger } from "../../common/log.ts";
import { VPN_KEY_SECRET, vpnKeyFileContent } from "../../registry/seal/files.ts";
import { vpnSecret } from "../../registry/seal/index.ts";
import type { WriteLimiter } from "../kube/limiter.ts";
import type { OperatorMetrics } from "../metrics.ts";
import type { World } from "../plan/world.ts";
import { runController, TerminalError } from "../reconcile/controller.ts";
import type { WorkQueue } from "../reconcile/queue.ts";
import { planKeySecret } from "./plan.ts";

export interface VpnKeyOptions {
  core: CoreV1Api;
  world: World;
  /** The registry's master key. */
  master: Buffer;
  queue: WorkQueue;
  /** Secret writes wait for it (../kube/limiter.ts). */
  limiter: WriteLimiter;
  metrics: OperatorMetrics;
  log: Logger;
}

/** Runs the distributor until `signal` aborts. API errors are retried with backoff by the controller loop. */
export const runVpnKeys = (opts: VpnKeyOptions, signal: AbortSignal): Promise<void> => {
  const { core, world, master, log, limiter } = opts;
  const content = (vpn: string): string => vpnKeyFileContent(vpn, vpnSecret(master, vpn));
  const reconcile = async (namespace: string) => {
    const plan = planKeySecret(namespace, world, content);
    switch (plan.action) {
      case "none":
        return undefined;
      case "conflict":
        throw new TerminalError(plan.message);
      case "delete":
        await limiter.wait();
        await core.deleteNamespacedSecret({
          name: VPN_KEY_SECRET,
          namespace,
          body: { preconditions: { resourceVersion: plan.resourceVersion } },
        });
        log.info({ namespace }, "VPN key removed: the namespace belongs to no VPN");
        return undefined;
      case "put":
        await limiter.wait();
        if (plan.resourceVersion === undefined)
          await core.createNamespacedSecret({ namespace, body: plan.secret });
        else
          await core.replaceNamespacedSecret({
            name: plan.secret.metadata?.name ?? "",
            namespace,
            body: {
              ...plan.secret,
              metadata: { ...plan.secret.metadata, resourceVersion: plan.resourceVersion },
            },
          });
        log.info({ namespace, vpn: plan.vpn }, "VPN key written for the namespace's sidecars");
        return undefined;
    }
  };
  return runController({ ...opts, kind: "VPNKey", reconcile }, signal);
};
