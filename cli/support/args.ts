// Flags of the plugin: `--name value`, `--name=value`, `-n value`, booleans, repeatable flags, and
// `--` ending them. Unknown flags and missing values are usage errors (exit 2).
import { CliError } from "../types.ts";

export interface FlagSpec {
  readonly name: string;
  readonly short?: string;
  /** The value's placeholder (`NAME`); absent for a boolean flag. */
  readonly value?: string;
  readonly help: string;
  readonly repeat?: boolean;
  /** Allowed values, checked when parsed (and offered by completion). */
  readonly choices?: readonly string[];
}

export interface Parsed {
  /** Each value flag's values, in order. */
  readonly values: ReadonlyMap<string, readonly string[]>;
  readonly bools: ReadonlySet<string>;
  readonly positionals: readonly string[];
}

/** The last value of flag `name`, or undefined. */
export const value = (p: Parsed, name: string): string | undefined => p.values.get(name)?.at(-1);

/** Every value of a repeatable flag `name`. */
export const values = (p: Parsed, name: string): readonly string[] => p.values.get(name) ?? [];

const find = (specs: readonly FlagSpec[], arg: string): FlagSpec | undefined =>
  arg.startsWith("--")
    ? specs.find((s) => s.name === arg.slice(2))
    : specs.find((s) => s.short !== undefined && s.short === arg.slice(1));

/** Parses `argv` against `specs`; throws CliError(code 2) naming the bad flag. */
export const parseArgs = (argv: readonly string[], specs: readonly FlagSpec[]): Parsed => {
  const vals = new Map<string, string[]>();
  const bools = new Set<string>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const spec = find(specs, flag);
    if (spec === undefined) throw new CliError(`unknown flag ${flag} (--help lists the flags)`, 2);
    if (spec.value === undefined) {
      if (eq > 0) throw new CliError(`${flag} takes no value`, 2);
      bools.add(spec.name);
      continue;
    }
    let v: string | undefined;
    if (eq > 0) v = arg.slice(eq + 1);
    else {
      v = argv[i + 1];
      i++;
    }
    if (v === undefined) throw new CliError(`${flag} needs a value: ${flag} ${spec.value}`, 2);
    if (spec.choices !== undefined && !spec.choices.includes(v))
      throw new CliError(`${flag} must be one of ${spec.choices.join(", ")}, not ${JSON.stringify(v)}`, 2);
    const list = vals.get(spec.name) ?? [];
    if (!spec.repeat) list.length = 0;
    list.push(v);
    vals.set(spec.name, list);
  }
  return { values: vals, bools, positionals };
};

/** `--help` of a command: usage, then one line per flag. */
export const helpText = (usage: string, summary: string, specs: readonly FlagSpec[]): string => {
  const left = (s: FlagSpec): string =>
    `${s.short ? `-${s.short}, ` : "    "}--${s.name}${s.value ? ` ${s.value}` : ""}`;
  const width = Math.max(...specs.map((s) => left(s).length));
  const lines = specs.map(
    (s) =>
      `  ${left(s).padEnd(width)}  ${s.help}${s.choices ? ` (${s.choices.join("|")})` : ""}${s.repeat ? " (repeatable)" : ""}`,
  );
  return `${summary}\n\nusage: kubectl switchboard ${usage}\n\nflags:\n${lines.join("\n")}\n`;
};
