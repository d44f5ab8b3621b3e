// The admin endpoints every program serves: /healthz (the process is alive), /readyz (it can do
// its job; 503 with the reason otherwise) and /metrics (Prometheus text from an injected registry).
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import type { Registry } from "prom-client";

export interface AdminOptions {
  host: string;
  port: number;
  registry: Registry;
  /** undefined when ready, otherwise why not. */
  notReady: () => string | undefined;
  /** Adds program-specific admin routes. */
  extend?: (app: Hono) => void;
}

export interface AdminServer {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  close(): Promise<void>;
}

/** The admin app, for in-process tests with `app.request(...)`. */
export const adminApp = ({
  registry,
  notReady,
  extend,
}: Pick<AdminOptions, "registry" | "notReady" | "extend">): Hono => {
  const app = new Hono();
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
      { fetch: adminApp(opts).fetch, hostname: opts.host, port: opts.port },
      (info: AddressInfo) => {
        resolve({
          port: info.port,
          close: () => new Promise<void>((done) => server.close(() => done())),
        });
      },
    );
    server.once("error", reject);
  });
