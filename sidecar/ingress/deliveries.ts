// GET /deliveries?vpn=NAME&subscription=NS/NAME on the admin port: a live stream of the
// deliveries this gateway makes for one subscription (`kubectl switchboard tail`). Successful
// deliveries are not logged (one line per event would cost the hot path), so the stream is the
// only place they can be followed. Authenticated as /explain is (auth.ts): the VPN's publisher
// token, or in sidecar placement loopback for the pod's namespace's VPN; a caller without the
// VPN's credential gets 403 whether or not the VPN exists. The answer is NDJSON: first
// `{"following": "NS/NAME"}` once the listener is registered, then one line per finished delivery
// (after its retries). Nothing is kept: a follower sees deliveries that finish while it follows.
// Bounded: at most MAX_FOLLOWERS streams per gateway, and a follower that does not read loses
// lines (counted in a `{"missed": n}` line) instead of growing the gateway's memory.
import type { ServerResponse } from "node:http";
import type { AdminRoutes } from "../../common/admin.ts";
import type { GatewayConfig } from "../config.ts";
import type { Final } from "../delivery/index.ts";
import { outcomeLabel, succeeded } from "../delivery/retry.ts";
import { unavailable } from "../problem.ts";
import type { RoutingTable } from "../routing/index.ts";
import type { CloudEvent, FunctionView, Route } from "../types.ts";
import { subscriptionCaller } from "./auth.ts";

/** Streams open at once on one gateway. */
const MAX_FOLLOWERS = 32;
/** Lines queued for one slow follower before further lines are dropped and counted. */
const MAX_QUEUED_LINES = 256;

/** One finished delivery as a follower sees it. */
export interface DeliveryRecord {
  readonly time: string;
  readonly subscription: string;
  readonly function: string;
  readonly id: string;
  readonly type: string;
  readonly source: string;
  /** The last attempt's status code, or `timeout`, `network`, `no-endpoints`, `overloaded`, `egress-denied`. */
  readonly outcome: string;
  readonly delivered: boolean;
  readonly attempts: number;
  readonly url?: string;
  /** The copy sent to the dead-letter function (it carries `deadletter*` extensions). */
  readonly deadLetter: boolean;
}

export interface DeliveryFeed {
  /** Called by the deliverer once per finished delivery; costs one comparison when nobody follows. */
  observe(route: Route, fn: FunctionView | undefined, event: CloudEvent, final: Final): void;
  /**
   * Registers `listener` for subscription `namespace/name` of `vpn`; `end` is called if the feed
   * closes first. Returns the removal, or why not: MAX_FOLLOWERS already follow, or it closed.
   */
  follow(
    vpn: string,
    subscription: string,
    listener: (record: DeliveryRecord) => void,
    end: () => void,
  ): (() => void) | "full" | "closed";
  /** Ends every stream, and refuses new ones (shutdown: an open stream would hold the admin server open). */
  close(): void;
}

interface Follower {
  readonly listener: (record: DeliveryRecord) => void;
  readonly end: () => void;
}

const followKey = (vpn: string, subscription: string): string => `${vpn}/${subscription}`;

/** What a follower is told about one finished delivery. */
const recordOf = (
  route: Route,
  fn: FunctionView | undefined,
  event: CloudEvent,
  final: Final,
): DeliveryRecord => {
  const a = event.attributes;
  const target = fn ?? route.subscription.function;
  return {
    time: new Date().toISOString(),
    subscription: `${route.namespace}/${route.name}`,
    function: `${target.namespace}/${target.name}`,
    id: String(a.id),
    type: String(a.type),
    source: String(a.source),
    outcome: outcomeLabel(final.outcome),
    delivered: succeeded(final.outcome),
    attempts: final.attempts,
    ...(final.endpoint === undefined ? {} : { url: final.endpoint.url }),
    deadLetter: a.deadletterroute !== undefined,
  };
};

/** The feed of one gateway. */
export const createDeliveryFeed = (): DeliveryFeed => {
  const followers = new Map<string, Set<Follower>>();
  let count = 0;
  let closed = false;
  return {
    observe: (route, fn, event, final) => {
      if (count === 0) return;
      const set = followers.get(followKey(route.vpn, `${route.namespace}/${route.name}`));
      if (set === undefined) return;
      const record = recordOf(route, fn, event, final);
      for (const follower of set) follower.listener(record);
    },
    follow: (vpn, subscription, listener, end) => {
      if (closed) return "closed";
      if (count >= MAX_FOLLOWERS) return "full";
      const key = followKey(vpn, subscription);
      const set = followers.get(key) ?? new Set<Follower>();
      followers.set(key, set);
      const follower = { listener, end };
      set.add(follower);
      count++;
      return () => {
        if (!set.delete(follower)) return;
        count--;
        if (set.size === 0 && followers.get(key) === set) followers.delete(key);
      };
    },
    close: () => {
      closed = true;
      const all = [...followers.values()].flatMap((set) => [...set]);
      followers.clear();
      count = 0;
      for (const follower of all) follower.end();
    },
  };
};

export interface DeliveriesDeps {
  table: () => RoutingTable | undefined;
  config: Pick<GatewayConfig, "namespace">;
  feed: DeliveryFeed;
}

/** The admin route GET /deliveries (errors are mapped by the admin routes' onError, explain.ts). */
export const deliveriesRoutes =
  ({ table, config, feed }: DeliveriesDeps) =>
  (app: AdminRoutes): void => {
    app.get("/deliveries", (c) => {
      const named = subscriptionCaller(
        {
          query: c.query,
          authorization: c.header("authorization"),
          remoteAddress: c.incoming.socket.remoteAddress,
        },
        table(),
        config.namespace,
        "GET /deliveries?vpn=NAME&subscription=NAMESPACE/NAME",
      );
      const { vpn } = named;
      const subscription = `${named.subscription.namespace}/${named.subscription.name}`;
      /** The response once its head is written; undefined before, and once the stream has ended. */
      let out: ServerResponse | undefined;
      let ended = false;
      /** Lines written and not yet handed to the socket. */
      let queued = 0;
      let missed = 0;
      const flushed = (): void => {
        queued--;
      };
      const send = (line: unknown): void => {
        if (!out) return;
        queued++;
        out.write(`${JSON.stringify(line)}\n`, flushed);
      };
      const end = (): void => {
        ended = true;
        if (typeof remove === "function") remove();
        const res = out;
        out = undefined;
        res?.off("close", end);
        if (res && !res.writableEnded && !res.destroyed) res.end();
      };
      const remove = feed.follow(
        vpn,
        subscription,
        (record) => {
          if (!out || queued >= MAX_QUEUED_LINES) {
            missed++;
            return;
          }
          if (missed > 0) send({ missed });
          missed = 0;
          send(record);
        },
        end,
      );
      if (remove === "full") throw unavailable(`at most ${MAX_FOLLOWERS} delivery streams per gateway`, 5);
      if (remove === "closed") throw unavailable("the gateway is shutting down", 1, { slug: "draining" });
      return {
        status: 200,
        headers: { "content-type": "application/x-ndjson", "cache-control": "no-store" },
        body: (res) => {
          out = res;
          res.once("close", end);
          // The follower may be gone, or the feed closed, before the head was written; a HEAD
          // request's response is ended with its head.
          if (ended || res.destroyed || res.writableEnded) return end();
          send({ following: subscription, vpn });
        },
      };
    });
  };
