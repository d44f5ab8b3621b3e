// The admin endpoints every program serves: /healthz (the process is alive), /readyz (it can do
// its job; 503 with the reason otherwise) and /metrics (Prometheus text from an injected registry),
// and the routes each program adds (admin-app.ts).
// Every admin request body is capped before it is read (docs/architecture.md, "Security model").
//
// The three endpoints kubelet and Prometheus call are answered here on node:http; the hono app with
// its Node adapter is loaded on the first request for anything else. The adapter imports node:http
// as an ES module, whose namespace reads every export, `WebSocket` included, which makes Node load
// its bundled undici: 2 MiB more V8 heap and 5 MiB more anonymous memory in every gateway from its
// start (`import { createServer } from "node:http"` against `process.getBuiltinModule`, heap used
// after a full collection 6.3 against 4.4 MiB; docs/benchmarks.md, "Node's bundled undici").
// For the same reason node:http is taken with process.getBuiltinModule here.
import type { RequestListener } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import type { AdminApp } from "./admin-app.ts";
import { lingerUnread } from "./linger.ts";

export type { AdminApp };

const { createServer } = process.getBuiltinModule("node:http");

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

const TEXT = { "content-type": "text/plain; charset=UTF-8" };

/** Starts the admin server; resolves once it listens. */
export const serveAdmin = (opts: AdminOptions): Promise<AdminServer> =>
  new Promise((resolve, reject) => {
    const maxBodyBytes = opts.maxBodyBytes ?? ADMIN_MAX_BODY_BYTES;
    let app: Promise<RequestListener> | undefined;
    // The admin app decides what happens to an unread body (linger.ts), not the adapter, whose
    // clean-up would read and discard up to 64 MiB of it.
    const routes = (): Promise<RequestListener> =>
      (app ??= Promise.all([import("./admin-app.ts"), import("@hono/node-server")]).then(
        ([{ adminApp }, { getRequestListener }]) =>
          getRequestListener(adminApp(opts).fetch, { hostname: opts.host, autoCleanupIncoming: false }),
      ));
    const server = createServer((req, res) => {
      const path = req.url?.split("?", 1)[0];
      const own = path === "/healthz" || path === "/readyz" || path === "/metrics";
      const declared = Number(req.headers["content-length"] ?? "0");
      if (!own || (req.method !== "GET" && req.method !== "HEAD") || !(declared <= maxBodyBytes)) {
        routes().then(
          (listener) => listener(req, res),
          (err: unknown) => {
            res.writeHead(500, TEXT).end(`the admin routes cannot be loaded: ${String(err)}`);
          },
        );
        return;
      }
      // A body these routes do not read closes the connection after the answer (linger.ts). A
      // request without one keeps it (`complete` is not yet set while its handler runs).
      const sent = declared > 0 || req.headers["transfer-encoding"] !== undefined;
      const answer = (status: number, headers: Record<string, string>, body: string): void => {
        if (sent && !req.complete) {
          res.setHeader("connection", "close");
          lingerUnread(req);
        }
        res.writeHead(status, headers).end(body);
      };
      if (path === "/healthz") return answer(200, TEXT, "ok");
      if (path === "/readyz") {
        const why = opts.notReady();
        return why === undefined ? answer(200, TEXT, "ok") : answer(503, TEXT, `not ready: ${why}`);
      }
      opts.registry.metrics().then(
        (text) => answer(200, { "content-type": opts.registry.contentType }, text),
        () => answer(500, TEXT, "Internal Server Error"),
      );
    });
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
