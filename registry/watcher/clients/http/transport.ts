// POSTs of JSON to etcd's gRPC gateway over undici, for several endpoints: requests go to the
// preferred endpoint and move on to the next one when it cannot be reached (the next becomes the
// preferred), all within one deadline. TLS (https endpoints) verifies etcd against `ca` and
// presents the client certificate `cert`/`key`, as etcd's --client-cert-auth requires.
import { Agent, type Dispatcher, request } from "undici";
import { errorMessage } from "../../../../common/errors.ts";
import { endpointOrigins, UNREACHABLE_CODES } from "../endpoints.ts";
import { errorText } from "./decode.ts";

export interface TransportOptions {
  /** etcd client URLs (http:// or https://), tried in order. */
  endpoints: readonly string[];
  /** PEM contents; used for https endpoints. */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
}

/** etcd refused a request (its gRPC status code and message). */
export class EtcdRequestError extends Error {
  override name = "EtcdRequestError";
  readonly status: number;

  constructor(endpoint: string, status: number, message: string) {
    super(`etcd ${endpoint} answered ${status}: ${message}`);
    this.status = status;
  }
}

/** An answer over the size limit; the request was aborted. */
export class ResponseTooLargeError extends Error {
  override name = "ResponseTooLargeError";
}

export interface Transport {
  /** The parsed JSON body of a 200 answer; throws EtcdRequestError, ResponseTooLargeError, the last endpoint's network error, or a TimeoutError after `timeoutMs` (no retry beyond one try per endpoint). */
  call(path: string, body: unknown, limits: { timeoutMs: number; maxBytes: number }): Promise<unknown>;
  /** A streaming POST to the preferred endpoint (the next one becomes preferred if it fails); throws EtcdRequestError on a non-200 answer, or the network error. */
  open(path: string, body: unknown, signal: AbortSignal): Promise<Dispatcher.ResponseData>;
  /** Closes every connection. */
  close(): Promise<void>;
}

/** Errors that say the endpoint could not be reached at all, so that another may be tried. */
const UNREACHABLE = new Set<string>([...UNREACHABLE_CODES, "UND_ERR_CONNECT_TIMEOUT", "UND_ERR_SOCKET"]);

const unreachable = (err: unknown): boolean =>
  err instanceof Error && "code" in err && typeof err.code === "string" && UNREACHABLE.has(err.code);

/** The body as text; aborts and throws ResponseTooLargeError past `maxBytes`. */
const readText = async (body: Dispatcher.ResponseData["body"], maxBytes: number): Promise<string> => {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    if (size > maxBytes) {
      body.destroy();
      throw new ResponseTooLargeError(`etcd's answer is over ${maxBytes} bytes`);
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString();
};

/** Error answers are small; more is not worth reading. */
const ERROR_BYTES = 64 * 1024;

/** A transport to `endpoints`; throws TypeError on a URL that is not http(s). */
export const createTransport = ({ endpoints, tls = {} }: TransportOptions): Transport => {
  const origins = endpointOrigins(endpoints);
  const agent = new Agent({
    connect: {
      ...(tls.ca ? { ca: tls.ca } : {}),
      ...(tls.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}),
    },
  });
  let preferred = 0;

  const post = async (origin: string, path: string, body: unknown, signal: AbortSignal) => {
    const res = await request(`${origin}${path}`, {
      method: "POST",
      dispatcher: agent,
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal,
      // Deadlines come from `signal`; a watch may stay silent for minutes.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    if (res.statusCode !== 200) {
      const text = await readText(res.body, ERROR_BYTES).catch((err: unknown) => errorMessage(err));
      throw new EtcdRequestError(origin, res.statusCode, errorText(text));
    }
    return res;
  };

  /** Runs `attempt` against each endpoint from the preferred one while they are unreachable. */
  const failingOver = async <T>(attempt: (origin: string) => Promise<T>): Promise<T> => {
    let lastError: unknown;
    const first = preferred;
    for (let i = 0; i < origins.length; i++) {
      const index = (first + i) % origins.length;
      try {
        return await attempt(origins[index] ?? "");
      } catch (err) {
        if (!unreachable(err)) throw err;
        lastError = err;
        preferred = (index + 1) % origins.length;
      }
    }
    throw lastError;
  };

  return {
    call: (path, body, { timeoutMs, maxBytes }) => {
      const signal = AbortSignal.timeout(timeoutMs);
      return failingOver(async (origin) => {
        const res = await post(origin, path, body, signal);
        return JSON.parse(await readText(res.body, maxBytes));
      });
    },
    open: (path, body, signal) => failingOver((origin) => post(origin, path, body, signal)),
    close: () => agent.close(),
  };
};
