// The ingress served on node:http directly: headers read in place, the body read into one Buffer
// with a byte cap, the reply written with writeHead/end. No fetch Request, Headers, Response or
// web stream is built per request: with hono's Node adapter those were about a third of the
// gateway's CPU under load (profile in docs/benchmarks.md). The admin routes are on node:http
// too (common/admin.ts).
// Connections beyond --max-connections get 503 `overloaded` on their first request, before its
// body is read (docs/architecture.md, "Security model"). Under memory pressure
// (common/memory-pressure.ts) requests beyond those it admits get 503 `overloaded` the same way.
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { CappedBody } from "../../common/capped-body.ts";
import { closesUnread } from "../../common/linger.ts";
import type { GatewayMetrics } from "../metrics.ts";
import { badGateway, badRequest, overloaded, payloadTooLarge, problemReply } from "../problem.ts";
import type { HeaderView, Reply } from "../types.ts";
import type { Ingress } from "./index.ts";

// Not `import { createServer } from "node:http"`: that ES module namespace makes Node load its
// bundled undici, 2 MiB of heap (common/admin.ts).
const { createServer } = process.getBuiltinModule("node:http");

export interface IngressServerOptions {
  host: string;
  port: number;
  maxBodyBytes: number;
  requestTimeoutMs: number;
  /** Connections beyond this many are answered 503 and closed; beyond twice as many, closed unanswered. */
  maxConnections?: number;
  metrics?: Pick<GatewayMetrics, "openConnections" | "requestsRefused">;
  /** Whether a request may start with `inProgress` others in progress (memory pressure); default: always. */
  admits?: (inProgress: number) => boolean;
  /** The detail of the 503 for a request `admits` refused: which memory limit is near. */
  refusalDetail?: () => string;
  /** Called as each request arrives, before anything else (the event-loop lag's sampling starts again). */
  onRequest?: () => void;
}

export interface IngressServer {
  readonly server: Server;
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  /** Requests received so far (refused ones included). */
  requests(): number;
  /** Requests passed to the ingress and not yet answered. */
  inProgress(): number;
  /** Stops accepting connections; resolves when the open ones have closed. */
  close(): Promise<void>;
}

/**
 * Sorts header names in place, in the order Array.prototype.sort gives strings. A request's few
 * names are sorted by insertion, which allocates nothing (V8's sort copies into a work array:
 * 0.9 KiB per request, bench/cost.ts); many names by V8's sort, which stays O(n log n).
 */
const sortNames = (names: string[]): string[] => {
  if (names.length > 32) return names.sort();
  for (let i = 1; i < names.length; i++) {
    const name = names[i] as string;
    let j = i - 1;
    while (j >= 0 && (names[j] as string) > name) {
      names[j + 1] = names[j] as string;
      j--;
    }
    names[j + 1] = name;
  }
  return names;
};

const NONE: readonly string[] = Object.freeze([]);

/**
 * The view itself: a class, so that a request costs one small object. As an object literal with
 * closures and a computed `[Symbol.iterator]` key it was 2 µs of each request's CPU in the
 * closed-loop profile (bench/cost.ts --profiles), most of it building that literal.
 */
class NodeHeaders implements HeaderView {
  readonly repeated: readonly string[];
  private readonly raw: IncomingHttpHeaders;
  private readonly keys: string[];
  private entries: [string, string][] | undefined;
  private sorted: boolean;

  constructor(
    raw: IncomingHttpHeaders,
    rawLines?: number,
    distinct?: () => Record<string, string[] | undefined>,
  ) {
    this.raw = raw;
    this.keys = Object.keys(raw);
    this.entries = undefined;
    this.sorted = false;
    if (distinct && rawLines !== this.keys.length) {
      const all = distinct();
      this.repeated = Object.keys(all).filter((name) => (all[name]?.length ?? 0) > 1);
    } else this.repeated = NONE;
  }

  get(name: string): string | null {
    const v = this.raw[name];
    return v === undefined ? null : Array.isArray(v) ? v.join(", ") : v;
  }

  has(name: string): boolean {
    return this.raw[name] !== undefined;
  }

  /** Sorted in place once, by whichever of names() and the iterator comes first. */
  names(): readonly string[] {
    if (!this.sorted) {
      sortNames(this.keys);
      this.sorted = true;
    }
    return this.keys;
  }

  /** Sorted once per request, when first iterated. */
  [Symbol.iterator](): Iterator<[string, string]> {
    if (!this.entries) {
      const entries: [string, string][] = [];
      for (const name of this.names()) {
        const v = this.get(name);
        if (v !== null) entries.push([name, v]);
      }
      this.entries = entries;
    }
    return this.entries[Symbol.iterator]();
  }
}

/**
 * A HeaderView over Node's parsed headers (names already lower-case; repeated values joined with
 * ", " as fetch does). `rawLines` (IncomingMessage.rawHeaders.length / 2) and `distinct`
 * (IncomingMessage.headersDistinct) tell which names were sent more than once: Node keeps only
 * the first content-type, so the join alone cannot. Node builds `distinct` when first read, so it
 * is read only when there are more header lines than names (a name was repeated): most requests
 * never pay for it.
 */
export const nodeHeaders = (
  raw: IncomingHttpHeaders,
  rawLines?: number,
  distinct?: () => Record<string, string[] | undefined>,
): HeaderView => new NodeHeaders(raw, rawLines, distinct);

/** The whole body of `req`; rejects with 413 past `max` bytes (declared or sent) and 400 when the client goes away. */
export const readCapped = (req: IncomingMessage, max: number): Promise<Uint8Array> =>
  new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? "0");
    if (declared > max) {
      reject(payloadTooLarge(`the request body (${declared} bytes) exceeds ${max} bytes`));
      return;
    }
    const capped = new CappedBody(max);
    const onData = (chunk: Buffer): void => {
      if (capped.add(chunk)) return;
      req.off("data", onData);
      req.off("end", onEnd);
      // Not read on: the answer closes the connection (send).
      req.pause();
      reject(payloadTooLarge(`the request body exceeds ${max} bytes`));
    };
    const onEnd = (): void => {
      resolve(capped.joined());
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", () => reject(badRequest("the client closed the request before its body arrived")));
  });

/** The most body bytes `req` can bring: its Content-Length, or `max` for a chunked body; 0 without a body. */
export const bodyBytesOf = (req: IncomingMessage, max: number): number => {
  if (req.headers["transfer-encoding"] !== undefined) return max;
  return Math.min(max, Number(req.headers["content-length"] ?? "0") || 0);
};

/** Writes `reply`; a request whose body was not read to the end closes the connection after it, unread (linger.ts). */
const send = (req: IncomingMessage, res: ServerResponse, reply: Reply, close = false): void => {
  if (res.headersSent || res.destroyed) return;
  // 204 and 304 carry no body and no Content-Length (RFC 9110 §8.6).
  const bodiless = reply.status === 204 || reply.status === 304;
  const body = bodiless ? undefined : typeof reply.body === "string" ? Buffer.from(reply.body) : reply.body;
  const headers: Record<string, string | string[]> = reply.headers;
  if (bodiless) delete headers["content-length"];
  else headers["content-length"] = String(body?.byteLength ?? 0);
  if (closesUnread(req) || close) headers.connection = "close";
  try {
    res.writeHead(reply.status, headers);
  } catch (err) {
    // A response header of the function that Node refuses to send (e.g. a control character).
    send(req, res, problemReply(badGateway(`the function's response has an invalid header: ${String(err)}`)));
    return;
  }
  res.end(body);
};

/** Serves `ingress` on host:port; resolves once it listens. */
export const serveIngress = (ingress: Ingress, opts: IngressServerOptions): Promise<IngressServer> => {
  const { maxConnections = Number.POSITIVE_INFINITY, metrics, admits, refusalDetail, onRequest } = opts;
  let open = 0;
  let requests = 0;
  let inProgress = 0;
  /** Connections accepted beyond maxConnections: their requests are refused. */
  const over = new WeakSet<Socket>();
  const server = createServer(
    {
      maxHeaderSize: 16 * 1024,
      requestTimeout: opts.requestTimeoutMs,
      headersTimeout: Math.min(10_000, opts.requestTimeoutMs),
      keepAliveTimeout: 5_000,
    },
    (req, res) => {
      requests++;
      onRequest?.();
      if (over.has(req.socket)) {
        metrics?.requestsRefused.inc({ reason: "connections" });
        const refusal = overloaded(`the gateway has ${maxConnections} connections open, its limit`);
        send(req, res, problemReply(refusal), true);
        return;
      }
      if (admits !== undefined && !admits(inProgress)) {
        metrics?.requestsRefused.inc({ reason: "memory" });
        const refusal = overloaded(refusalDetail?.() ?? "the gateway's memory is near its container's limit");
        send(req, res, problemReply(refusal), true);
        return;
      }
      inProgress++;
      ingress({
        method: req.method ?? "GET",
        target: req.url ?? "/",
        headers: nodeHeaders(req.headers, req.rawHeaders.length / 2, () => req.headersDistinct),
        bodyBytes: bodyBytesOf(req, opts.maxBodyBytes),
        body: () => readCapped(req, opts.maxBodyBytes),
        remoteAddress: req.socket.remoteAddress,
        // Before the answer is written, a destroyed response means the caller closed the connection.
        gone: () => res.destroyed,
      })
        .then(
          (reply) => {
            inProgress--;
            send(req, res, reply);
          },
          () => {
            inProgress--;
            res.destroy();
          },
        )
        .catch(() => res.destroy());
    },
  );
  if (Number.isFinite(maxConnections)) server.maxConnections = 2 * maxConnections;
  server.on("connection", (socket: Socket) => {
    open++;
    if (open > maxConnections) over.add(socket);
    metrics?.openConnections.set(open);
    socket.once("close", () => {
      open--;
      metrics?.openConnections.set(open);
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      const address = server.address();
      resolve({
        server,
        port: typeof address === "object" && address ? address.port : opts.port,
        requests: () => requests,
        inProgress: () => inProgress,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
};
