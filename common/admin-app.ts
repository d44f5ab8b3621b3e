// The admin app on hono: the routes each program adds (explain, deliveries, dead letters,
// gateways). admin.ts answers GET /healthz, /readyz and /metrics itself and loads this module (with
// hono and its Node adapter) on the first request for anything else.
// Every admin request body is capped before it is read (docs/architecture.md, "Security model").
import type { HttpBindings } from "@hono/node-server";
import { Hono } from "hono";
import { ADMIN_MAX_BODY_BYTES, type AdminOptions } from "./admin.ts";
import { lingerUnread } from "./linger.ts";

/** The admin app: hono on @hono/node-server, whose bindings give routes the Node request (`c.env.incoming`). */
export type AdminApp = Hono<{ Bindings: HttpBindings }>;

const defaultTooLarge = (detail: string): Response =>
  Response.json(
    { type: "about:blank", title: "Payload Too Large", status: 413, detail },
    { status: 413, headers: { "content-type": "application/problem+json" } },
  );

/** The admin app: the body cap, then the program's routes. */
export const adminApp = ({
  extend,
  maxBodyBytes = ADMIN_MAX_BODY_BYTES,
  tooLarge = defaultTooLarge,
}: Pick<AdminOptions, "extend" | "maxBodyBytes" | "tooLarge">): AdminApp => {
  const app: AdminApp = new Hono();
  app.use(async (c, next) => {
    const declared = Number(c.req.header("content-length") ?? "0");
    if (declared > maxBodyBytes)
      c.res = tooLarge(`the request body (${declared} bytes) exceeds ${maxBodyBytes} bytes`);
    else await next();
    // A body left unread (refused, or past a route's cap) is not read on: the connection closes
    // after the answer (linger.ts).
    const incoming = c.env?.incoming;
    if (incoming && !incoming.complete) {
      c.res.headers.set("connection", "close");
      lingerUnread(incoming);
    }
  });
  extend?.(app);
  return app;
};
