// `kubectl switchboard deadletters list|redrive SUBSCRIPTION`: a subscription's dead letters from
// a gateway's GET /deadletters (gateways with --durability jetstream keep them in NATS), and their
// redrive through POST /deadletters/redrive once the function is fixed (docs/durability.md).
import { type Parsed, value, values } from "../support/args.ts";
import { GATEWAY_FLAGS } from "../support/gateway.ts";
import { get, post, problemLines } from "../support/http.ts";
import { render, table } from "../support/output.ts";
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

const SUBCOMMANDS = ["list", "redrive"];

/** A dead letter as the gateway lists it. */
export interface DeadLetterRow {
  readonly seq: number;
  readonly id: string;
  readonly type: string;
  readonly source: string;
  readonly status: string;
  readonly attempts: number;
  readonly acceptedAt: string;
  readonly firstFailureAt?: string;
  readonly lastFailureAt: string;
}

const field = (o: unknown, k: string): unknown =>
  typeof o === "object" && o !== null ? Reflect.get(o, k) : undefined;

/** The gateway's GET /deadletters answer, checked: throws CliError when it is not one. */
export const deadLetterRows = (json: unknown): DeadLetterRow[] => {
  const list = field(json, "deadLetters");
  if (!Array.isArray(list)) throw new CliError("the gateway's /deadletters answer has no deadLetters list");
  return list.map((d: unknown) => {
    const first = field(d, "firstFailureAt");
    return {
      seq: Number(field(d, "seq")),
      id: String(field(d, "id")),
      type: String(field(d, "type")),
      source: String(field(d, "source")),
      status: String(field(d, "status")),
      attempts: Number(field(d, "attempts")),
      acceptedAt: String(field(d, "acceptedAt")),
      ...(typeof first === "string" ? { firstFailureAt: first } : {}),
      lastFailureAt: String(field(d, "lastFailureAt")),
    };
  });
};

/** The text form: a count, then ID / TYPE / STATUS / ATTEMPTS / LAST FAILURE, oldest first. */
export const deadLettersText = (rows: readonly DeadLetterRow[], subscription: string): string => {
  if (rows.length === 0) return `no dead letters for subscription ${subscription}\n`;
  return `${rows.length} dead letter${rows.length === 1 ? "" : "s"} for subscription ${subscription}\n${table(
    ["ID", "TYPE", "STATUS", "ATTEMPTS", "LAST FAILURE"],
    rows.map((r) => [r.id, r.type, r.status, String(r.attempts), r.lastFailureAt]),
  )}`;
};

/** What a redrive takes, from --id, --from/--to or --all (one of them: redriving everything is asked for). */
const selection = (args: Parsed): Record<string, unknown> => {
  const ids = values(args, "id");
  const [from, to] = [value(args, "from"), value(args, "to")];
  const all = args.bools.has("all");
  const chosen = [ids.length > 0, from !== undefined || to !== undefined, all].filter(Boolean).length;
  if (chosen !== 1)
    throw new CliError("redrive needs one of: --id ID (repeatable), --from/--to TIME, or --all", 2);
  for (const [flag, time] of [
    ["from", from],
    ["to", to],
  ] as const)
    if (time !== undefined && Number.isNaN(Date.parse(time)))
      throw new CliError(`--${flag} must be an RFC 3339 time, e.g. 2026-11-30T08:00:00Z, not ${time}`, 2);
  if (ids.length > 0) return { ids };
  if (all) return {};
  return { ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) };
};

const run = async (args: Parsed, io: Io): Promise<number> => {
  const [sub, arg, extra] = args.positionals;
  if (sub === undefined || !SUBCOMMANDS.includes(sub))
    throw new CliError(`deadletters needs a subcommand: ${SUBCOMMANDS.join(" or ")}`, 2);
  if (extra !== undefined) throw new CliError(`deadletters ${sub} takes one SUBSCRIPTION`, 2);
  const limitText = value(args, "limit") ?? "1000";
  const limit = Number(limitText);
  if (!(Number.isInteger(limit) && limit > 0 && limit <= 10_000))
    throw new CliError(`--limit must be a whole number from 1 to 10000, not ${limitText}`, 2);
  const redrive = sub === "redrive" ? selection(args) : undefined;
  const kube = lazyKube(args, io);
  const ref = subscriptionRef(arg, args, kube, `deadletters ${sub}`);
  const vpn = await subscriptionVpn(args, kube, ref);
  const token = await tokenFor(args, kube, vpn);
  const gateway = await gatewayTargets(args, io, kube, "metrics");
  const name = `${ref.namespace}/${ref.name}`;
  const query = `vpn=${encodeURIComponent(vpn)}&subscription=${encodeURIComponent(name)}`;
  try {
    const url = gateway.targets[0]?.url;
    if (url === undefined) throw new CliError("no gateway admin URL");
    const headers = { authorization: `Bearer ${token}` };
    const answer = redrive
      ? await post(
          `${url}/deadletters/redrive?${query}`,
          { ...headers, "content-type": "application/json" },
          Buffer.from(JSON.stringify(redrive)),
          io.signal,
        )
      : await get(`${url}/deadletters?${query}&limit=${limit}`, headers, io.signal);
    if (answer.status !== 200) {
      io.err(`${problemLines(answer).join("\n")}\n`);
      return 1;
    }
    if (redrive) {
      const n = Number(field(answer.json, "redriven"));
      io.out(
        render(formatOf(args), { vpn, subscription: name, redriven: n }, () =>
          n === 0
            ? `no dead letters of subscription ${name} matched: nothing redriven\n`
            : `redrove ${n} dead letter${n === 1 ? "" : "s"} to subscription ${name} (same event ids)\n`,
        ),
      );
      return 0;
    }
    const rows = deadLetterRows(answer.json);
    io.out(
      render(formatOf(args), { vpn, subscription: name, deadLetters: rows }, () =>
        deadLettersText(rows, name),
      ),
    );
    return 0;
  } finally {
    gateway.close();
  }
};

export const deadletters: Command = {
  name: "deadletters",
  summary:
    "list a subscription's dead letters, or redrive them once its function is fixed (gateways with --durability jetstream)",
  usage:
    "deadletters list SUBSCRIPTION [-n NAMESPACE] [--limit N] | deadletters redrive SUBSCRIPTION [-n NAMESPACE] (--id ID ... | --from TIME [--to TIME] | --all)",
  flags: [
    {
      name: "namespace",
      short: "n",
      value: "NAMESPACE",
      help: "the Subscription's namespace (default the context's)",
    },
    { name: "vpn", value: "NAME", help: "the Subscription's VPN (default: read from the Subscription)" },
    { name: "limit", value: "N", help: "list: at most N dead letters, oldest first (default 1000)" },
    {
      name: "id",
      value: "ID",
      repeat: true,
      help: "redrive: the dead letter with this event id (repeatable)",
    },
    { name: "from", value: "TIME", help: "redrive: those that last failed at or after TIME (RFC 3339)" },
    { name: "to", value: "TIME", help: "redrive: those that last failed at or before TIME (RFC 3339)" },
    { name: "all", help: "redrive: every dead letter of the subscription" },
    ...GATEWAY_FLAGS.filter((f) => f.name !== "url"),
    OUTPUT_FLAG,
    ...KUBE_FLAGS,
    HELP_FLAG,
  ],
  run,
};
