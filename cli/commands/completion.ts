// `kubectl switchboard completion bash|zsh`: prints the shell's completion script.
import type { Parsed } from "../support/args.ts";
import { bashScript, zshScript } from "../support/complete.ts";
import { CliError, type Command, type Io } from "../types.ts";
import { HELP_FLAG } from "./common.ts";

const run = async (args: Parsed, io: Io): Promise<number> => {
  const [shell, extra] = args.positionals;
  if (extra !== undefined || (shell !== "bash" && shell !== "zsh"))
    throw new CliError("completion takes one shell: bash or zsh", 2);
  io.out(shell === "bash" ? bashScript() : zshScript());
  return 0;
};

export const completion: Command = {
  name: "completion",
  summary: "print the shell completion script: source <(kubectl switchboard completion bash)",
  usage: "completion bash|zsh",
  flags: [HELP_FLAG],
  run,
};
