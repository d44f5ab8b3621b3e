// `kubectl switchboard explain`: asks a gateway's POST /explain?vpn= which subscriptions of the VPN
// the event would reach, and why not the others; prints one line per subscription.
import { readFileSync } from "node:fs";
import { type Parsed, value } from "../support/args.ts";
import { EVENT_FLAGS, eventRequest } from "../support/event.ts";
import { GATEWAY_FLAGS } from "../support/gateway.ts";
import { post, problemLines } from "../support/http.ts";
import { render, table } from "../support/output.ts";
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

export interface Explained {
  readonly namespace: string;
  readonly name: string;
  readonly mode: string;
  readonly matched: boolean;
  readonly reason: string;
}

export interface ExplainReport {
  readonly vpn: string;
  readonly revision: number;
  readonly subscriptions: readonly Explained[];
}

/** The gateway's answer, checked: throws CliError when it is not an explain answer. */
export const explainReport = (json: unknown): ExplainReport => {
  const get = (o: unknown, k: string): unknown =>
    typeof o === "object" && o !== null ? Reflect.get(o, k) : undefined;
  const subs = get(json, "subscriptions");
  if (!Array.isArray(subs)) throw new CliError("the gateway's /explain answer has no subscriptions list");
  return {
    vpn: String(get(json, "vpn")),
    revision: Number(get(json, "revision")),
    subscriptions: subs.map((s: unknown) => ({
      namespace: String(get(s, "namespace")),
      name: String(get(s, "name")),
      mode: String(get(s, "mode")),
      matched: get(s, "matched") === true,
      reason: String(get(s, "reason")),
    })),
  };
};

/** The text form: a summary, then REACHES / SUBSCRIPTION / MODE / WHY, reached ones first. */
export const explainText = (r: ExplainReport, what: string): string => {
  const reached = r.subscriptions.filter((s) => s.matched);
  const sorted = [...reached, ...r.subscriptions.filter((s) => !s.matched)];
  const summary =
    r.subscriptions.length === 0
      ? `VPN ${r.vpn} has no subscriptions (registry revision ${r.revision})`
      : `${what} reaches ${reached.length} of ${r.subscriptions.length} subscriptions of VPN ${r.vpn} (registry revision ${r.revision})`;
  const rows = sorted.map((s) => [s.matched ? "yes" : "no", `${s.namespace}/${s.name}`, s.mode, s.reason]);
  return `${summary}\n${rows.length === 0 ? "" : table(["REACHES", "SUBSCRIPTION", "MODE", "WHY"], rows)}`;
};

const run = async (args: Parsed, io: Io): Promise<number> => {
  const vpn = value(args, "vpn");
  if (vpn === undefined) throw new CliError("--vpn is required: the VPN whose subscriptions to explain", 2);
  const event = eventRequest(args, (path) => readFileSync(path));
  const kube = lazyKube(args, io);
  const token = await tokenFor(args, kube, vpn);
  const gateway = await gatewayTargets(args, io, kube, "metrics");
  try {
    const url = gateway.targets[0]?.url;
    if (url === undefined) throw new CliError("no gateway admin URL");
    const answer = await post(
      `${url}/explain?vpn=${encodeURIComponent(vpn)}`,
      { ...event.headers, authorization: `Bearer ${token}` },
      event.body,
      io.signal,
    );
    if (answer.status !== 200) {
      io.err(`${problemLines(answer).join("\n")}\n`);
      return 1;
    }
    const report = explainReport(answer.json);
    const what = `event ${event.type ? `${event.type} ` : ""}(id ${event.id})`;
    io.out(render(formatOf(args), report, () => explainText(report, what)));
    return 0;
  } finally {
    gateway.close();
  }
};

export const explain: Command = {
  name: "explain",
  summary: "which subscriptions of the VPN an event reaches, and why not the others (the gateway's /explain)",
  usage: "explain --vpn NAME (--type TYPE [--source URI] [--data DATA | --data-file FILE] | -f EVENT.json)",
  flags: [
    ...EVENT_FLAGS,
    ...GATEWAY_FLAGS.filter((f) => f.name !== "url"),
    OUTPUT_FLAG,
    ...KUBE_FLAGS,
    HELP_FLAG,
  ],
  run,
};
