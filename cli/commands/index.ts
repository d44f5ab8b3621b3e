// The commands of `kubectl switchboard`, and running one: help, usage errors (exit 2), and errors
// that say what to do (exit 1, or 3 for what this version does not have).
import { versionLine } from "../../common/build-info.ts";
import { helpText, parseArgs } from "../support/args.ts";
import { candidates, NO_FILE_COMPLETION } from "../support/complete.ts";
import { CliError, type Command, type Io } from "../types.ts";
import { completion } from "./completion.ts";
import { deadletters } from "./deadletters.ts";
import { explain } from "./explain.ts";
import { publish } from "./publish.ts";
import { status } from "./status.ts";
import { tail } from "./tail.ts";

export const COMMANDS: readonly Command[] = [status, publish, explain, tail, deadletters, completion];

const POSITIONALS: Readonly<Record<string, readonly string[]>> = {
  deadletters: ["list", "redrive"],
  completion: ["bash", "zsh"],
};

/** The plugin's --help: every command with its summary. */
export const mainHelp = (): string => {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `kubectl switchboard: Switchboard's VPNs, Functions and Subscriptions from kubectl

usage: kubectl switchboard COMMAND [flags]

commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n")}

kubectl switchboard COMMAND --help lists a command's flags (one line each);
kubectl switchboard --version prints the version, the source revision and the Node.js version.
`;
};

/** Runs `argv` (the words after `kubectl switchboard`); resolves with the exit code, never throws. */
export const runCli = async (argv: readonly string[], io: Io): Promise<number> => {
  const [name, ...rest] = argv;
  if (name === "__complete") {
    const words = rest.length === 0 ? [""] : rest;
    const list = COMMANDS.map((c) => ({ ...c, positionals: POSITIONALS[c.name] ?? [] }));
    io.out(`${[...candidates(list, words), `:${NO_FILE_COMPLETION}`].join("\n")}\n`);
    return 0;
  }
  if (name === "--version" || name === "version") {
    io.out(`${versionLine("kubectl-switchboard")}\n`);
    return 0;
  }
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.out(mainHelp());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  try {
    if (command === undefined)
      throw new CliError(`unknown command ${name}; commands: ${COMMANDS.map((c) => c.name).join(", ")}`, 2);
    const args = parseArgs(rest, command.flags);
    if (args.bools.has("help")) {
      io.out(helpText(command.usage, command.summary, command.flags));
      return 0;
    }
    return await command.run(args, io);
  } catch (err) {
    if (err instanceof CliError) {
      io.err(`kubectl switchboard${command ? ` ${command.name}` : ""}: ${err.message}\n`);
      return err.code;
    }
    throw err;
  }
};
