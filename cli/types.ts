// What every command of `kubectl switchboard` shares: its I/O, its flags, and the error that ends it.
import type { FlagSpec, Parsed } from "./support/args.ts";

/** Where a command writes, what it reads from the environment, and when it must stop (Ctrl-C). */
export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** The environment, read once by main.ts; commands never read process.env. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly signal: AbortSignal;
}

export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** The usage line after `kubectl switchboard`. */
  readonly usage: string;
  readonly flags: readonly FlagSpec[];
  /** Runs the command; resolves with the exit code, throws CliError for a failure with advice. */
  run(args: Parsed, io: Io): Promise<number>;
}

/** A failure the user can act on: `message` says what happened and what to do. Exit code 1, 2 for usage. */
export class CliError extends Error {
  readonly code: number;
  constructor(message: string, code = 1) {
    super(message);
    this.name = "CliError";
    this.code = code;
  }
}
