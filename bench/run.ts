// `npm run bench`: every benchmark in turn (bounded: a few minutes), each printing its table and
// writing bench/results/<name>.json.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "../e2e/tools.ts";

const benches = [
  "sync-hop.ts",
  "allocation.ts",
  "queue-memory.ts",
  "durable.ts",
  "matching.ts",
  "propagation.ts",
  "resync.ts",
  "memory.ts",
  "scale.ts",
  "fleet.ts",
];
let failed = 0;
for (const bench of benches) {
  const res = spawnSync(
    process.execPath,
    ["--expose-gc", join(repoRoot, "bench", bench), ...process.argv.slice(2)],
    { stdio: "inherit" },
  );
  if (res.status !== 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);
