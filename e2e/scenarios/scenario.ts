// One scenario of the chart on a real cluster: a name, what it proves, where it can run, and the
// steps. The list both drivers run (e2e/chart-on-node.e2e.test.ts, e2e/kind.ts) is in ./index.ts.
import type { ScenarioEnv } from "./env.ts";

export interface Scenario {
  readonly name: string;
  /** What it proves, one sentence (printed by `e2e/kind.ts --dry-run`). */
  readonly summary: string;
  /** "node": needs the local node's memory cgroups and its Service network reachable from this process. */
  readonly needs?: "node";
  /** Runs the steps; throws (an assertion) when the product does not behave. */
  run(env: ScenarioEnv): Promise<void>;
}
