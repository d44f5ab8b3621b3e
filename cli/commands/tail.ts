// `kubectl switchboard tail SUBSCRIPTION`: follows the deliveries of one subscription, live, from
// the gateways' GET /deliveries admin stream (successful deliveries are not logged, so logs cannot
// show them). One gateway through a port-forward to the gateway Service, or each --admin-url given.
import { createInterface } from "node:readline";
import { request } from "undici";
import { type Parsed, value } from "../support/args.ts";
import { GATEWAY_FLAGS, type Target } from "../support/gateway.ts";
import { type Answer, problemLines, unreachable } from "../support/http.ts";
import { type Format, toYaml } from "../support/output.ts";
import { CliError, type Command, type Io } from "../types.ts";
import {
  formatOf,
  gatewayTargets,
  HELP_FLAG,
  KUBE_FLAGS,
  lazyKube,
  OUTPUT_FLAG,
  subscriptionRef,
  subscriptionVpn,
  tokenFor,
} from "./common.ts";

/** One line of the stream, checked; undefined for lines that are not deliveries. */
export interface Delivery {
  readonly time: string;
  readonly subscription: string;
  readonly function: string;
  readonly id: string;
  readonly type: string;
  readonly source: string;
  readonly outcome: string;
  readonly delivered: boolean;
  readonly attempts: number;
  readonly url?: string;
  readonly deadLetter: boolean;
}

/** A stream line: a delivery, the `following` greeting, or a count of lines a slow reader missed. */
export type StreamLine =
  | { kind: "delivery"; delivery: Delivery }
  | { kind: "following"; subscription: string }
  | { kind: "missed"; count: number }
  | { kind: "other" };

/** Parses one NDJSON line of GET /deliveries. */
export const parseStreamLine = (line: string): StreamLine => {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return { kind: "other" };
  }
  if (typeof v !== "object" || v === null) return { kind: "other" };
  const get = (k: string): unknown => Reflect.get(v, k);
  if (typeof get("following") === "string")
    return { kind: "following", subscription: String(get("following")) };
  if (typeof get("missed") === "number") return { kind: "missed", count: Number(get("missed")) };
  if (typeof get("id") !== "string" || typeof get("outcome") !== "string") return { kind: "other" };
  const url = get("url");
  return {
    kind: "delivery",
    delivery: {
      time: String(get("time")),
      subscription: String(get("subscription")),
      function: String(get("function")),
      id: String(get("id")),
      type: String(get("type")),
      source: String(get("source")),
      outcome: String(get("outcome")),
      delivered: get("delivered") === true,
      attempts: Number(get("attempts")),
      ...(typeof url === "string" ? { url } : {}),
      deadLetter: get("deadLetter") === true,
    },
  };
};

/** One delivery as printed. */
export const deliveryText = (d: Delivery, format: Format): string => {
  if (format === "json") return `${JSON.stringify(d)}\n`;
  if (format === "yaml") return `---\n${toYaml(d)}`;
  const what = d.deadLetter ? "dead-letter copy " : "";
  return `${d.time}  ${d.delivered ? "delivered" : "FAILED"}  ${what}${d.outcome}  id=${d.id}  type=${d.type}  source=${d.source}  attempts=${d.attempts}  function=${d.function}${d.url ? `  url=${d.url}` : ""}\n`;
};

/** Follows one gateway until the stream ends or `stop` aborts; calls `onDelivery` per delivery. */
const follow = async (
  { label, url }: Target,
  headers: Record<string, string>,
  io: Io,
  stop: AbortSignal,
  onDelivery: (d: Delivery) => void,
): Promise<"ended" | "stopped"> => {
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(url, { method: "GET", headers, signal: stop, bodyTimeout: 0 });
  } catch (err) {
    if (stop.aborted) return "stopped";
    throw unreachable(url, err);
  }
  if (res.statusCode !== 200) {
    const text = await res.body.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const answer: Answer = {
      status: res.statusCode,
      contentType: "",
      text,
      ...(json === undefined ? {} : { json }),
    };
    throw new CliError(problemLines(answer).join("\n"));
  }
  try {
    for await (const line of createInterface({ input: res.body, crlfDelay: Number.POSITIVE_INFINITY })) {
      const parsed = parseStreamLine(line);
      if (parsed.kind === "following")
        io.err(`following deliveries of ${parsed.subscription} on ${label} (Ctrl-C stops)\n`);
      else if (parsed.kind === "missed")
        io.err(`${parsed.count} deliveries on ${label} not shown: this reader fell behind\n`);
      else if (parsed.kind === "delivery") onDelivery(parsed.delivery);
    }
  } catch (err) {
    if (stop.aborted) return "stopped";
    throw unreachable(url, err);
  }
  if (stop.aborted) return "stopped";
  io.err(`${label} ended the stream (it is shutting down)\n`);
  return "ended";
};

const run = async (args: Parsed, io: Io): Promise<number> => {
  const kube = lazyKube(args, io);
  const [arg, extra] = args.positionals;
  if (extra !== undefined)
    throw new CliError("tail takes one SUBSCRIPTION (NAME with -n NAMESPACE, or NAMESPACE/NAME)", 2);
  const ref = subscriptionRef(arg, args, kube, "tail");
  const countFlag = value(args, "count");
  const limit = countFlag === undefined ? undefined : Number(countFlag);
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0))
    throw new CliError(`--count must be a positive whole number, not ${countFlag}`, 2);
  const vpn = await subscriptionVpn(args, kube, ref);
  const token = await tokenFor(args, kube, vpn);
  const gateway = await gatewayTargets(args, io, kube, "metrics", { everyPod: true });
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  io.signal.addEventListener("abort", onAbort, { once: true });
  const format = formatOf(args);
  let seen = 0;
  const query = `vpn=${encodeURIComponent(vpn)}&subscription=${encodeURIComponent(`${ref.namespace}/${ref.name}`)}`;
  try {
    const ends = await Promise.all(
      gateway.targets.map((target) =>
        follow(
          { ...target, url: `${target.url}/deliveries?${query}` },
          { authorization: `Bearer ${token}` },
          io,
          stop.signal,
          (d) => {
            if (limit !== undefined && seen >= limit) return;
            seen++;
            io.out(deliveryText(d, format));
            if (limit !== undefined && seen >= limit) stop.abort();
          },
        ).catch((err: unknown) => {
          stop.abort();
          throw err;
        }),
      ),
    );
    if (ends.every((e) => e === "stopped")) return 0;
    io.err("run tail again to follow the gateways running now\n");
    return 1;
  } finally {
    io.signal.removeEventListener("abort", onAbort);
    gateway.close();
  }
};

export const tail: Command = {
  name: "tail",
  summary: "follow the deliveries of a subscription, live, from the gateways' delivery stream",
  usage: "tail SUBSCRIPTION [-n NAMESPACE] [--count N] [--admin-url URL ...]",
  flags: [
    {
      name: "namespace",
      short: "n",
      value: "NAMESPACE",
      help: "the Subscription's namespace (default the context's)",
    },
    { name: "count", value: "N", help: "stop after N deliveries (default: until Ctrl-C)" },
    { name: "vpn", value: "NAME", help: "the Subscription's VPN (default: read from the Subscription)" },
    ...GATEWAY_FLAGS.filter((f) => f.name !== "url").map((f) =>
      f.name === "admin-url"
        ? {
            ...f,
            repeat: true,
            help: "a gateway's admin port, one per gateway to follow (default: a port-forward to each Ready pod of the gateway Service)",
          }
        : f,
    ),
    { ...OUTPUT_FLAG, help: "output format (default text; json: one object per line)" },
    ...KUBE_FLAGS,
    HELP_FLAG,
  ],
  run,
};
