// The delivery client on undici (--delivery-client=undici): a pool per VPN allow-list whose
// connector asks the egress policy for the address first, then connects to that very address
// (TLS keeps the URL's name for SNI and the certificate check). A dispatch follows no redirects
// (undici follows them only through its redirect interceptor). Loaded only when chosen
// (sidecar/main.ts): with --delivery-client=node the gateway does not load undici.
//
// The two parts it uses are imported by path, not through undici's index, which loads every
// other part too (fetch, WebSocket, EventSource, the cache, the mocks). Measured in Node 24
// (compiled, after node:http): the index adds about 8 MiB of anonymous memory to a process, these
// two about 2 MiB. undici has no "exports" map, so its files can be imported by path, but they are
// not its documented API: sidecar/delivery/clients.int.test.ts runs this client against real
// servers, so a release that moves or changes them fails there. ./undici-parts.d.ts types them
// from undici's own types.
/// <reference path="./undici-parts.d.ts" />
import type { IncomingHttpHeaders } from "node:http";
import { isIP } from "node:net";
import type { buildConnector, Dispatcher } from "undici";
import connector from "undici/lib/core/connect.js";
import Agent from "undici/lib/dispatcher/agent.js";
import { CappedBody } from "../../common/capped-body.ts";
import { type DeadlineEntry, Deadlines } from "../../common/deadlines.ts";
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
  responseTooLarge,
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

/** The error an attempt's deadline aborts its dispatch with. */
class DeadlineError extends Error {
  override readonly name = "DeadlineError";
}

/** The deadlines of every attempt in flight, on one timer (common/deadlines.ts). */
const deadlines = new Deadlines();

/**
 * One attempt as an undici dispatch handler: it resolves with the attempt's result and collects
 * the response body itself, so no body stream, abort signal or async resource is built per
 * attempt (bench/cost.ts: undici's `request` spent them on every call). Its deadline, over
 * connect, headers and body, is kept on the shared timer; it aborts the dispatch, or, before the
 * dispatch has started, settles the attempt and aborts the dispatch when it starts. An async
 * attempt (no `keepBody`) settles on the status and drains the body within the same deadline, so
 * the connection goes back to the pool (or is closed at the deadline).
 */
class Attempt implements Dispatcher.DispatchHandler, DeadlineEntry {
  deadlineAt = 0;
  prevDeadline: DeadlineEntry | undefined = undefined;
  nextDeadline: DeadlineEntry | undefined = undefined;
  deadlineList: DeadlineEntry["deadlineList"] = undefined;
  private controller: Dispatcher.DispatchController | undefined;
  private settled = false;
  private timedOut = false;
  private status = 0;
  private headers: AttemptResult["headers"] = {};
  /** The response body a sync attempt keeps; none for an async one. */
  private readonly body: CappedBody | undefined;
  private readonly req: AttemptRequest;
  private readonly resolve: (result: AttemptResult) => void;

  constructor(req: AttemptRequest, resolve: (result: AttemptResult) => void) {
    this.req = req;
    this.resolve = resolve;
    this.body = req.keepBody ? new CappedBody(req.maxResponseBytes ?? MAX_RESPONSE_BYTES) : undefined;
    deadlines.add(this, req.timeoutMs);
  }

  expire(): void {
    this.timedOut = true;
    if (this.controller) this.controller.abort(new DeadlineError("the attempt's deadline passed"));
    else this.settle(failed(undefined, true));
  }

  private settle(result: AttemptResult): void {
    if (this.settled) return;
    this.settled = true;
    this.resolve(result);
  }

  /** The attempt is over: no deadline left to keep. */
  private done(): void {
    deadlines.remove(this);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.timedOut) controller.abort(new DeadlineError("the attempt's deadline passed"));
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
  ): void {
    // 1xx answers (other than an upgrade, never asked for) precede the response.
    if (statusCode < 200) return;
    this.status = statusCode;
    this.headers = headers;
    if (!this.req.keepBody) this.settle(answered(statusCode, this.headers, undefined));
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.body || this.settled) return;
    if (!this.body.add(chunk)) controller.abort(responseTooLarge(this.body.max));
  }

  onResponseEnd(): void {
    if (this.body) this.settle(answered(this.status, this.headers, this.body.joined()));
    this.done();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.settle(failed(err, this.timedOut));
    this.done();
  }
}

const send = (dispatcher: Dispatcher, url: string, req: AttemptRequest): Promise<AttemptResult> =>
  new Promise((resolve) => {
    const { origin, pathname, search } = parsedTarget(url);
    const attempt = new Attempt(req, resolve);
    try {
      dispatcher.dispatch(
        {
          origin,
          path: `${pathname}${search}`,
          method: req.method as Dispatcher.HttpMethod,
          headers: req.headers,
          body: req.body ?? null,
        },
        attempt,
      );
    } catch (err) {
      // Options undici refuses (e.g. a header value it will not send).
      attempt.onResponseError(undefined as never, err instanceof Error ? err : new Error(String(err)));
    }
  });

/** Pools on undici Agents (256 connections per origin, idle connections kept 30 s). */
export const undiciPools: PoolFactory = (admit) => {
  const agent = new Agent({
    connections: 256,
    keepAliveTimeout: 30_000,
    // Each attempt's deadline (the function's timeoutMs, `deadlines` above) covers the wait for
    // the answer's headers and body. undici's own timers for them (300 s by default) would only
    // fire after it, and cost a timer object per phase of every request, which outlives minor
    // collections in undici's timer list (bench/cost.ts, what outlives a minor collection).
    headersTimeout: 0,
    bodyTimeout: 0,
    connect: admittedConnector(admit, connector({})),
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
