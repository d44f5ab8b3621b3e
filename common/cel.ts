// CEL filters over CloudEvents: `event` is a map of the event's attributes (context attributes
// and extensions), `data` is the payload (parsed JSON, or a string). The operator compiles at
// reconcile time and refuses what does not compile; the gateway evaluates the same programs.
import { Environment } from "@marcbachmann/cel-js";

/** The variables a filter may use, as declared to the type checker. */
export const celEnvironment = (): Environment =>
  new Environment().registerVariable("event", "map<string, dyn>").registerVariable("data", "dyn");

export type CelCheck = { ok: true } | { ok: false; message: string };

/** Type-checks `expression`: ok when it parses, uses only `event` and `data`, and yields bool (or dyn). */
export const checkCel = (expression: string, env: Environment = celEnvironment()): CelCheck => {
  const result = env.check(expression);
  if (!result.valid)
    return { ok: false, message: (result.error?.message ?? "invalid expression").split("\n")[0] ?? "" };
  if (result.type !== "bool" && result.type !== "dyn") {
    return {
      ok: false,
      message: `the expression yields ${result.type ?? "an unknown type"}; a filter must yield bool`,
    };
  }
  return { ok: true };
};
