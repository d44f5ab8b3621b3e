// `npm test`: type-check, lint, unit tests, then integration and e2e tests against one shared
// local control plane (real etcd, kube-apiserver, kube-controller-manager). Fast stages first;
// the first failing stage stops the run. Ends with one line: "summary: N passed, N failed".
// Last, the `node` stage: tests that start a real local node (root, one node per machine), one
// file at a time, after the shared control plane has stopped.
//
//   npm test                      everything
//   npm test -- unit node         only the named stages (typecheck, lint, unit, integration, node)
import { spawn } from "node:child_process";
import { globSync, rmSync } from "node:fs";
import { join } from "node:path";
import { startCluster } from "../e2e/cluster.ts";
import { repoRoot } from "../e2e/tools.ts";

const STAGES = ["typecheck", "lint", "unit", "integration", "node"] as const;
type Stage = (typeof STAGES)[number];
/** Test files that start a real node (e2e/node.ts); each starts its own cluster, one at a time. */
const NODE_FILES = ["e2e/node.e2e.test.ts", "e2e/chart-on-node.e2e.test.ts", "scripts/docs.node.e2e.test.ts"];

const counts = { passed: 0, failed: 0, skipped: 0 };

/** Runs a command with inherited stderr, echoing stdout; resolves with its exit code and stdout. */
const sh = (cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env) =>
  new Promise<{ code: number; out: string }>((resolve) => {
    const child = spawn(cmd, args, { cwd: repoRoot, env, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      process.stdout.write(d);
    });
    child.on("close", (code) => resolve({ code: code ?? 1, out }));
  });

/** Adds the totals that the spec reporter prints last ("ℹ pass N", "ℹ fail N", "ℹ skipped N"). */
const tally = (out: string): void => {
  const last = (label: string): number => {
    let n = 0;
    for (const m of out.matchAll(new RegExp(`^ℹ ${label} (\\d+)$`, "gm"))) n = Number(m[1]);
    return n;
  };
  counts.passed += last("pass");
  counts.failed += last("fail");
  counts.skipped += last("skipped");
};

const testFiles = (kind: "unit" | "integration" | "node"): string[] => {
  const all = globSync(
    "{common,operator,sidecar,registry,crds,cli,e2e,bench,scripts,examples,helm}/**/*.test.ts",
    {
      cwd: repoRoot,
    },
  );
  const slow = (f: string): boolean => /\.(int|e2e)\.test\.ts$/.test(f);
  if (kind === "node") return all.filter((f) => NODE_FILES.includes(f)).sort();
  return all.filter((f) => !NODE_FILES.includes(f) && (kind === "unit" ? !slow(f) : slow(f))).sort();
};

const nodeTest = async (
  files: readonly string[],
  env: NodeJS.ProcessEnv,
  concurrency: number,
): Promise<number> => {
  if (files.length === 0) return 0;
  const args = [
    "--test",
    "--test-reporter=spec",
    `--test-concurrency=${concurrency}`,
    "--test-timeout=600000",
    ...files,
  ];
  const { code, out } = await sh(process.execPath, args, env);
  tally(out);
  return code;
};

const runStage = async (stage: Stage): Promise<number> => {
  console.log(`\n=== ${stage} ===`);
  switch (stage) {
    case "typecheck":
      return (
        await sh(process.execPath, [
          join(repoRoot, "node_modules/typescript/bin/tsc"),
          "--noEmit",
          "-p",
          repoRoot,
        ])
      ).code;
    case "lint":
      return (await sh(join(repoRoot, "node_modules/.bin/biome"), ["check", "."])).code;
    case "unit":
      return nodeTest(testFiles("unit"), process.env, 2);
    case "integration": {
      const bootstrap = await sh("bash", [join(repoRoot, "scripts/bootstrap.sh")]);
      if (bootstrap.code !== 0) return bootstrap.code;
      const cluster = await startCluster({ name: "test" });
      console.log(`control plane up: ${cluster.apiserver} (etcd ${cluster.etcd}), files in ${cluster.dir}`);
      let code = 1;
      try {
        const env = { ...process.env, SWITCHBOARD_TEST_CLUSTER: join(cluster.dir, "cluster.json") };
        code = await nodeTest(testFiles("integration"), env, 2);
      } finally {
        await cluster.stop();
        if (code !== 0) console.log(`control-plane logs kept in ${cluster.dir}`);
        else rmSync(cluster.dir, { recursive: true, force: true });
      }
      return code;
    }
    case "node": {
      const bootstrap = await sh("bash", [join(repoRoot, "scripts/bootstrap.sh")]);
      if (bootstrap.code !== 0) return bootstrap.code;
      return nodeTest(testFiles("node"), process.env, 1);
    }
  }
};

const main = async (): Promise<number> => {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((s) => !(STAGES as readonly string[]).includes(s));
  if (unknown.length > 0) {
    console.error(`unknown stage(s) ${unknown.join(", ")}; stages: ${STAGES.join(", ")}`);
    return 2;
  }
  const stages = wanted.length > 0 ? STAGES.filter((s) => wanted.includes(s)) : STAGES;
  for (const stage of stages) {
    const code = await runStage(stage);
    if (code !== 0) {
      console.log(`\nstage ${stage} failed (exit ${code})`);
      console.log(`summary: ${counts.passed} passed, ${Math.max(counts.failed, 1)} failed`);
      return code;
    }
  }
  console.log(`\nsummary: ${counts.passed} passed, ${counts.failed} failed`);
  return 0;
};

process.exitCode = await main();
