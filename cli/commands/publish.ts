// `kubectl switchboard publish`: one CloudEvent to a gateway with the VPN's publisher token; prints
// the status and what the gateway or the function answered, or the problem details on failure.
import { readFileSync } from "node:fs";
import { type Parsed, value } from "../support/args.ts";
import { EVENT_FLAGS, eventRequest } from "../support/event.ts";
import { GATEWAY_FLAGS } from "../support/gateway.ts";
import { type Answer, post, problemLines, statusLine } from "../support/http.ts";
import { render } from "../support/output.ts";
import { CliError, type Command, type Io } from "../types.ts";
import {
  formatOf,
  gatewayTargets,
  HELP_FLAG,
  KUBE_FLAGS,
  lazyKube,
  OUTPUT_FLAG,
  tokenFor,
} from "./common.ts";

export interface PublishResult {
  readonly status: number;
  readonly id: string;
  readonly type: string;
  /** The gateway's JSON answer or the function's (JSON when it is JSON, else text). */
  readonly body: unknown;
  /** For a 202: the deliveries the gateway started; for a sync answer: the function's content type. */
  readonly deliveries?: number;
  readonly contentType?: string;
}

const accepted = (answer: Answer): number | undefined => {
  const n: unknown =
    typeof answer.json === "object" && answer.json !== null
      ? Reflect.get(answer.json, "deliveries")
      : undefined;
  return typeof n === "number" ? n : undefined;
};

/** The result of a successful publish, as printed with --output json|yaml. */
export const publishResult = (answer: Answer, id: string, type: string): PublishResult => {
  const deliveries = answer.status === 202 ? accepted(answer) : undefined;
  return {
    status: answer.status,
    id,
    type,
    body: answer.json ?? answer.text,
    ...(deliveries === undefined ? {} : { deliveries }),
    ...(answer.status === 202 ? {} : { contentType: answer.contentType }),
  };
};

/** The text form: the status line, then a sentence (async) or the function's answer (sync). */
export const publishText = (r: PublishResult): string => {
  if (r.status === 202)
    return `${statusLine(r.status)}: event ${r.id} accepted for async delivery to ${r.deliveries ?? 0} subscription${r.deliveries === 1 ? "" : "s"}${r.deliveries === 0 ? " (no subscription matched: kubectl switchboard explain says why)" : ""}\n`;
  const body = typeof r.body === "string" ? r.body : JSON.stringify(r.body);
  return `${statusLine(r.status)}\n${body}${body.endsWith("\n") || body === "" ? "" : "\n"}`;
};

const run = async (args: Parsed, io: Io): Promise<number> => {
  const vpn = value(args, "vpn");
  if (vpn === undefined) throw new CliError("--vpn is required: the VPN to publish in", 2);
  const event = eventRequest(args, (path) => readFileSync(path));
  const kube = lazyKube(args, io);
  const token = await tokenFor(args, kube, vpn);
  const gateway = await gatewayTargets(args, io, kube, "http");
  try {
    const url = gateway.targets[0]?.url;
    if (url === undefined) throw new CliError("no gateway URL");
    const answer = await post(
      `${url}/`,
      { ...event.headers, authorization: `Bearer ${token}` },
      event.body,
      io.signal,
    );
    if (answer.status >= 300) {
      io.err(`${problemLines(answer).join("\n")}\n`);
      return 1;
    }
    const result = publishResult(answer, event.id, event.type);
    io.out(render(formatOf(args), result, () => publishText(result)));
    if (args.bools.has("sync") && answer.status === 202) {
      io.err(
        "--sync: the gateway accepted the event for async delivery: no sync Subscription matched it (kubectl switchboard explain says why)\n",
      );
      return 1;
    }
    return 0;
  } finally {
    gateway.close();
  }
};

export const publish: Command = {
  name: "publish",
  summary: "publish one CloudEvent through a gateway with the VPN's publisher token",
  usage:
    "publish --vpn NAME (--type TYPE [--source URI] [--id ID] [--data DATA | --data-file FILE] | -f EVENT.json) [--sync]",
  flags: [
    ...EVENT_FLAGS,
    { name: "sync", help: "expect a sync Subscription's answer: fail when the event is only accepted (202)" },
    ...GATEWAY_FLAGS.filter((f) => f.name !== "admin-url"),
    OUTPUT_FLAG,
    ...KUBE_FLAGS,
    HELP_FLAG,
  ],
  run,
};
