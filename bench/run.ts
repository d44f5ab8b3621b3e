// `npm run bench`: every benchmark in turn (bounded: a few minutes), each printing its table and
// writing bench/results/<name>.json.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "../e2e/tools.ts";

const benches: (string | string[])[] = [
  "sync-hop.ts",
  "cost.ts",
  "queue-memory.ts",
  "durable.ts",
  "matching.ts",
  "propagation.ts",
  "resync.ts",
  "memory.ts",
  "scale.ts",
  // The goal's case: the operator started with 10 000 Subscriptions to reconcile.
  ["scale.ts", "--subscriptions", "10000", "--cold"],
  "fleet.ts",
  // The same fleet as sidecars, each scoped to one of 100 VPNs, on a registry of 10 000 subscriptions.
  ["fleet.ts", "--vpns", "100", "--subscriptions", "10000"],
  // What glibc's malloc keeps that malloc_trim(0) gives back (needs gdb; left out without it).
  "malloc-trim.ts",
  // What the gateway's --malloc-trim interval trades: working set against the tail.
  "trim-interval.ts",
  // What an open connection costs the gateway and the bare forwarder.
  "connections.ts",
  // Last: every goal from the results above, met or with where the cost is.
  "goals.ts",
];
let failed = 0;
for (const entry of benches) {
  const [bench = "", ...args] = typeof entry === "string" ? [entry] : entry;
  const res = spawnSync(
    process.execPath,
    ["--expose-gc", join(repoRoot, "bench", bench), ...args, ...process.argv.slice(2)],
    { stdio: "inherit" },
  );
  if (res.status !== 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);
