// The admin routes of a subscription's dead letters (--durability jetstream): list them with why
// their retries ran out, and redrive them to the subscription once its function is fixed. Only
// for the VPN's own publishers, authenticated as the ingress does (auth.ts), like /explain.
//   GET  /deadletters?vpn=NAME&subscription=NAMESPACE/NAME[&limit=N]
//   POST /deadletters/redrive?vpn=NAME&subscription=NAMESPACE/NAME   {"ids":[…]} | {"from":…,"to":…} | {}
import { type AdminRequest, type AdminRoutes, json } from "../../common/admin.ts";
import type { GatewayConfig } from "../config.ts";
import type { JetStreamEngine, RedriveSelection } from "../delivery/jetstream.ts";
import { badRequest, notFound } from "../problem.ts";
import type { RoutingTable } from "../routing/index.ts";
import { subscriptionCaller } from "./auth.ts";
import { readCapped } from "./server.ts";

export interface DeadLetterDeps {
  table: () => RoutingTable | undefined;
  config: Pick<GatewayConfig, "namespace" | "maxBodyBytes">;
  /** The JetStream engine; undefined when the gateway keeps no dead letters (its own queue). */
  store: Pick<JetStreamEngine, "deadLetters" | "redrive"> | undefined;
}

const MAX_LIMIT = 10_000;

/** The VPN and subscription a request names, once its caller is shown to publish to that VPN and the gateway keeps dead letters. */
const authorized = (
  c: AdminRequest,
  { table, config, store }: DeadLetterDeps,
  usage: string,
): { vpn: string; subscription: { namespace: string; name: string } } => {
  const named = subscriptionCaller(
    {
      query: (name) => c.query(name),
      authorization: c.header("authorization"),
      remoteAddress: c.incoming.socket.remoteAddress,
    },
    table(),
    config.namespace,
    usage,
  );
  if (!store)
    throw notFound("this gateway keeps no dead letters: they are kept with --durability jetstream", {
      slug: "no-dead-letters",
    });
  return named;
};

const time = (field: string, value: unknown): Date | undefined => {
  if (value === undefined) return undefined;
  const at = typeof value === "string" ? new Date(value) : undefined;
  if (!at || Number.isNaN(at.getTime())) throw badRequest(`"${field}" must be an RFC 3339 time`);
  return at;
};

/** The redrive request's body: which dead letters to take. */
const selection = (body: Uint8Array): RedriveSelection => {
  let parsed: unknown = {};
  if (body.length > 0)
    try {
      parsed = JSON.parse(Buffer.from(body).toString("utf8"));
    } catch {
      throw badRequest('the body must be JSON: {"ids":[…]}, {"from":TIME,"to":TIME} or {} for all');
    }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw badRequest('the body must be a JSON object: {"ids":[…]}, {"from":TIME,"to":TIME} or {} for all');
  const { ids, from, to, ...rest } = parsed as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw badRequest(`unknown field "${unknown[0]}": expected ids, from, to`);
  if (ids !== undefined && (!Array.isArray(ids) || ids.some((id) => typeof id !== "string")))
    throw badRequest('"ids" must be an array of event ids (strings)');
  const select: RedriveSelection = {};
  if (ids !== undefined) select.ids = ids as string[];
  const f = time("from", from);
  const t = time("to", to);
  if (f) select.from = f;
  if (t) select.to = t;
  return select;
};

/** GET /deadletters and POST /deadletters/redrive (errors mapped by the admin routes' onError, explain.ts). */
export const deadLetterRoutes =
  (deps: DeadLetterDeps) =>
  (app: AdminRoutes): void => {
    app.get("/deadletters", async (c) => {
      const { vpn, subscription } = authorized(
        c,
        deps,
        "GET /deadletters?vpn=NAME&subscription=NAMESPACE/NAME[&limit=N]",
      );
      const limitText = c.query("limit") ?? "1000";
      const limit = Number(limitText);
      if (!/^\d+$/.test(limitText) || limit < 1 || limit > MAX_LIMIT)
        throw badRequest(`limit must be an integer from 1 to ${MAX_LIMIT}`);
      const deadLetters = await deps.store?.deadLetters(vpn, subscription, limit);
      return json({ vpn, subscription: `${subscription.namespace}/${subscription.name}`, deadLetters });
    });
    app.post("/deadletters/redrive", async (c) => {
      const { vpn, subscription } = authorized(
        c,
        deps,
        "POST /deadletters/redrive?vpn=NAME&subscription=NAMESPACE/NAME",
      );
      const select = selection(await readCapped(c.incoming, deps.config.maxBodyBytes));
      const redriven = (await deps.store?.redrive(vpn, subscription, select)) ?? 0;
      return json({ vpn, subscription: `${subscription.namespace}/${subscription.name}`, redriven });
    });
  };
