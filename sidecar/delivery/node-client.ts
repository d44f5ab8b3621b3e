// The delivery client on Node's own node:http and node:https (--delivery-client=node; ./client.ts
// says when it suits).
// A pool is a keep-alive Agent per scheme whose createConnection asks the egress policy for the
// address first and connects to that very address (TLS keeps the URL's name for SNI and the
// certificate check, as the Agent computed it). node:http never follows redirects.
import type { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { type NetConnectOpts, connect as netConnect } from "node:net";
import type { Duplex } from "node:stream";
import { type ConnectionOptions, connect as tlsConnect } from "node:tls";
import { Deadlines, deadlineEntry } from "../../common/deadlines.ts";
import { normaliseHost } from "../../common/egress/rules.ts";
import {
  type Admit,
  type AttemptRequest,
  type AttemptResult,
  answered,
  type DeliveryPool,
  failed,
  MAX_RESPONSE_BYTES,
  type PoolFactory,
  parsedTarget,
  readCapped,
} from "./client.ts";

// node:http not as an ES module: its namespace makes Node load its bundled undici (common/admin.ts).
const { Agent: NodeHttpAgent, request: httpRequest } = process.getBuiltinModule("node:http");

/** Connections per origin (as undici's pool), and how long an idle one is kept. */
const MAX_SOCKETS = 256;
const IDLE_MS = 30_000;

/** Makes every new connection of `agent` go where `admit` says, to the address it chose. */
const admitted = <A extends HttpAgent>(agent: A, admit: Admit, secure: boolean): A => {
  agent.createConnection = (options, oncreate) => {
    const host = normaliseHost(String(options.host ?? options.hostname ?? "localhost"));
    const port = Number(options.port) || (secure ? 443 : 80);
    admit(host, port).then(
      ({ address }) => {
        let socket: Duplex;
        try {
          // The Agent set options.servername from the URL's name (none for an address).
          socket = secure
            ? tlsConnect({ ...(options as ConnectionOptions), host: address, port })
            : netConnect({ ...(options as NetConnectOpts), host: address, port });
        } catch (err) {
          oncreate?.(err instanceof Error ? err : new Error(String(err)), undefined as unknown as Duplex);
          return;
        }
        oncreate?.(null, socket);
      },
      (err: unknown) =>
        oncreate?.(err instanceof Error ? err : new Error(String(err)), undefined as unknown as Duplex),
    );
    return undefined;
  };
  return agent;
};

/** The attempts' deadlines, on one shared timer (common/deadlines.ts), as the undici client's are. */
const deadlines = new Deadlines();

const send = (http: HttpAgent, https: HttpsAgent, url: string, req: AttemptRequest): Promise<AttemptResult> =>
  new Promise((resolve) => {
    let timedOut = false;
    let done = false;
    const finish = (result: AttemptResult): void => {
      if (done) return;
      done = true;
      resolve(result);
    };
    const target = parsedTarget(url);
    const secure = target.protocol === "https:";
    const body = req.body;
    let request: ReturnType<typeof httpRequest>;
    const deadline = deadlineEntry(() => {
      timedOut = true;
      const err = new Error(`no answer within ${req.timeoutMs} ms`);
      request?.destroy(err);
      // A request still waiting for its connection (the egress check, a connect) reports no
      // error until the connection comes: the attempt ends now, and the request is never sent.
      finish(failed(err, true));
    });
    deadlines.add(deadline, req.timeoutMs);
    try {
      request = (secure ? httpsRequest : httpRequest)({
        agent: secure ? https : http,
        protocol: target.protocol,
        hostname: target.hostname.startsWith("[") ? target.hostname.slice(1, -1) : target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method: req.method,
        headers: { ...req.headers, "content-length": String(body?.byteLength ?? 0) },
      });
    } catch (err) {
      // A header value Node refuses to send (e.g. a control character).
      deadlines.remove(deadline);
      finish(failed(err, false));
      return;
    }

    request.on("error", (err) => {
      deadlines.remove(deadline);
      finish(failed(err, timedOut));
    });
    request.on("response", (res) => {
      const status = res.statusCode ?? 0;
      // Cut short: the deadline, the cap, or the function closing the connection mid-body.
      res.on("close", () => {
        deadlines.remove(deadline);
        if (!res.complete) finish(failed(new Error("the response was cut short"), timedOut));
      });
      if (!req.keepBody) {
        // An async attempt's outcome is the status; the body is drained within the same
        // deadline, so the connection goes back to the pool (or is closed at the deadline).
        res.resume();
        finish(answered(status, res.headers, undefined));
        return;
      }
      readCapped(res, req.maxResponseBytes ?? MAX_RESPONSE_BYTES).then(
        (body) => finish(answered(status, res.headers, body)),
        (err: unknown) => finish(failed(err, timedOut)),
      );
    });
    request.end(body);
  });

/** Pools on keep-alive node:http and node:https Agents (256 connections per origin, idle ones kept 30 s). */
export const nodePools: PoolFactory = (admit) => {
  const options = { keepAlive: true, maxSockets: MAX_SOCKETS, timeout: IDLE_MS, scheduling: "lifo" as const };
  const http = admitted(new NodeHttpAgent(options), admit, false);
  const https = admitted(new HttpsAgent(options), admit, true);
  let inFlight = 0;
  let closed = false;
  let drained: (() => void) | undefined;
  const destroy = (): void => {
    http.destroy();
    https.destroy();
  };
  const pool: DeliveryPool = {
    send: async (url, req) => {
      inFlight++;
      try {
        return await send(http, https, url, req);
      } finally {
        inFlight--;
        if (closed && inFlight === 0) drained?.();
      }
    },
    close: () => {
      closed = true;
      if (inFlight === 0) {
        destroy();
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        drained = () => {
          destroy();
          resolve();
        };
      });
    },
    get closed() {
      return closed;
    },
  };
  return pool;
};
