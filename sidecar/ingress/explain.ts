// POST /explain?vpn=NAME on the admin port: which subscriptions of the VPN an event reaches, and
// why not the others. Only for the VPN's own publishers, authenticated as the ingress does
// (auth.ts): its bearer token, or in sidecar placement loopback for the pod's namespace's VPN.
// Credentials are checked on the headers; the body is read only then, capped at --max-body-bytes
// (docs/architecture.md, "Security model"). A caller without the VPN's credential gets 403
// whether or not the VPN exists. 404 only answers a caller entitled to the VPN whose record this
// gateway does not have: a sidecar holding its VPN's key (--vpn-key-file) asked on loopback about
// that VPN after the VPN's record is gone (a token always names a VPN that has a record).
import { type AdminAnswer, type AdminRoutes, json } from "../../common/admin.ts";
import { parseCloudEvents } from "../cloudevents/index.ts";
import type { GatewayConfig } from "../config.ts";
import {
  badRequest,
  forbidden,
  notFound,
  ProblemError,
  payloadTooLarge,
  problemReply,
  unavailable,
} from "../problem.ts";
import type { RoutingTable } from "../routing/index.ts";
import { authenticate } from "./auth.ts";
import { nodeHeaders, readCapped } from "./server.ts";

export interface ExplainDeps {
  table: () => RoutingTable | undefined;
  config: Pick<GatewayConfig, "namespace" | "maxBodyBytes" | "maxEventBytes">;
  /** The one VPN whose key this gateway holds (an injected sidecar's --vpn-key-file); undefined otherwise. */
  ownVpn?: string | undefined;
}

/** The gateway's admin routes (POST /explain) and its problem-details error mapping. */
export const explainRoutes =
  ({ table, config, ownVpn }: ExplainDeps) =>
  (app: AdminRoutes): void => {
    app.onError(problemReply);
    app.post("/explain", async (c) => {
      const vpn = c.query("vpn");
      if (!vpn) throw badRequest("the vpn query parameter is required: POST /explain?vpn=NAME");
      const current = table();
      if (!current)
        throw unavailable("the first registry snapshot has not been loaded", 1, { slug: "not-ready" });
      const incoming = c.incoming;
      let caller: { name: string };
      try {
        caller = authenticate(
          current,
          c.header("authorization"),
          incoming.socket.remoteAddress,
          config.namespace,
        );
      } catch (err) {
        // Loopback in sidecar placement whose namespace is in no VPN: for the sidecar's own VPN
        // (it holds that VPN's key) whose record is gone, say that rather than "forbidden".
        const own = err instanceof ProblemError && err.status === 403 && vpn === ownVpn;
        if (own && current.vpn(vpn) === undefined)
          throw notFound(
            `VPN ${vpn} has no record in the registry this gateway reads (revision ${current.revision}): it was deleted, or its record has not reached this gateway`,
            { slug: "unknown-vpn" },
          );
        throw err;
      }
      // The same answer whether or not `vpn` exists: its existence is not the caller's to learn.
      if (caller.name !== vpn) throw forbidden(`the credential is not a publisher credential of VPN ${vpn}`);
      const body = await readCapped(incoming, config.maxBodyBytes);
      const [event] = parseCloudEvents(
        {
          method: "POST",
          headers: nodeHeaders(
            incoming.headers,
            incoming.rawHeaders.length / 2,
            () => incoming.headersDistinct,
          ),
          body,
        },
        { maxEventBytes: config.maxEventBytes, maxBatch: 1 },
      );
      if (!event) throw badRequest("send one CloudEvent");
      return json({ vpn, revision: current.revision, subscriptions: current.explain(vpn, event) });
    });
  };

/** The admin server's 413 answer (a body declared over the cap). */
export const adminTooLarge = (detail: string): AdminAnswer => problemReply(payloadTooLarge(detail));
