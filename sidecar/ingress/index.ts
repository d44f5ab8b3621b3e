// The gateway's ingress: one handler for every request, independent of the HTTP server that
// feeds it (sidecar/ingress/server.ts). CloudEvents (a `ce-specversion` header or a CloudEvents
// content type) are published to the matching subscriptions of the caller's VPN; any other
// request is matched against the VPN's sync HTTP routes. Errors are thrown as ProblemErrors and
// turned into application/problem+json once, in the handler's one catch.
import type { Logger } from "../../common/log.ts";
import { parseCloudEvents } from "../cloudevents/index.ts";
import type { GatewayConfig } from "../config.ts";
import type { AsyncEngine, AsyncJob, OfferResult } from "../delivery/async-engine.ts";
import type { Deliverer } from "../delivery/index.ts";
import { syncResponse } from "../delivery/sync-response.ts";
import { type GatewayMetrics, observeDelivery } from "../metrics.ts";
import { notFound, overloaded, ProblemError, problemReply, unavailable } from "../problem.ts";
import type { RoutingTable } from "../routing/index.ts";
import type { CloudEvent, HeaderView, Reply, Route, VpnView } from "../types.ts";
import { authenticate } from "./auth.ts";
import type { BodyBudget, BodyReservation } from "./budget.ts";
import { httpRequestEvent } from "./http-event.ts";
import type { VpnLimiter } from "./vpn-limits.ts";

/** One request as the ingress sees it; the body is read only once the caller is authenticated. */
export interface IngressRequest {
  readonly method: string;
  /** The request target as sent: path and query. */
  readonly target: string;
  readonly headers: HeaderView;
  /** The most bytes the body can bring (its Content-Length, or the cap for a chunked body; 0 without one): what it reserves of the budget. */
  readonly bodyBytes: number;
  /** The whole body; rejects with a 413 ProblemError past the size cap, a 400 when the client goes away. */
  readonly body: () => Promise<Uint8Array>;
  /** The caller's address (the socket's). */
  readonly remoteAddress: string | undefined;
  /** Whether the caller went away before its answer; a sync delivery then stops waiting for a slot or a retry. */
  readonly gone?: () => boolean;
}

/** The ingress handler: never rejects; every failure is a problem details reply. */
export type Ingress = (req: IngressRequest) => Promise<Reply>;

export interface IngressDeps {
  table: () => RoutingTable | undefined;
  engine: AsyncEngine;
  deliverer: Deliverer;
  limiter: VpnLimiter;
  /** Request-body bytes in progress, reserved on the headers before a body is read. */
  budget: BodyBudget;
  metrics: GatewayMetrics;
  log: Logger;
  config: Pick<GatewayConfig, "namespace" | "maxEventBytes" | "maxBatch" | "clusterName" | "id">;
  draining: () => boolean;
}

const REFUSED = {
  full: "the gateway's delivery queue is full",
  "log-full": "the gateway's delivery log is at its size cap",
  "log-failed": "the gateway could not write its delivery log",
  "stream-full": "the VPN's JetStream event stream is at its size cap (--nats-max-bytes)",
  "stream-unavailable": "JetStream did not acknowledge the events in time",
} as const;

const JSON_HEADERS = { "content-type": "application/json" } as const;

/** A CloudEvent request: a CloudEvents content type, or any `ce-*` header (binary mode; parsing says what is missing). */
const isCloudEvents = (headers: HeaderView): boolean => {
  if (headers.has("ce-specversion")) return true;
  if ((headers.get("content-type") ?? "").toLowerCase().startsWith("application/cloudevents")) return true;
  for (const [name] of headers) if (name.startsWith("ce-")) return true;
  return false;
};

/** The events_received result of a refused request: by its status (502/504 are sync deliveries, counted there). */
const refusal = (err: unknown): "rate_limited" | "rejected" | "overloaded" | "unrouted" | undefined => {
  if (!(err instanceof ProblemError)) return undefined;
  if (err.status === 429) return "rate_limited";
  if (err.status === 503) return "overloaded";
  if (err.status === 404) return "unrouted";
  if (err.status >= 400 && err.status < 500) return "rejected";
  return undefined;
};

/** The ingress handler of one gateway. */
export const createIngress = (deps: IngressDeps): Ingress => {
  const { engine, deliverer, limiter, budget, metrics, log, config } = deps;
  const source = `/switchboard/gateways/${config.clusterName}/${config.id}`;
  metrics.inflightBodyBytes.from(() => budget.held());

  // The sync path chains promises where it can instead of awaiting them in async functions: each
  // async function on it cost a generator object holding all its registers, and a hop through
  // the microtask queue per await (together 4.3 KiB and about 3 µs of a request in bench/cost.ts's
  // profiles). Errors reach handle's catch all the same: it awaits what these return.
  const deliverSync = (
    table: RoutingTable,
    route: Route,
    event: CloudEvent,
    gone: (() => boolean) | undefined,
  ): Promise<Reply> => {
    const started = performance.now();
    const sub = route.subscription;
    return deliverer
      .deliver(
        route,
        table.fn(route.vpn, sub.function.namespace, sub.function.name),
        event,
        true,
        undefined,
        gone,
      )
      .then((final) => {
        observeDelivery(metrics, "sync", started);
        const outcome = final.outcome;
        metrics.deliveries.inc({
          mode: "sync",
          outcome:
            "error" in outcome ? (outcome.error === "abandoned" ? "abandoned" : "failed") : "delivered",
        });
        return syncResponse(route, final);
      });
  };

  /**
   * Publishes the request's events; sets `counted.events` once it knows how many a refusal
   * concerns. Throws (synchronously, or by rejecting) the ProblemError of a refusal.
   */
  const publish = (
    table: RoutingTable,
    vpn: VpnView,
    req: IngressRequest,
    body: Uint8Array,
    counted: { events: number },
  ): Reply | Promise<Reply> => {
    const maxEventBytes = Math.min(
      vpn.limits.maxEventBytes ?? Number.POSITIVE_INFINITY,
      config.maxEventBytes,
    );
    const events = parseCloudEvents(
      { method: req.method, headers: req.headers, body },
      { maxEventBytes, maxBatch: config.maxBatch },
    );
    counted.events = events.length;
    const refund = limiter.admit(vpn, events.length);
    const batched = (req.headers.get("content-type") ?? "")
      .toLowerCase()
      .startsWith("application/cloudevents-batch");
    const jobs: AsyncJob[] = [];
    // An event no subscription matches is accepted all the same (202, deliveries 0) and counted as
    // unrouted: publishers do not depend on who subscribes now; /explain says why it went nowhere.
    let unrouted = 0;
    for (const event of events) {
      const routes = table.match(vpn.name, event, "async");
      if (routes.length === 0) unrouted++;
      for (const route of routes) jobs.push({ route, event });
    }
    const [first] = events;
    // Subscriptions with an HTTP route receive raw requests on that route only, never published events.
    const syncRoute =
      !batched && first ? table.match(vpn.name, first, "sync").find((r) => !r.subscription.http) : undefined;
    if (syncRoute) unrouted = 0;
    const accepted = (offered: OfferResult): Reply | Promise<Reply> => {
      if (offered !== "accepted") {
        refund();
        throw unavailable(
          REFUSED[offered],
          offered === "log-failed" || offered === "stream-unavailable" ? 5 : 1,
          {
            slug: offered === "full" ? "queue-full" : offered,
          },
        );
      }
      if (events.length > unrouted)
        metrics.eventsReceived.inc({ vpn: vpn.name, result: "accepted" }, events.length - unrouted);
      if (unrouted > 0) metrics.eventsReceived.inc({ vpn: vpn.name, result: "unrouted" }, unrouted);
      // Accepted and counted: what a sync delivery answers (502/503/504) is the function's outcome.
      counted.events = 0;
      if (syncRoute && first) return deliverSync(table, syncRoute, first, req.gone);
      return {
        status: 202,
        headers: { ...JSON_HEADERS },
        body: `{"accepted":${events.length},"deliveries":${jobs.length}}`,
      };
    };
    return jobs.length > 0 ? engine.offer(jobs).then(accepted) : accepted("accepted");
  };

  const httpRoute = (
    table: RoutingTable,
    vpn: VpnView,
    req: IngressRequest,
    body: Uint8Array,
    counted: { events: number },
  ): Promise<Reply> => {
    const url = new URL(req.target, "http://gateway.invalid");
    const match = table.matchHttp(vpn.name, req.method, url.pathname);
    if (!match)
      throw notFound(`VPN ${vpn.name} has no HTTP route for ${req.method} ${url.pathname}`, {
        slug: "no-route",
      });
    const event = httpRequestEvent(
      {
        method: req.method,
        url,
        headers: req.headers,
        body,
        params: match.params,
        ...(match.wildcard === undefined ? {} : { wildcard: match.wildcard }),
      },
      source,
    );
    if (!table.accepts(match.route, event))
      throw notFound(`the HTTP route's filters do not accept ${req.method} ${url.pathname}`, {
        slug: "no-route",
      });
    limiter.admit(vpn, 1);
    metrics.eventsReceived.inc({ vpn: vpn.name, result: "accepted" });
    counted.events = 0;
    return deliverSync(table, match.route, event, req.gone);
  };

  /** Reserves the body's bytes for `vpn`, or throws 503 overloaded before anything reads it. */
  const reserve = (vpn: VpnView, bytes: number): BodyReservation => {
    const reserved = budget.reserve(vpn.name, bytes);
    if (typeof reserved === "string") {
      metrics.requestsRefused.inc({ reason: reserved });
      throw overloaded(
        reserved === "vpn_bytes"
          ? `VPN ${vpn.name}'s requests in progress hold its share of the gateway's request-body budget`
          : "the gateway's requests in progress hold its whole request-body budget",
      );
    }
    return reserved;
  };

  /**
   * The request's answer; throws (synchronously, or by rejecting) the ProblemError of a refusal.
   * A chain, not an async function, as on the sync path below it: its generator object alone was
   * the largest allocation of the gateway's own per request (1.3 KiB, bench/cost.ts --profiles).
   */
  const handle = (req: IngressRequest): Promise<Reply> => {
    if (deps.draining()) throw unavailable("the gateway is shutting down", 1, { slug: "draining" });
    const table = deps.table();
    if (!table)
      throw unavailable("the gateway has not loaded its routing table yet", 1, { slug: "not-ready" });
    let vpn: VpnView;
    try {
      vpn = authenticate(
        table,
        req.headers.get("authorization") ?? undefined,
        req.remoteAddress,
        config.namespace,
      );
    } catch (err) {
      metrics.eventsReceived.inc({ vpn: "", result: "rejected" });
      throw err;
    }
    const caller = vpn;
    // Every refused request is counted once, by what refused it, for as many events as it held
    // (one until the body is parsed). What the request holds is given back once, however it ends.
    const counted = { events: 1 };
    let release: (() => void) | undefined;
    let reservation: BodyReservation | undefined;
    const done = (): void => {
      reservation?.release();
      release?.();
    };
    const refused = (err: unknown): never => {
      done();
      const result = refusal(err);
      if (result !== undefined && counted.events > 0)
        metrics.eventsReceived.inc({ vpn: caller.name, result }, counted.events);
      throw err;
    };
    let body: Promise<Uint8Array>;
    try {
      release = limiter.enter(caller);
      reservation = reserve(caller, req.bodyBytes);
      body = req.body();
    } catch (err) {
      return refused(err);
    }
    const held = reservation;
    return body
      .then((bytes) => {
        held.settle(bytes.byteLength);
        return isCloudEvents(req.headers)
          ? publish(table, caller, req, bytes, counted)
          : httpRoute(table, caller, req, bytes, counted);
      })
      .then((reply) => {
        done();
        return reply;
      }, refused);
  };

  const failed = (err: unknown): Reply => {
    if (!(err instanceof ProblemError))
      log.error({ err: err instanceof Error ? err.stack : String(err) }, "request failed");
    return problemReply(err);
  };
  return (req) => {
    try {
      return handle(req).catch(failed);
    } catch (err) {
      return Promise.resolve(failed(err));
    }
  };
};
