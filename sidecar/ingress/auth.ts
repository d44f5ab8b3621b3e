// Who is publishing: a VPN's bearer token, or — in sidecar placement — the pod's own namespace
// for requests from loopback without a token. Every failure is a problem with its own status.
import { hash } from "node:crypto";
import { badRequest, forbidden, unauthorized, unavailable } from "../problem.ts";
import type { RoutingTable } from "../routing/index.ts";
import type { VpnView } from "../types.ts";

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

/** Whether `address` is a loopback address. */
export const isLoopback = (address: string | undefined): boolean =>
  address !== undefined && LOOPBACK.test(address);

/**
 * SHA-256 digests (hex) of the Authorization values seen last, by value: a publisher sends the same
 * token on every request, and hashing it was 2.5 µs of the gateway's CPU per request
 * (bench/cost.ts). Only the digest is kept for a value (what the registry stores is looked up by
 * it), never which VPN it names, so a token revoked or moved in the registry is judged anew on its
 * next request. Bounded: past DIGESTS_KEPT values the cache starts over.
 */
const digests = new Map<string, string | null>();
const DIGESTS_KEPT = 256;

/** The digest of the token in `authorization`, or null when it is not `Bearer <token>`. */
const tokenDigest = (authorization: string): string | null => {
  const known = digests.get(authorization);
  if (known !== undefined) return known;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  const digest = m?.[1] ? hash("sha256", m[1], "hex") : null;
  if (digests.size >= DIGESTS_KEPT) digests.clear();
  digests.set(authorization, digest);
  return digest;
};

/** The VPN the request publishes as; throws 401 (no or unknown token) or 403 (namespace in no VPN). */
export const authenticate = (
  table: RoutingTable,
  authorization: string | undefined,
  remoteAddress: string | undefined,
  ownNamespace: string | undefined,
): VpnView => {
  if (authorization !== undefined) {
    const digest = tokenDigest(authorization);
    if (digest === null)
      throw unauthorized("the Authorization header must be: Bearer <token>", {
        bearerError: "invalid_request",
      });
    const vpn = table.vpnForToken(digest);
    if (!vpn)
      throw unauthorized("the bearer token is not a publisher token of any VPN", {
        bearerError: "invalid_token",
      });
    return vpn;
  }
  if (ownNamespace !== undefined && isLoopback(remoteAddress)) {
    const vpn = table.vpnForNamespace(ownNamespace);
    if (!vpn)
      throw forbidden(`namespace ${ownNamespace} is not a member of any VPN, so its pods cannot publish`);
    return vpn;
  }
  throw unauthorized("a publisher bearer token is required");
};

const SUBSCRIPTION = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/;

/** What an admin request about one subscription carries: its query, its credential and where it came from. */
export interface SubscriptionRequest {
  query(name: string): string | undefined;
  authorization: string | undefined;
  remoteAddress: string | undefined;
}

/**
 * The VPN and subscription an admin request names (`?vpn=NAME&subscription=NAMESPACE/NAME`, else
 * 400 with `usage`), once its caller is shown to publish to that VPN (401, or 403 whether or not
 * the VPN exists); 503 before the first routing table.
 */
export const subscriptionCaller = (
  req: SubscriptionRequest,
  table: RoutingTable | undefined,
  ownNamespace: string | undefined,
  usage: string,
): { vpn: string; subscription: { namespace: string; name: string } } => {
  const vpn = req.query("vpn");
  const subscription = req.query("subscription");
  if (!vpn || !subscription || !SUBSCRIPTION.test(subscription))
    throw badRequest(`the query must be: ${usage}`);
  if (!table) throw unavailable("the first registry snapshot has not been loaded", 1, { slug: "not-ready" });
  const caller = authenticate(table, req.authorization, req.remoteAddress, ownNamespace);
  if (caller.name !== vpn) throw forbidden(`the credential is not a publisher credential of VPN ${vpn}`);
  const [namespace = "", name = ""] = subscription.split("/");
  return { vpn, subscription: { namespace, name } };
};
