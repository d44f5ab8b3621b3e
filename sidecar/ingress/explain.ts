// POST /explain?vpn=NAME on the admin port: which subscriptions of the VPN an event reaches, and
// why not the others. Only for the VPN's own publishers, authenticated as the ingress does
// (auth.ts): its bearer token, or in sidecar placement loopback for the pod's namespace's VPN.
// Credentials are checked on the headers; the body is read only then, capped at --max-body-bytes
// (docs/architecture.md, "Security model").
import type { AdminApp } from "../../common/admin.ts";
import { parseCloudEvents } from "../cloudevents/index.ts";
import type { GatewayConfig } from "../config.ts";
import { badRequest, forbidden, payloadTooLarge, problemResponse, unavailable } from "../problem.ts";
import type { RoutingTable } from "../routing/index.ts";
import { authenticate } from "./auth.ts";
import { readCapped } from "./server.ts";

export interface ExplainDeps {
  table: () => RoutingTable | undefined;
  config: Pick<GatewayConfig, "namespace" | "maxBodyBytes" | "maxEventBytes">;
}

/** The gateway's admin routes (POST /explain) and its problem-details error mapping. */
export const explainRoutes =
  ({ table, config }: ExplainDeps) =>
  (app: AdminApp): void => {
    app.onError((err) => problemResponse(err));
    app.post("/explain", async (c) => {
      const vpn = c.req.query("vpn");
      if (!vpn) throw badRequest("the vpn query parameter is required: POST /explain?vpn=NAME");
      const current = table();
      if (!current)
        throw unavailable("the first registry snapshot has not been loaded", 1, { slug: "not-ready" });
      const incoming = c.env.incoming;
      const caller = authenticate(
        current,
        c.req.header("authorization"),
        incoming.socket.remoteAddress,
        config.namespace,
      );
      // The same answer whether or not `vpn` exists: its existence is not the caller's to learn.
      if (caller.name !== vpn) throw forbidden(`the credential is not a publisher credential of VPN ${vpn}`);
      const body = await readCapped(incoming, config.maxBodyBytes);
      const [event] = parseCloudEvents(
        { method: "POST", headers: c.req.raw.headers, body },
        { maxEventBytes: config.maxEventBytes, maxBatch: 1 },
      );
      if (!event) throw badRequest("send one CloudEvent");
      return c.json({ vpn, revision: current.revision, subscriptions: current.explain(vpn, event) });
    });
  };

/** The admin app's 413 answer (a body declared over the cap). */
export const adminTooLarge = (detail: string): Response => problemResponse(payloadTooLarge(detail));
