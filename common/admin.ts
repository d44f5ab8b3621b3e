// The admin endpoints every program serves: /healthz (the process is alive), /readyz (it can do
// its job; 503 with the reason otherwise) and /metrics (Prometheus text from an injected registry).
// Every admin request body is capped before it is read (docs/architecture.md, "Security model").
import type { AddressInfo } from "node:net";
import { type HttpBindings, serve } from "@hono/node-server";
import { Hono } from "hono";
import type { Registry } from "prom-client";
import { lingerUnread } from "./linger.ts";

/** The admin app: hono on @hono/node-server, whose bindings give routes the Node request (`c.env.incoming`). */
export type AdminApp = Hono<{ Bindings: HttpBindings }>;

/** Default cap of an admin request body. */
export const ADMIN_MAX_BODY_BYTES = 1024 * 1024;

export interface AdminOptions {
  host: string;
  port: number;
  registry: Registry;
  /** undefined when ready, otherwise why not. */
  notReady: () => string | undefined;
  /** Adds program-specific admin routes; a route that reads a body reads at most `maxBodyBytes`. */
  extend?: (app: AdminApp) => void;
  /** A request declaring a longer body gets `tooLarge` before anything reads it (default 1 MiB). */
  maxBodyBytes?: number;
  /** The 413 answer (default: problem details with type about:blank). */
  tooLarge?: (detail: string) => Response;
}

export interface AdminServer {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  close(): Promise<void>;
}

const defaultTooLarge = (detail: string): Response =>
  Response.json(
    { type: "about:blank", title: "Payload Too Large", status: 413, detail },
    { status: 413, headers: { "content-type": "application/problem+json" } },
  );

/** The admin app, for in-process tests with `app.request(...)`. */
export const adminApp = ({
  registry,
  notReady,
  extend,
  maxBodyBytes = ADMIN_MAX_BODY_BYTES,
  tooLarge = defaultTooLarge,
}: Pick<AdminOptions, "registry" | "notReady" | "extend" | "maxBodyBytes" | "tooLarge">): AdminApp => {
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
  app.get("/healthz", (c) => c.text("ok"));
  app.get("/readyz", (c) => {
    const why = notReady();
    return why === undefined ? c.text("ok") : c.text(`not ready: ${why}`, 503);
  });
  app.get("/metrics", async (c) =>
    c.body(await registry.metrics(), 200, { "content-type": registry.contentType }),
  );
  extend?.(app);
  return app;
};

/** Starts the admin server; resolves once it listens. */
export const serveAdmin = (opts: AdminOptions): Promise<AdminServer> =>
  new Promise((resolve, reject) => {
    const server = serve(
      // The admin app decides what happens to an unread body (linger.ts), not the adapter, whose
      // clean-up would read and discard up to 64 MiB of it.
      { fetch: adminApp(opts).fetch, hostname: opts.host, port: opts.port, autoCleanupIncoming: false },
      (info: AddressInfo) => {
        resolve({
          port: info.port,
          close: () => new Promise<void>((done) => server.close(() => done())),
        });
      },
    );
    server.once("error", reject);
  });
