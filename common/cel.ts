// CEL filters over CloudEvents: `event` is a map of the event's attributes (context attributes
// and extensions), `data` is the payload (parsed JSON, or a string). The operator compiles at
// reconcile time and refuses what does not compile; the gateway evaluates the same programs.
import { createRequire } from "node:module";
import type { Environment } from "@marcbachmann/cel-js";

type CelLibrary = typeof import("@marcbachmann/cel-js");
let library: CelLibrary | undefined;

/**
 * The variables a filter may use, as declared to the type checker. The CEL library is loaded at the
 * first call, synchronously (Node 24 requires ES modules): a gateway whose subscriptions have no CEL
 * never loads it (4 MiB of working set, docs/benchmarks.md).
 */
export const celEnvironment = (): Environment => {
  library ??= createRequire(import.meta.url)("@marcbachmann/cel-js") as CelLibrary;
  return new library.Environment()
    .registerVariable("event", "map<string, dyn>")
    .registerVariable("data", "dyn");
};

export type CelCheck = { ok: true } | { ok: false; message: string };

/** The character offset the CEL library attaches to an error (on the error or its AST node), if any. */
const offsetOf = (error: unknown): number | undefined => {
  const holders = [
    error,
    error !== null && typeof error === "object" && "node" in error ? error.node : undefined,
  ];
  for (const h of holders)
    if (h !== null && typeof h === "object" && "pos" in h && typeof h.pos === "number") return h.pos;
  return undefined;
};

/** "at line L, column C" (1-based) of `offset` in `text`. */
const position = (text: string, offset: number): string => {
  const before = text.slice(0, offset).split("\n");
  return `at line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
};

/**
 * Type-checks `expression`: ok when it parses, uses only `event` and `data`, and yields bool (or
 * dyn). A refusal's message says where (line and column), e.g. "Unexpected token: GT at line 1,
 * column 14".
 */
export const checkCel = (expression: string, env: Environment = celEnvironment()): CelCheck => {
  const result = env.check(expression);
  if (!result.valid) {
    const first = (result.error?.message ?? "invalid expression").split("\n")[0] ?? "";
    const offset = offsetOf(result.error);
    return { ok: false, message: offset === undefined ? first : `${first} ${position(expression, offset)}` };
  }
  if (result.type !== "bool" && result.type !== "dyn") {
    return {
      ok: false,
      message: `the expression yields ${result.type ?? "an unknown type"}; a filter must yield bool`,
    };
  }
  return { ok: true };
};
