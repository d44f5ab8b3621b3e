// Async delivery on NATS JetStream (--durability jetstream; docs/durability.md). An accepted event
// is published to its VPN's event stream, one subject per subscription, and answered 202 only
// once JetStream acknowledged it with the stream's replication. Every gateway consumes every
// async subscription from one durable consumer per subscription, so any gateway delivers what any
// other accepted, and a gateway that dies leaves nothing behind: what it held unacknowledged is
// delivered again after the consumer's ack wait.
//
// One JetStream delivery is one attempt. A retryable failure is negatively acknowledged with the
// subscription's backoff as the redelivery delay; the attempt number is JetStream's delivery
// count, so retries survive the gateway that made the earlier attempts. When retries run out the
// event is kept in the VPN's dead-letter stream with its context (and delivered to the
// dead-letter function if one is set), from where it can be listed and redriven.
//
// Layout per VPN v (names: docs/durability.md):
//   stream SB_EVENTS_<v>   subjects sb.ev.<v>.<namespace>.<name>  work queue, discard new at --nats-max-bytes
//   stream SB_DEAD_<v>     subjects sb.dl.<v>.<namespace>.<name>  limits, kept --dead-letter-max-age (no byte cap)
//   stream SB_FAILURES_<v> subjects sb.ff.<v>.<event's sequence>  when an event being retried first
//                          failed, one message per subject, removed when the event is final
//                          (so a dead letter tells its first failure whichever gateway made it)
//   consumer <namespace>_<name> on SB_EVENTS_<v>, explicit ack, one per subscription
// A "." of a VPN or subscription name becomes "_" (neither may contain "_"), so names stay unique.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
import {
  connect,
  credsAuthenticator,
  headers,
  type MsgHdrs,
  type NatsConnection,
  nanos,
} from "@nats-io/transport-node";
import { pause } from "../../common/backoff.ts";
import { errorMessage } from "../../common/errors.ts";
import type { Logger } from "../../common/log.ts";
import type { NatsConfig } from "../config.ts";
import { type GatewayMetrics, observeDelivery } from "../metrics.ts";
import type { CloudEvent, FunctionView, Route } from "../types.ts";
import {
  type AsyncEngine,
  type AsyncJob,
  countDeadLetterDelivery,
  deadLetterEvent,
  heldBytes,
  type OfferResult,
  routeId,
} from "./async-engine.ts";
import type { Deliverer, Final } from "./index.ts";
import { createDeliveryLog } from "./log.ts";
import { outcomeLabel, retryable, retryDelayMs, succeeded } from "./retry.ts";

const token = (name: string): string => name.replaceAll(".", "_");
/** The stream of a VPN's accepted events. */
export const eventStream = (vpn: string): string => `SB_EVENTS_${token(vpn)}`;
/** The stream of a VPN's dead letters. */
export const deadLetterStream = (vpn: string): string => `SB_DEAD_${token(vpn)}`;
/** The stream of when a VPN's events being retried first failed (one message per event). */
export const failuresStream = (vpn: string): string => `SB_FAILURES_${token(vpn)}`;
const failureSubject = (vpn: string, seq: number): string => `sb.ff.${token(vpn)}.${seq}`;
const eventSubject = (vpn: string, namespace: string, name: string): string =>
  `sb.ev.${token(vpn)}.${namespace}.${token(name)}`;
const deadLetterSubject = (vpn: string, namespace: string, name: string): string =>
  `sb.dl.${token(vpn)}.${namespace}.${token(name)}`;
/** The durable consumer of a subscription on its VPN's event stream. */
export const consumerName = (namespace: string, name: string): string => `${namespace}_${token(name)}`;

/** How an event is stored in a stream: [has data u8][attributes length u32 BE][attributes JSON][data]. */
export const encodeStoredEvent = (event: CloudEvent): Buffer => {
  const attrs = Buffer.from(JSON.stringify(event.attributes));
  const data = event.data;
  const out = Buffer.allocUnsafe(5 + attrs.length + (data?.length ?? 0));
  out.writeUInt8(data === undefined ? 0 : 1, 0);
  out.writeUInt32BE(attrs.length, 1);
  attrs.copy(out, 5);
  data?.copy(out, 5 + attrs.length);
  return out;
};

/** The event of a stored message; throws on bytes that are not one. */
export const decodeStoredEvent = (bytes: Uint8Array): CloudEvent => {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 5) throw new RangeError("a stored event is at least 5 bytes");
  const n = buf.readUInt32BE(1);
  if (5 + n > buf.length) throw new RangeError("a stored event's attributes run past its end");
  const attributes = JSON.parse(buf.toString("utf8", 5, 5 + n)) as CloudEvent["attributes"];
  if (typeof attributes?.id !== "string") throw new RangeError("a stored event has no id");
  return { attributes, data: buf.readUInt8(0) === 1 ? Buffer.from(buf.subarray(5 + n)) : undefined };
};

/**
 * The stream's deduplication id of an accepted event: a publisher that sends the same event
 * (source and id) again within the stream's duplicate window, or a gateway that publishes again
 * after an unanswered publish, stores it once per subscription.
 */
const publishId = (job: AsyncJob): string =>
  createHash("sha256")
    .update(
      `${routeId(job.route)}\n${String(job.event.attributes.source)}\n${String(job.event.attributes.id)}`,
    )
    .digest("base64url");

/** A dead letter as listed: the event's identity and why its retries ran out. */
export interface DeadLetter {
  /** Its sequence in the VPN's dead-letter stream. */
  seq: number;
  id: string;
  source: string;
  type: string;
  subscription: string;
  function: string;
  /** The last attempt's outcome: an HTTP status or an error (timeout, connect, no-endpoints, …). */
  status: string;
  attempts: number;
  acceptedAt: string;
  /** When its first attempt failed; absent only when that could not be recorded (NATS not answering then). */
  firstFailureAt?: string;
  lastFailureAt: string;
}

/** Which dead letters a redrive takes: all of the subscription's, by event id, or by when they last failed. */
export interface RedriveSelection {
  ids?: readonly string[];
  /** Inclusive bounds on lastFailureAt. */
  from?: Date;
  to?: Date;
}

export interface JetStreamEngine extends AsyncEngine {
  /** Consumes exactly these async routes (called with each routing table). */
  follow(routes: readonly Route[]): void;
  /** Why the backend cannot accept events now (NATS unreachable); undefined when it can. */
  notReady(): string | undefined;
  deadLetters(
    vpn: string,
    subscription: { namespace: string; name: string },
    limit: number,
  ): Promise<DeadLetter[]>;
  /** Publishes the selected dead letters to the subscription again (same event id) and removes them; resolves with how many. */
  redrive(
    vpn: string,
    subscription: { namespace: string; name: string },
    select: RedriveSelection,
  ): Promise<number>;
}

/** An open connection to the NATS cluster and its JetStream APIs. */
export interface JetStreamBackend {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly config: NatsConfig;
}

export interface JetStreamEngineOptions {
  backend: JetStreamBackend;
  deliverer: Deliverer;
  resolveFn: (vpn: string, namespace: string, name: string) => FunctionView | undefined;
  metrics: GatewayMetrics;
  log: Logger;
  /** Told of each finished delivery (the admin delivery stream). */
  onFinished?: (route: Route, fn: FunctionView | undefined, event: CloudEvent, final: Final) => void;
  /** Deliveries of one subscription this gateway runs at once (the function's concurrency still bounds attempts). */
  perSubscription?: number;
}

/** Opens the connection to the NATS cluster with the gateway's credentials (it reconnects forever). */
export const openJetStream = async (
  config: NatsConfig,
  name: string,
  { patienceMs = 45_000, log }: { patienceMs?: number; log?: Logger } = {},
): Promise<JetStreamBackend> => {
  // NATS may start with the gateways (a release installed at once): wait for it a while, but not
  // for credentials it refuses. Below a pod's startup probe (60 s), so a NATS that never comes
  // shows as a restarting gateway.
  const deadline = Date.now() + patienceMs;
  for (;;) {
    try {
      return await openOnce(config, name);
    } catch (err) {
      if (/authori[sz]ation|authentication/i.test(errorMessage(err)) || Date.now() > deadline) throw err;
      log?.warn({ nats: config.urls, err: errorMessage(err) }, "waiting for the NATS servers");
      await pause(1000);
    }
  }
};

const openOnce = async (config: NatsConfig, name: string): Promise<JetStreamBackend> => {
  const nc = await connect({
    servers: [...config.urls],
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    // Without it the client captures a stack trace (an Error) for every request, JetStream
    // publishes included: 5 % of the gateway's CPU at full async load (bench/durable.ts profile).
    noAsyncTraces: true,
    ...(config.credsFile === undefined
      ? {}
      : { authenticator: credsAuthenticator(readFileSync(config.credsFile)) }),
    ...(config.user === undefined
      ? {}
      : { user: config.user.name, pass: readFileSync(config.user.passwordFile, "utf8").trim() }),
    ...(config.tls.ca || config.tls.cert || config.urls.some((u) => u.startsWith("tls:"))
      ? {
          tls: {
            ...(config.tls.ca ? { caFile: config.tls.ca } : {}),
            ...(config.tls.cert ? { certFile: config.tls.cert } : {}),
            ...(config.tls.key ? { keyFile: config.tls.key } : {}),
          },
        }
      : {}),
  });
  return {
    nc,
    js: jetstream(nc, { timeout: PUBLISH_TIMEOUT_MS }),
    jsm: await jetstreamManager(nc, { timeout: PUBLISH_TIMEOUT_MS }),
    config,
  };
};

/** JetStream's API error code of a store failure ("maximum bytes exceeded", "maximum messages exceeded"). */
const STORE_FAILED = 10077;
/** JetStream's API error code of a stream added again with another configuration. */
const STREAM_NAME_IN_USE = 10058;
const PUBLISH_TIMEOUT_MS = 5000;
/** How long an unanswered publish is repeated (same id: stored once) before the publisher gets 503. */
const PUBLISH_PATIENCE_MS = 10_000;
const BACKLOG_POLL_MS = 5000;

const apiCode = (err: unknown): number | undefined =>
  typeof err === "object" && err !== null && "code" in err && typeof err.code === "number"
    ? err.code
    : undefined;

const isStoreFull = (err: unknown): boolean =>
  apiCode(err) === STORE_FAILED || /maximum (bytes|messages) exceeded/.test(errorMessage(err));

/** Creates the JetStream engine over an open connection; consumers start with the first `follow`. */
export const createJetStreamEngine = ({
  backend: { nc, js, jsm, config },
  deliverer,
  resolveFn,
  metrics,
  log,
  onFinished,
  perSubscription = 64,
}: JetStreamEngineOptions): JetStreamEngine => {
  const { ackWaitMs } = config;
  const dlog = createDeliveryLog(log);
  const stop = new AbortController();
  let accepting = true;
  let connected = true;
  let inflight = 0;
  let inflightBytes = 0;
  const tasks = new Set<Promise<void>>();
  const gauge = (): void => {
    metrics.queueEvents.set(inflight);
    metrics.queueBytes.set(inflightBytes);
  };

  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect") connected = false;
      else if (s.type === "reconnect") connected = true;
    }
  })();

  const streams = new Map<string, Promise<void>>();
  const upsert = async (cfg: Partial<StreamConfig> & { name: string }): Promise<void> => {
    try {
      await jsm.streams.add(cfg);
    } catch (err) {
      if (apiCode(err) !== STREAM_NAME_IN_USE) throw err;
      await jsm.streams.update(cfg.name, cfg);
    }
  };
  /** Creates (or brings to the configured limits) the VPN's two streams, once per process. */
  const ensureStreams = (vpn: string): Promise<void> => {
    let ready = streams.get(vpn);
    if (!ready) {
      const t = token(vpn);
      ready = Promise.all([
        upsert({
          name: eventStream(vpn),
          subjects: [`sb.ev.${t}.>`],
          retention: RetentionPolicy.Workqueue,
          storage: StorageType.File,
          num_replicas: config.replicas,
          max_bytes: config.maxBytes,
          discard: DiscardPolicy.New,
          duplicate_window: nanos(120_000),
        }),
        upsert({
          name: deadLetterStream(vpn),
          subjects: [`sb.dl.${t}.>`],
          retention: RetentionPolicy.Limits,
          storage: StorageType.File,
          num_replicas: config.replicas,
          // Bounded by age, not bytes: a byte cap is reserved on the servers for every VPN.
          max_age: nanos(config.deadLetterMaxAgeMs),
          discard: DiscardPolicy.Old,
          duplicate_window: nanos(120_000),
        }),
        upsert({
          name: failuresStream(vpn),
          subjects: [`sb.ff.${t}.>`],
          retention: RetentionPolicy.Limits,
          storage: StorageType.File,
          num_replicas: config.replicas,
          max_msgs_per_subject: 1,
          // What a gateway that stopped left behind goes with age.
          max_age: nanos(config.deadLetterMaxAgeMs),
          discard: DiscardPolicy.Old,
          duplicate_window: nanos(120_000),
        }),
      ]).then(() => undefined);
      streams.set(vpn, ready);
      ready.catch(() => streams.delete(vpn));
    }
    return ready;
  };

  // The publishes and acknowledgements of one turn of the event loop are sent together, so the
  // client writes them to the socket at once (it flushes once per microtask checkpoint): one write
  // for many requests' events instead of one each. Measured with bench/durable.ts's closed loop on
  // one server: 1586 → 2974 accepted events/s for the publishes alone.
  let turn: (() => void)[] | undefined;
  const inTurn = (send: () => void): void => {
    if (!turn) {
      const sends: (() => void)[] = [];
      turn = sends;
      setImmediate(() => {
        turn = undefined;
        for (const s of sends) s();
      });
    }
    turn.push(send);
  };
  const nextTurn = (): Promise<void> => new Promise((resolve) => inTurn(resolve));

  /** Publishes until acknowledged or out of patience; the same `msgID` is stored once. */
  const publish = async (
    subject: string,
    payload: Uint8Array,
    opts: { msgID: string; streamName: string; headers?: MsgHdrs },
  ): Promise<void> => {
    const deadline = Date.now() + PUBLISH_PATIENCE_MS;
    await nextTurn();
    for (;;) {
      try {
        await js.publish(subject, payload, {
          msgID: opts.msgID,
          expect: { streamName: opts.streamName },
          timeout: PUBLISH_TIMEOUT_MS,
          ...(opts.headers ? { headers: opts.headers } : {}),
        });
        return;
      } catch (err) {
        // A full stream answers at once and does not change by asking again.
        if (isStoreFull(err) || Date.now() > deadline || stop.signal.aborted) throw err;
        await pause(200);
      }
    }
  };

  const backlog = async (vpn: string): Promise<void> => {
    try {
      const info = await jsm.streams.info(deadLetterStream(vpn));
      metrics.deadLetterBacklog.set({ vpn }, info.state.messages);
    } catch (err) {
      log.debug({ vpn, err: errorMessage(err) }, "could not read the dead-letter backlog");
    }
  };

  /** Keeps the event with its context in the dead-letter stream, then gives it to the dead-letter function if any. */
  const deadLetter = async (route: Route, event: CloudEvent, m: JsMsg, last: Final): Promise<void> => {
    const sub = route.subscription;
    const key = `${m.info.stream}/${m.info.streamSequence}`;
    const status = outcomeLabel(last.outcome);
    const h = headers();
    h.set("Sb-Subscription", `${route.namespace}/${route.name}`);
    h.set("Sb-Function", `${sub.function.namespace}/${sub.function.name}`);
    h.set("Sb-Status", status);
    h.set("Sb-Attempts", String(last.attempts));
    h.set("Sb-Accepted-At", new Date(Number(m.info.timestampNanos) / 1e6).toISOString());
    const now = new Date().toISOString();
    const first = last.attempts === 1 ? now : await firstFailureOf(route.vpn, m.info.streamSequence);
    if (first) h.set("Sb-First-Failure-At", first);
    h.set("Sb-Last-Failure-At", now);
    await publish(deadLetterSubject(route.vpn, route.namespace, route.name), m.data, {
      msgID: `dl-${key}`,
      streamName: deadLetterStream(route.vpn),
      headers: h,
    });
    const dl = sub.delivery.deadLetter;
    if (dl) {
      const dlFinal = await deliverer.deliver(
        route,
        resolveFn(route.vpn, dl.namespace, dl.name),
        deadLetterEvent(route, event, status, last.attempts),
        false,
        stop.signal,
      );
      countDeadLetterDelivery(metrics, dlog, route, event, last, dlFinal);
    } else {
      metrics.deliveries.inc({ mode: "async", outcome: "dead_lettered" });
      metrics.deadLetters.inc({ outcome: "kept" });
      dlog.undelivered(route, event, last);
    }
    void backlog(route.vpn);
  };

  /** Records when an event's first attempt failed; a failure to record is logged, not fatal. */
  const recordFirstFailure = async (vpn: string, seq: number): Promise<void> => {
    try {
      await js.publish(failureSubject(vpn, seq), new TextEncoder().encode(new Date().toISOString()), {
        msgID: `ff-${eventStream(vpn)}-${seq}`,
        expect: { streamName: failuresStream(vpn) },
        timeout: PUBLISH_TIMEOUT_MS,
      });
    } catch (err) {
      log.debug({ vpn, seq, err: errorMessage(err) }, "could not record a first failure");
    }
  };
  /** When the event at `seq` first failed, if recorded. */
  const firstFailureOf = async (vpn: string, seq: number): Promise<string | undefined> => {
    try {
      const m = await jsm.streams.getMessage(failuresStream(vpn), { last_by_subj: failureSubject(vpn, seq) });
      return m ? new TextDecoder().decode(m.data) : undefined;
    } catch {
      return undefined;
    }
  };
  /** Forgets the first failure of an event that is final. */
  const forgetFailure = (vpn: string, seq: number): void => {
    void jsm.streams.purge(failuresStream(vpn), { filter: failureSubject(vpn, seq) }).catch(() => undefined);
  };

  /** One JetStream delivery of a subscription's event: one attempt, then ack, nak with the backoff, or dead letter. */
  const handle = async (route: Route, m: JsMsg): Promise<void> => {
    let event: CloudEvent;
    try {
      event = decodeStoredEvent(m.data);
    } catch (err) {
      log.error(
        { stream: m.info.stream, seq: m.info.streamSequence, err: errorMessage(err) },
        "a stored event cannot be read; removed",
      );
      m.term("unreadable");
      return;
    }
    const size = heldBytes(event);
    inflight++;
    inflightBytes += size;
    gauge();
    const started = performance.now();
    // Tells JetStream the delivery is still being worked on while an attempt, or the dead-letter
    // function's retries, take longer than the ack wait: no other gateway takes it meanwhile.
    const beat = setInterval(() => m.working(), Math.max(1000, Math.floor(ackWaitMs / 3)));
    try {
      const sub = route.subscription;
      const d = sub.delivery;
      const n = m.info.deliveryCount;
      const fn = resolveFn(route.vpn, sub.function.namespace, sub.function.name);
      const result = await deliverer.attempt(fn, event, d.timeoutMs, false);
      const final: Final = { ...result, attempts: n };
      if (succeeded(result.outcome)) {
        inTurn(() => m.ack());
        if (n > 1) forgetFailure(route.vpn, m.info.streamSequence);
        metrics.deliveries.inc({ mode: "async", outcome: "delivered" });
        onFinished?.(route, fn, event, final);
        return;
      }
      if (retryable(result.outcome) && n <= d.retry) {
        // A stopping gateway hands the retry to the others at once.
        if (stop.signal.aborted) {
          m.nak();
          return;
        }
        if (n === 1) await recordFirstFailure(route.vpn, m.info.streamSequence);
        const retryAfter = "status" in result.outcome ? result.outcome.retryAfterMs : undefined;
        const delay = retryDelayMs(
          n,
          { policy: d.backoffPolicy, baseMs: d.backoffDelayMs, maxMs: d.maxBackoffMs },
          retryAfter,
        );
        dlog.retry(route, fn, event, final, delay);
        inTurn(() => m.nak(delay));
        return;
      }
      try {
        await deadLetter(route, event, m, final);
        m.ack();
        if (n > 1) forgetFailure(route.vpn, m.info.streamSequence);
        onFinished?.(route, fn, event, final);
      } catch (err) {
        log.warn(
          { route: routeId(route), err: errorMessage(err) },
          "could not keep a dead letter; retried later",
        );
        m.nak(1000);
      }
    } finally {
      clearInterval(beat);
      observeDelivery(metrics, "async", started);
      inflight--;
      inflightBytes -= size;
      gauge();
    }
  };

  interface Following {
    route: Route;
    stop: AbortController;
  }
  const following = new Map<string, Following>();

  /** Consumes one subscription until stopped: its durable consumer, at most `perSubscription` deliveries at once. */
  const consume = async (id: string, f: Following): Promise<void> => {
    const { vpn, namespace, name } = f.route;
    const signal = f.stop.signal;
    while (!signal.aborted) {
      try {
        await ensureStreams(vpn);
        const stream = eventStream(vpn);
        const durable = consumerName(namespace, name);
        const consumerConfig = {
          durable_name: durable,
          filter_subject: eventSubject(vpn, namespace, name),
          ack_policy: AckPolicy.Explicit,
          ack_wait: nanos(ackWaitMs),
          max_deliver: -1,
          deliver_policy: DeliverPolicy.All,
        };
        try {
          await jsm.consumers.add(stream, consumerConfig);
        } catch (err) {
          // Another gateway's consumer of an earlier configuration: bring it to this one.
          await jsm.consumers.update(stream, durable, { ack_wait: consumerConfig.ack_wait }).catch(() => {
            throw err;
          });
        }
        const consumer = await js.consumers.get(stream, durable);
        const messages = await consumer.consume({ max_messages: perSubscription });
        const onAbort = (): void => void messages.stop();
        signal.addEventListener("abort", onAbort, { once: true });
        let running = 0;
        let freed: (() => void) | undefined;
        try {
          for await (const m of messages) {
            while (running >= perSubscription) await new Promise<void>((r) => (freed = r));
            running++;
            const task = handle(f.route, m)
              .catch((err: unknown) => log.error({ route: id, err: errorMessage(err) }, "a delivery failed"))
              .finally(() => {
                running--;
                tasks.delete(task);
                freed?.();
                freed = undefined;
              });
            tasks.add(task);
          }
        } finally {
          signal.removeEventListener("abort", onAbort);
        }
      } catch (err) {
        if (signal.aborted) return;
        log.warn(
          { route: id, err: errorMessage(err) },
          "cannot consume a subscription's events; trying again",
        );
        await pause(1000, signal);
      }
    }
  };

  const backlogs = setInterval(() => {
    for (const vpn of new Set([...following.values()].map((f) => f.route.vpn))) void backlog(vpn);
  }, BACKLOG_POLL_MS);
  backlogs.unref();

  /** The dead letters of a subscription in stream order. */
  const scan = async function* (
    vpn: string,
    sub: { namespace: string; name: string },
  ): AsyncGenerator<{ seq: number; letter: DeadLetter; data: Uint8Array }> {
    const stream = deadLetterStream(vpn);
    const subject = deadLetterSubject(vpn, sub.namespace, sub.name);
    let seq = 1;
    for (;;) {
      // The client's MsgRequest type omits next_by_subj; the server's STREAM.MSG.GET takes it
      // (nats-server JSApiMsgGetRequest.NextFor) and the client sends the query as given
      // (@nats-io/jetstream 3.4 jsmstream_api.js, getMessage).
      const query = { seq, next_by_subj: subject } as unknown as { seq: number };
      const m = await jsm.streams.getMessage(stream, query).catch((err: unknown) => {
        if (apiCode(err) === 10037 || apiCode(err) === 10059) return null;
        throw err;
      });
      if (!m) return;
      seq = m.seq + 1;
      let event: CloudEvent;
      try {
        event = decodeStoredEvent(m.data);
      } catch {
        continue;
      }
      const h = m.header;
      const first = h.get("Sb-First-Failure-At");
      yield {
        seq: m.seq,
        data: m.data,
        letter: {
          seq: m.seq,
          id: String(event.attributes.id),
          source: String(event.attributes.source),
          type: String(event.attributes.type),
          subscription: h.get("Sb-Subscription"),
          function: h.get("Sb-Function"),
          status: h.get("Sb-Status"),
          attempts: Number(h.get("Sb-Attempts")),
          acceptedAt: h.get("Sb-Accepted-At"),
          ...(first ? { firstFailureAt: first } : {}),
          lastFailureAt: h.get("Sb-Last-Failure-At"),
        },
      };
    }
  };

  return {
    offer: async (jobs): Promise<OfferResult> => {
      if (!accepting) return "full";
      try {
        await Promise.all(
          jobs.map(async (job) => {
            const { vpn, namespace, name } = job.route;
            await ensureStreams(vpn);
            await publish(eventSubject(vpn, namespace, name), encodeStoredEvent(job.event), {
              msgID: publishId(job),
              streamName: eventStream(vpn),
            });
          }),
        );
        return "accepted";
      } catch (err) {
        if (isStoreFull(err)) return "stream-full";
        log.warn({ err: errorMessage(err) }, "JetStream did not acknowledge accepted events");
        return "stream-unavailable";
      }
    },
    restore: () => ({ resumed: 0, dropped: 0 }),
    held: () => ({ events: inflight, bytes: inflightBytes }),
    follow: (routes) => {
      const wanted = new Map(routes.map((r) => [routeId(r), r]));
      for (const [id, f] of following)
        if (!wanted.has(id)) {
          f.stop.abort();
          following.delete(id);
        }
      if (!accepting) return;
      for (const [id, route] of wanted) {
        const f = following.get(id);
        if (f) {
          f.route = route;
          continue;
        }
        const started: Following = { route, stop: new AbortController() };
        following.set(id, started);
        void consume(id, started);
      }
    },
    notReady: () => (connected ? undefined : "the NATS servers (--nats) are unreachable"),
    deadLetters: async (vpn, sub, limit) => {
      const out: DeadLetter[] = [];
      for await (const { letter } of scan(vpn, sub)) {
        out.push(letter);
        if (out.length >= limit) break;
      }
      return out;
    },
    redrive: async (vpn, sub, select) => {
      await ensureStreams(vpn);
      const ids = select.ids ? new Set(select.ids) : undefined;
      let n = 0;
      for await (const { seq, letter, data } of scan(vpn, sub)) {
        if (ids && !ids.has(letter.id)) continue;
        const at = Date.parse(letter.lastFailureAt);
        if (select.from && at < select.from.getTime()) continue;
        if (select.to && at > select.to.getTime()) continue;
        await publish(eventSubject(vpn, sub.namespace, sub.name), data, {
          msgID: `redrive-${deadLetterStream(vpn)}-${seq}`,
          streamName: eventStream(vpn),
        });
        await jsm.streams.deleteMessage(deadLetterStream(vpn), seq, false);
        n++;
      }
      await backlog(vpn);
      return n;
    },
    drain: async (graceMs) => {
      accepting = false;
      for (const f of following.values()) f.stop.abort();
      following.clear();
      clearInterval(backlogs);
      const timer = setTimeout(() => stop.abort(), graceMs);
      const deadline = Date.now() + graceMs;
      while (tasks.size > 0 && Date.now() < deadline)
        await Promise.race([...tasks, pause(Math.max(0, deadline - Date.now()))]);
      clearTimeout(timer);
      stop.abort();
      // What is not acknowledged stays in the stream for the other gateways: nothing is abandoned.
      await nc.drain().catch(() => undefined);
      return 0;
    },
  };
};
