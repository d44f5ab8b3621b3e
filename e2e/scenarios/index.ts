// The scenarios of the chart on a real cluster, in the order they run: one list that both the
// local node's test (e2e/chart-on-node.e2e.test.ts) and the kind script (e2e/kind.ts) drive. Each
// builds on the ones before it (the release, then examples/ …). Scenarios marked `needs: "node"`
// read the node's memory cgroups or publish to the Service network from the host: kind skips them.
import { injection } from "./injection.ts";
import { examples, install } from "./main-path.ts";
import { memory } from "./memory-load.ts";
import { rollingRestart, rollingRestartJetStream, upgradeRollback } from "./rollout.ts";
import type { Scenario } from "./scenario.ts";

export type { Scenario } from "./scenario.ts";

export const SCENARIOS: readonly Scenario[] = [
  install,
  examples,
  injection,
  memory,
  upgradeRollback,
  rollingRestart,
  rollingRestartJetStream,
];

/** The scenarios a cluster of kind `where` runs. */
export const scenariosFor = (where: "node" | "kind"): Scenario[] =>
  SCENARIOS.filter((s) => where === "node" || s.needs !== "node");
