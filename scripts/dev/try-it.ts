// The commands dev mode prints to paste: for each Ready Subscription, a request that reaches it
// (checked with the gateway's POST /explain before it is printed), with the VPN's real token.
import { CoreV1Api } from "@kubernetes/client-node";
import { errorMessage } from "../../common/errors.ts";
import type { SubscriptionSpec, VpnSpec } from "../../crds/types.ts";
import type { Cluster } from "../../e2e/cluster.ts";
import { type Declared, label } from "./manifests.ts";
import { eventCurl, eventHeaders, routeCurl, type SampleEvent, sampleEvent } from "./samples.ts";

export interface Gateway {
  readonly url: string;
  readonly adminUrl: string;
}

// Read only from objects the API server accepted (Ready ones and their VPN), so the CRD schema has
// validated the shape.
const spec = <T>(o: Declared): T | undefined =>
  typeof o.body.spec === "object" && o.body.spec !== null ? (o.body.spec as T) : undefined;

/** The token of the VPN's first publisher whose Secret exists, or undefined. */
const tokenOf = async (core: CoreV1Api, vpn: VpnSpec | undefined): Promise<string | undefined> => {
  for (const p of vpn?.publishers ?? []) {
    const { namespace, name, key } = p.tokenSecretRef;
    try {
      const secret = await core.readNamespacedSecret({ namespace, name });
      const value = secret.data?.[key];
      if (value !== undefined) return Buffer.from(value, "base64").toString("utf8").trim();
    } catch {
      // Another publisher may have its Secret.
    }
  }
  return undefined;
};

/** Whether `event` reaches Subscription ns/name, per the gateway's /explain; the reason when not. */
const explain = async (
  gateway: Gateway,
  vpn: string,
  event: SampleEvent,
  token: string,
  target: { namespace: string; name: string },
): Promise<string | undefined> => {
  const res = await fetch(`${gateway.adminUrl}/explain?vpn=${encodeURIComponent(vpn)}`, {
    method: "POST",
    headers: eventHeaders(event, token),
    body: JSON.stringify(event.data),
  });
  const answer: unknown = await res.json();
  if (!res.ok) return `/explain answered ${res.status}: ${JSON.stringify(answer)}`;
  const subs =
    typeof answer === "object" && answer !== null && "subscriptions" in answer ? answer.subscriptions : [];
  for (const s of Array.isArray(subs) ? subs : []) {
    if (s?.namespace === target.namespace && s?.name === target.name)
      return s.matched === true ? undefined : String(s.reason);
  }
  return "the gateway does not know the subscription";
};

/** One block of lines per Ready Subscription: a comment and the curl, or why there is none; never throws. */
export const tryIt = async (
  cluster: Cluster,
  gateway: Gateway,
  objects: readonly Declared[],
  ready: (o: Declared) => boolean,
): Promise<string[]> => {
  const core = cluster.kubeConfig().makeApiClient(CoreV1Api);
  const lines: string[] = [];
  for (const o of objects) {
    const sub = o.kind === "Subscription" ? spec<SubscriptionSpec>(o) : undefined;
    if (!sub || !ready(o)) continue;
    const vpn = objects.find((v) => v.kind === "VPN" && v.name === sub.vpn);
    try {
      const token = await tokenOf(core, vpn ? spec<VpnSpec>(vpn) : undefined);
      if (token === undefined) {
        lines.push(`# ${label(o)}: VPN ${sub.vpn} has no publisher token to send with`);
        continue;
      }
      if (sub.http) {
        lines.push(`# ${label(o)} (${sub.mode}, HTTP route ${sub.http.method} ${sub.http.path})`);
        lines.push(routeCurl(gateway.url, sub.http, token));
        continue;
      }
      const event = sampleEvent(sub, "1");
      const target = { namespace: o.namespace ?? "default", name: o.name };
      const why = await explain(gateway, sub.vpn, event, token, target);
      if (why === undefined) {
        lines.push(`# ${label(o)} (${sub.mode}: ${sub.mode === "async" ? "202" : "the function's answer"})`);
        lines.push(eventCurl(gateway.url, event, token));
      } else
        lines.push(`# ${label(o)}: no sample printed, the event dev mode built does not reach it (${why})`);
    } catch (err) {
      lines.push(`# ${label(o)}: no sample printed: ${errorMessage(err)}`);
    }
  }
  return lines;
};
