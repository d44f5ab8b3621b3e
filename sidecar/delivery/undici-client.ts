// The delivery client on undici (--delivery-client=undici): a pool per VPN allow-list whose
// connector asks the egress policy for the address first, then connects to that very address
// (TLS keeps the URL's name for SNI and the certificate check). undici's `request` never follows
// redirects. Loaded only when chosen: the gateway does not import undici otherwise (./client.ts).
import { isIP } from "node:net";
import { Agent, buildConnector, type Dispatcher } from "undici";
import { normaliseHost } from "../../common/egress/rules.ts";
import {
  type Admit,
  type AttemptRequest,
  type AttemptResult,
  answered,
  failed,
  MAX_RESPONSE_BYTES,
  type PoolFactory,
  parsedTarget,
  readCapped,
} from "./client.ts";

/** An undici connector that connects only where `admit` says, to the address it chose. */
const admittedConnector = (admit: Admit, base: buildConnector.connector): buildConnector.connector => {
  return (opts, callback) => {
    const host = normaliseHost(opts.hostname);
    const port = Number(opts.port) || (opts.protocol === "https:" ? 443 : 80);
    admit(host, port).then(
      ({ address }) => {
        const servername = isIP(host) === 0 && opts.protocol === "https:" ? host : undefined;
        base({ ...opts, hostname: address, ...(servername ? { servername } : {}) }, callback);
      },
      (err: unknown) => callback(err instanceof Error ? err : new Error(String(err)), null),
    );
  };
};

const send = async (dispatcher: Dispatcher, url: string, req: AttemptRequest): Promise<AttemptResult> => {
  // One timer per attempt, cleared when it ends: AbortSignal.timeout keeps its timer (and the
  // signal) alive for the whole timeout even after the request finished, which at thousands of
  // requests per second held hundreds of thousands of timers and tens of MB of heap.
  const deadline = new AbortController();
  const signal = deadline.signal;
  const timer = setTimeout(() => deadline.abort(), req.timeoutMs);
  let draining = false;
  try {
    const { origin, pathname, search } = parsedTarget(url);
    const res = await dispatcher.request({
      origin,
      path: `${pathname}${search}`,
      method: req.method as Dispatcher.HttpMethod,
      headers: req.headers,
      body: req.body ?? null,
      signal,
    });
    if (!req.keepBody) {
      // An async attempt's outcome is the status; the body is drained within the same deadline,
      // so the connection goes back to the pool (or is closed at the deadline).
      draining = true;
      const drained = (): void => clearTimeout(timer);
      res.body.on("end", drained).on("close", drained).on("error", drained).resume();
      return answered(res.statusCode, res.headers, undefined);
    }
    const body = await readCapped(res.body, req.maxResponseBytes ?? MAX_RESPONSE_BYTES);
    return answered(res.statusCode, res.headers, body);
  } catch (err) {
    return failed(err, signal.aborted);
  } finally {
    if (!draining) clearTimeout(timer);
  }
};

/** Pools on undici Agents (256 connections per origin, idle connections kept 30 s). */
export const undiciPools: PoolFactory = (admit) => {
  const agent = new Agent({
    connections: 256,
    keepAliveTimeout: 30_000,
    connect: admittedConnector(admit, buildConnector({})),
  });
  return {
    send: (url, req) => send(agent, url, req),
    // Closing twice is a no-op, as with the node:http pools (undici's second close throws).
    close: () => (agent.closed ? Promise.resolve() : agent.close()),
    get closed() {
      return agent.closed;
    },
  };
};
