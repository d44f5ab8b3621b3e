// `kubectl switchboard deadletters list|redrive`: dead letters are not stored by this version
// (their store is the JetStream durability backend, not yet available), so both say so and fail.
import type { Parsed } from "../support/args.ts";
import { CliError, type Command, type Io } from "../types.ts";
import { HELP_FLAG, KUBE_FLAGS } from "./common.ts";

export const DEADLETTERS_UNAVAILABLE =
  "dead letters are not stored by this version: listing and redriving them require gateways run with --durability jetstream, which is not yet available in this version. Until then a Subscription's delivery.deadLetter function receives each dead letter (kubectl switchboard tail SUBSCRIPTION shows them as dead-letter copies)";

const SUBCOMMANDS = ["list", "redrive"];

const run = async (args: Parsed, _io: Io): Promise<number> => {
  const [sub] = args.positionals;
  if (sub === undefined || !SUBCOMMANDS.includes(sub))
    throw new CliError(`deadletters needs a subcommand: ${SUBCOMMANDS.join(" or ")}`, 2);
  throw new CliError(DEADLETTERS_UNAVAILABLE, 3);
};

export const deadletters: Command = {
  name: "deadletters",
  summary: "list or redrive dead letters (needs --durability jetstream: not yet available in this version)",
  usage: "deadletters list|redrive [SUBSCRIPTION] [-n NAMESPACE]",
  flags: [
    { name: "namespace", short: "n", value: "NAMESPACE", help: "the Subscription's namespace" },
    ...KUBE_FLAGS,
    HELP_FLAG,
  ],
  run,
};
