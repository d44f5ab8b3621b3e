// gRPC calls to etcd over node:http2, for several endpoints: a unary call goes to the preferred
// endpoint and moves on to the next one when it cannot be reached (the next becomes preferred),
// within one deadline; a streaming call keeps one HTTP/2 stream open. TLS (https endpoints)
// verifies etcd against `ca` and presents the client certificate, which etcd's gRPC server
// authenticates by its CN (its HTTP gateway cannot: ../clients.int.test.ts).
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect,
  constants,
  type Http2Session,
  type IncomingHttpHeaders,
} from "node:http2";
import { errorMessage } from "../../../../common/errors.ts";
import { endpointOrigins, UNREACHABLE_CODES } from "../endpoints.ts";

export interface GrpcTransportOptions {
  /** etcd client URLs (http:// or https://), tried in order. */
  endpoints: readonly string[];
  /** PEM contents; used for https endpoints. */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
}

/** etcd refused a call: its gRPC status code and message. */
export class GrpcStatusError extends Error {
  override name = "GrpcStatusError";
  readonly code: number;

  constructor(endpoint: string, code: number, message: string) {
    super(`etcd ${endpoint} answered gRPC status ${code}: ${message}`);
    this.code = code;
  }
}

/** An answer over the size limit; the call was cancelled. */
export class MessageTooLargeError extends Error {
  override name = "MessageTooLargeError";
}

/** A 5-byte gRPC frame header (not compressed, big-endian length) and the message. */
export const frame = (message: Buffer): Buffer => {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
};

/**
 * Splits a byte stream into gRPC messages, however its chunks cut them. Chunks are kept as they
 * come and joined once, when the message they end is complete: joining the pending bytes on every
 * chunk copied a large message once per 16 KiB DATA frame, quadratic in its size (a page of 5000
 * subscriptions, about 2 MiB, was copied about 130 times: 3.1 s of a 100 000-subscription first
 * load spent in Buffer.concat, bench/resync.ts --cpu-prof).
 */
export class Deframer {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** The length of the message being received, from its header; -1 until the header is complete. */
  private length = -1;
  /** Bytes received so far. */
  received = 0;

  /** The messages complete after `chunk`. */
  push(chunk: Buffer): Buffer[] {
    this.received += chunk.length;
    if (chunk.length === 0) return [];
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: Buffer[] = [];
    for (;;) {
      if (this.length < 0) {
        if (this.buffered < 5) break;
        const head = (this.chunks[0] as Buffer).length >= 5 ? (this.chunks[0] as Buffer) : this.joined();
        if (head[0] !== 0) throw new Error("compressed gRPC message (never requested)");
        this.length = head.readUInt32BE(1);
      }
      if (this.buffered < 5 + this.length) break;
      const all = this.joined();
      out.push(all.subarray(5, 5 + this.length));
      const rest = all.subarray(5 + this.length);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
      this.length = -1;
    }
    return out;
  }

  /** The pending bytes as one Buffer (copied only when they are in several chunks). */
  private joined(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.buffered)];
    return this.chunks[0] as Buffer;
  }
}

/** Timed-out calls in a row after which a session is taken for dead and dropped. */
const SILENT_TIMEOUTS = 2;

/** Errors that say the endpoint could not be reached at all, so that another may be tried. */
const UNREACHABLE = new Set<string>([
  ...UNREACHABLE_CODES,
  "ETIMEDOUT",
  "ERR_HTTP2_GOAWAY_SESSION",
  "ERR_HTTP2_SESSION_ERROR",
]);

/** The connection ended before etcd finished the call (no trailers): another endpoint may answer. */
const connectionLost = (origin: string): Error =>
  Object.assign(new Error(`etcd ${origin} closed the connection before ending the call`), {
    code: "ERR_HTTP2_SESSION_ERROR",
  });

/** Whether `err` (or, for a stream the session's failure cancelled, its cause) says the endpoint could not be reached. */
const unreachable = (err: unknown): boolean =>
  err instanceof Error &&
  (("code" in err && typeof err.code === "string" && UNREACHABLE.has(err.code)) ||
    ("code" in err && err.code === "ERR_HTTP2_STREAM_CANCEL" && unreachable(err.cause)));

/** The status of a finished call from its trailers (or a trailers-only answer's headers). */
const statusOf = (origin: string, headers: IncomingHttpHeaders): GrpcStatusError | undefined => {
  const code = Number(headers["grpc-status"] ?? "0");
  if (code === 0) return undefined;
  const raw = String(headers["grpc-message"] ?? "");
  let message = raw;
  try {
    message = decodeURIComponent(raw);
  } catch {
    // Not percent-encoded after all: as it came.
  }
  return new GrpcStatusError(origin, code, message);
};

export interface StreamHandlers {
  /** One message of the answer, in order. */
  onMessage(message: Buffer): void;
  /** The call ended: `error` undefined when etcd closed it with status OK. At most once. */
  onEnd(error: Error | undefined): void;
}

export interface GrpcTransport {
  /** One request message, one answer message; throws GrpcStatusError, MessageTooLargeError (past `maxBytes`), the last endpoint's network error, or a TimeoutError after `timeoutMs`. */
  unary(path: string, request: Buffer, limits: { timeoutMs: number; maxBytes: number }): Promise<Buffer>;
  /** A streaming call on the preferred endpoint: `first` is sent, the stream stays open; returns a function that cancels it. */
  stream(path: string, first: Buffer, handlers: StreamHandlers): () => void;
  /** Closes every session (calls in flight end). */
  close(): Promise<void>;
}

/** A transport to `endpoints`; throws TypeError on a URL that is not http(s). */
export const createGrpcTransport = ({ endpoints, tls = {} }: GrpcTransportOptions): GrpcTransport => {
  const origins = endpointOrigins(endpoints);
  const sessions = new Map<string, ClientHttp2Session>();
  /** Calls timed out in a row on each session since its last answer. */
  const timeouts = new WeakMap<Http2Session, number>();
  let preferred = 0;
  let closed = false;

  const session = (origin: string): ClientHttp2Session => {
    const existing = sessions.get(origin);
    if (existing && !existing.closed && !existing.destroyed) return existing;
    const s = connect(origin, {
      ...(tls.ca ? { ca: tls.ca } : {}),
      ...(tls.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}),
    });
    // Errors reach the streams; a session that failed is replaced at the next call.
    const forget = (): void => {
      if (sessions.get(origin) === s) sessions.delete(origin);
    };
    s.on("error", forget);
    s.on("close", forget);
    s.on("goaway", forget);
    sessions.set(origin, s);
    return s;
  };

  const open = (origin: string, path: string, timeoutMs?: number): ClientHttp2Stream => {
    const s = session(origin);
    const stream = s.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
      ...(timeoutMs === undefined ? {} : { "grpc-timeout": `${Math.max(1, Math.ceil(timeoutMs))}m` }),
    });
    return stream;
  };

  /** One unary call to `origin`. */
  const call = (origin: string, path: string, request: Buffer, timeoutMs: number, maxBytes: number) =>
    new Promise<Buffer>((resolve, reject) => {
      const stream = open(origin, path, timeoutMs);
      const owner = stream.session;
      const deframer = new Deframer();
      let answer: Buffer | undefined;
      let settled = false;
      const finish = (err: Error | undefined): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) {
          if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
          reject(err);
        } else if (answer === undefined) reject(connectionLost(origin));
        else {
          if (owner) timeouts.delete(owner);
          resolve(answer);
        }
      };
      const timer = setTimeout(() => {
        finish(new DOMException(`etcd ${origin} did not answer within ${timeoutMs} ms`, "TimeoutError"));
        // A connection on which calls keep timing out may be dead without having closed (a network
        // partition drops packets and sends no FIN). After the second timeout in a row it is
        // dropped: the next call connects afresh, and a watch on it ends. One slow answer is not
        // enough, as for the watcher's liveness probe (registry/watcher/session.ts).
        // A session still connecting never reached the endpoint (a black-holed address): it is
        // dropped at once and the next call starts with the next endpoint.
        const s = owner;
        if (!s) return;
        const count = s.connecting ? SILENT_TIMEOUTS : (timeouts.get(s) ?? 0) + 1;
        timeouts.set(s, count);
        if (count < SILENT_TIMEOUTS) return;
        if (s.connecting) preferred = (origins.indexOf(origin) + 1) % origins.length;
        if (sessions.get(origin) === s) sessions.delete(origin);
        // After the caller has seen the timeout: a watcher counting its failed probes restarts
        // for that reason rather than for the watch the dropped connection ends.
        setImmediate(() => s.destroy());
      }, timeoutMs);
      stream.on("response", (headers) => {
        const status = headers[":status"];
        if (status !== 200) finish(new GrpcStatusError(origin, 14, `HTTP status ${String(status)}`));
        else {
          const err = statusOf(origin, headers);
          if (err) finish(err);
        }
      });
      stream.on("data", (chunk: Buffer) => {
        if (deframer.received + chunk.length > maxBytes + 5) {
          finish(new MessageTooLargeError(`etcd's answer is over ${maxBytes} bytes`));
          return;
        }
        try {
          for (const message of deframer.push(chunk)) answer = message;
        } catch (err) {
          finish(err instanceof Error ? err : new Error(errorMessage(err)));
        }
      });
      stream.on("trailers", (headers) => {
        const err = statusOf(origin, headers);
        if (err) finish(err);
      });
      stream.on("end", () => finish(undefined));
      stream.on("close", () => finish(undefined));
      stream.on("error", (err) => finish(err));
      stream.end(frame(request));
    });

  return {
    unary: async (path, request, { timeoutMs, maxBytes }) => {
      const deadline = Date.now() + timeoutMs;
      let lastError: unknown;
      const first = preferred;
      for (let i = 0; i < origins.length; i++) {
        const index = (first + i) % origins.length;
        const left = deadline - Date.now();
        if (left <= 0) break;
        try {
          return await call(origins[index] ?? "", path, request, left, maxBytes);
        } catch (err) {
          if (!unreachable(err)) throw err;
          lastError = err;
          preferred = (index + 1) % origins.length;
        }
      }
      throw lastError ?? new DOMException(`etcd did not answer within ${timeoutMs} ms`, "TimeoutError");
    },
    stream: (path, first, handlers) => {
      const origin = origins[preferred] ?? "";
      let ended = false;
      const end = (err: Error | undefined): void => {
        if (ended) return;
        ended = true;
        if (err && unreachable(err)) preferred = (origins.indexOf(origin) + 1) % origins.length;
        handlers.onEnd(err);
      };
      let stream: ClientHttp2Stream;
      try {
        stream = open(origin, path);
      } catch (err) {
        queueMicrotask(() => end(err instanceof Error ? err : new Error(errorMessage(err))));
        return () => {
          ended = true;
        };
      }
      const deframer = new Deframer();
      stream.on("response", (headers) => {
        const status = headers[":status"];
        if (status !== 200) end(new GrpcStatusError(origin, 14, `HTTP status ${String(status)}`));
        else {
          const err = statusOf(origin, headers);
          if (err) end(err);
        }
      });
      stream.on("data", (chunk: Buffer) => {
        if (ended) return;
        try {
          for (const message of deframer.push(chunk)) if (!ended) handlers.onMessage(message);
        } catch (err) {
          end(err instanceof Error ? err : new Error(errorMessage(err)));
          if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
        }
      });
      let trailers = false;
      stream.on("trailers", (headers) => {
        trailers = true;
        end(statusOf(origin, headers));
      });
      stream.on("error", (err) => end(err));
      // A call ends with trailers (its status); a stream closed without them lost its connection.
      stream.on("close", () =>
        end(trailers ? undefined : closed ? new Error("client closed") : connectionLost(origin)),
      );
      stream.write(frame(first));
      return () => {
        ended = true;
        if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
      };
    },
    close: async () => {
      closed = true;
      await Promise.all(
        [...sessions.values()].map(
          (s) =>
            new Promise<void>((resolve) => {
              if (s.closed || s.destroyed) return resolve();
              // Streams still open (watches) would hold close() back: end them after a second.
              const timer = setTimeout(() => s.destroy(), 1000);
              s.close(() => {
                clearTimeout(timer);
                resolve();
              });
              s.once("close", () => {
                clearTimeout(timer);
                resolve();
              });
            }),
        ),
      );
      sessions.clear();
    },
  };
};
