// The admin endpoints every program serves: /healthz (the process is alive), /readyz (it can do
// its job; 503 with the reason otherwise) and /metrics (Prometheus text from an injected registry),
// and the routes each program adds (explain, deliveries, dead letters; the operator's gateways).
// Every admin request body is capped before it is read (docs/architecture.md, "Security model").
//
// All of it on node:http, with no web framework: the routes a program adds were served by hono
// and its Node adapter, loaded on the first request for one of them. The adapter imports node:http
// as an ES module, whose namespace reads every export, `WebSocket` included, and builds fetch
// Requests and Responses: both make Node load its bundled undici. One POST /explain left an idle
// gateway 4.5–4.7 MiB of working set and 2.6 MiB of heap heavier for the rest of its life
// (docs/benchmarks.md, "The admin routes without a framework"). For the same reason node:http is
// taken with process.getBuiltinModule here, and no route builds a fetch Response.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import { closesUnread } from "./linger.ts";

const { createServer } = process.getBuiltinModule("node:http");

/** Default cap of an admin request body. */
export const ADMIN_MAX_BODY_BYTES = 1024 * 1024;

/** A request to a program's admin route. */
export interface AdminRequest {
  /** The Node request: its socket, and its body for a route that reads one (capped by the route). */
  readonly incoming: IncomingMessage;
  /** The first value of query parameter `name`, decoded. */
  query(name: string): string | undefined;
  /** Header `name` (repeated values joined with ", "). */
  header(name: string): string | undefined;
}

/** What an admin route answers. */
export interface AdminAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  /**
   * The whole body; or, for a stream, what writes it after the head and ends the response (called
   * also when the client went away before the head: the response is then destroyed; and for a
   * HEAD request, after the head: the response is then ended). A writer given a destroyed or
   * ended response lets go of what it holds.
   */
  readonly body?: string | Uint8Array | ((res: ServerResponse) => void);
}

/** An admin route: its answer, or a thrown (or rejected) error that onError answers. */
export type AdminHandler = (req: AdminRequest) => AdminAnswer | Promise<AdminAnswer>;

/** Where a program adds its admin routes. HEAD is answered by a GET route, without the body. */
export interface AdminRoutes {
  get(path: string, handler: AdminHandler): void;
  post(path: string, handler: AdminHandler): void;
  /** How an error a route throws is answered (default: 500 without detail). */
  onError(answer: (err: unknown) => AdminAnswer): void;
}

export interface AdminOptions {
  host: string;
  port: number;
  registry: Registry;
  /** undefined when ready, otherwise why not. */
  notReady: () => string | undefined;
  /** Adds program-specific admin routes; a route that reads a body reads at most `maxBodyBytes`. */
  extend?: (routes: AdminRoutes) => void;
  /** A request declaring a longer body gets `tooLarge` before anything reads it (default 1 MiB). */
  maxBodyBytes?: number;
  /** The 413 answer (default: problem details with type about:blank). */
  tooLarge?: (detail: string) => AdminAnswer;
}

export interface AdminServer {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  /** Requests received so far (probes and scrapes included): a count that only grows. */
  requests(): number;
  close(): Promise<void>;
}

const TEXT = { "content-type": "text/plain; charset=UTF-8" };

/** `value` as a JSON answer. */
export const json = (value: unknown, status = 200): AdminAnswer => ({
  status,
  headers: { "content-type": "application/json" },
  body: JSON.stringify(value),
});

const defaultTooLarge = (detail: string): AdminAnswer => ({
  status: 413,
  headers: { "content-type": "application/problem+json" },
  body: JSON.stringify({ type: "about:blank", title: "Payload Too Large", status: 413, detail }),
});

const internalError = (): AdminAnswer => ({ status: 500, headers: TEXT, body: "Internal Server Error" });

/** The request as a route sees it; the query is parsed when first asked for. */
const adminRequest = (incoming: IncomingMessage, search: string): AdminRequest => {
  let params: URLSearchParams | undefined;
  return {
    incoming,
    query: (name) => {
      params ??= new URLSearchParams(search);
      return params.get(name) ?? undefined;
    },
    header: (name) => {
      const value = incoming.headers[name.toLowerCase()];
      return Array.isArray(value) ? value.join(", ") : value;
    },
  };
};

/** Starts the admin server; resolves once it listens. */
export const serveAdmin = (opts: AdminOptions): Promise<AdminServer> =>
  new Promise((resolve, reject) => {
    const { maxBodyBytes = ADMIN_MAX_BODY_BYTES, tooLarge = defaultTooLarge } = opts;
    const routes = new Map<string, AdminHandler>();
    let onError: (err: unknown) => AdminAnswer = internalError;
    opts.extend?.({
      get: (path, handler) => routes.set(`GET ${path}`, handler),
      post: (path, handler) => routes.set(`POST ${path}`, handler),
      onError: (answer) => {
        onError = answer;
      },
    });
    /** The answer for a thrown error; a mapping that throws itself gives the plain 500. */
    const failed = (err: unknown): AdminAnswer => {
      try {
        return onError(err);
      } catch {
        return internalError();
      }
    };

    let received = 0;
    const server = createServer((req, res) => {
      received++;
      const target = req.url ?? "/";
      const at = target.indexOf("?");
      const path = at < 0 ? target : target.slice(0, at);
      const declared = Number(req.headers["content-length"] ?? "0");
      const answer = ({ status, headers, body }: AdminAnswer): void => {
        if (res.headersSent) return;
        if (res.destroyed) {
          // A stream's writer still runs: it sees the response gone and lets go of what it holds.
          if (typeof body === "function") body(res);
          return;
        }
        // A body the route did not read closes the connection after the answer (linger.ts).
        if (closesUnread(req)) res.setHeader("connection", "close");
        res.writeHead(status, headers);
        if (typeof body !== "function") res.end(body);
        else {
          // A HEAD answer has no body: a stream's writer sees it ended and writes nothing.
          if (req.method === "HEAD") res.end();
          body(res);
        }
      };
      if (!(declared <= maxBodyBytes))
        return answer(tooLarge(`the request body (${declared} bytes) exceeds ${maxBodyBytes} bytes`));
      const method = req.method === "HEAD" ? "GET" : req.method;
      if (method === "GET" && path === "/healthz") return answer({ status: 200, headers: TEXT, body: "ok" });
      if (method === "GET" && path === "/readyz") {
        const why = opts.notReady();
        return answer(
          why === undefined
            ? { status: 200, headers: TEXT, body: "ok" }
            : { status: 503, headers: TEXT, body: `not ready: ${why}` },
        );
      }
      if (method === "GET" && path === "/metrics") {
        opts.registry.metrics().then(
          (text) =>
            answer({ status: 200, headers: { "content-type": opts.registry.contentType }, body: text }),
          () => answer(internalError()),
        );
        return;
      }
      const handler = routes.get(`${method} ${path}`);
      if (!handler) return answer({ status: 404, headers: TEXT, body: "404 Not Found" });
      let answered: AdminAnswer | Promise<AdminAnswer>;
      try {
        answered = handler(adminRequest(req, at < 0 ? "" : target.slice(at + 1)));
      } catch (err) {
        return answer(failed(err));
      }
      Promise.resolve(answered)
        .then(answer, (err: unknown) => answer(failed(err)))
        .catch(() => res.destroy());
    });
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        requests: () => received,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
