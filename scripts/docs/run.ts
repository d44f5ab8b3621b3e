// Running documented shell blocks as written (scripts/docs.int.test.ts, the node stage's docs
// test): each block is one bash script; a command that runs until Ctrl-C (a control plane, the
// programs) is started in the background in its own process group and awaited until it says it is
// up; stop() ends them all. The only change to the text: `from` (a directory the docs name, such
// as /tmp/sb) becomes a directory of the test's own.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { repoRoot, toolPath } from "../../e2e/tools.ts";
import type { Block } from "./blocks.ts";

/** What a long-running command prints once it is up (its log is awaited for it). */
const LONG_RUNNING: [RegExp, string][] = [
  // e2e/cluster.ts up prints this last, once the control plane (and the node, its image imported) is up.
  [/\bcluster(\.ts)?\s+(--\s+)?up\b/, "Ctrl-C stops it."],
  [/operator\/main\.(ts|js)\b/, "operator started"],
  [/sidecar\/main\.(ts|js)\b/, "gateway started"],
];

export interface BlockRunner {
  /** Runs `block`; the exit status and what it printed. */
  run(block: Block): { status: number | null; stdout: string; stderr: string };
  /** Stops every background command the blocks started (SIGTERM to each group) and waits until they have exited, 90 s at most. Never throws. */
  stop(): Promise<void>;
}

/**
 * A runner logging into `dir`; `replace` maps a path the docs name to one of the test's own, and
 * `env` is added to the environment (KUBECONFIG …; kubectl and helm are put on PATH).
 */
export const blockRunner = ({
  dir,
  replace = {},
  env = {},
}: {
  dir: string;
  replace?: Record<string, string>;
  env?: Record<string, string>;
}): BlockRunner => {
  const pids = join(dir, "pids");
  writeFileSync(pids, "");
  const prelude = `
set -euo pipefail
set -m
up() { # up NAME READY CMD...: run CMD in the background, logging to ${dir}/NAME.log, until READY
  local name="$1" ready="$2"; shift 2
  "$@" > "${dir}/$name.log" 2>&1 &
  echo $! >> "${pids}"
  for _ in $(seq 1 900); do
    grep -qF "$ready" "${dir}/$name.log" && return 0
    kill -0 $! 2>/dev/null || { echo "$name exited:"; tail -20 "${dir}/$name.log"; return 1; }
    sleep 0.2
  done
  echo "$name not up after 180 s"; tail -20 "${dir}/$name.log"; return 1
}
`;
  let count = 0;
  const rewrite = (code: string): string => {
    let text = code;
    for (const [from, to] of Object.entries(replace)) text = text.replaceAll(from, to);
    const index = count++;
    return text
      .split("\n")
      .map((line, n) => {
        // A comment after the command (`# dist/operator/main.js …`) says nothing about it.
        const command = line.replace(/\s#.*$/, "");
        const long = LONG_RUNNING.find(([re]) => re.test(command));
        return long ? `up block${index}-line${n} ${JSON.stringify(long[1])} ${line}` : line;
      })
      .join("\n");
  };
  return {
    run: (block) => {
      const res = spawnSync("bash", ["-c", prelude + rewrite(block.code)], {
        cwd: repoRoot,
        encoding: "utf8",
        // A reader of these docs has kubectl and helm on PATH.
        env: { ...process.env, PATH: `${dirname(toolPath("kubectl"))}:${process.env.PATH ?? ""}`, ...env },
        timeout: 300_000,
      });
      return { status: res.status, stdout: res.stdout, stderr: res.stderr };
    },
    stop: async () => {
      const started = readFileSync(pids, "utf8").split("\n").filter(Boolean).map(Number);
      const signal = (pid: number, sig: NodeJS.Signals | 0): boolean => {
        try {
          process.kill(-pid, sig);
          return true;
        } catch {
          return false;
        }
      };
      for (const pid of started) signal(pid, "SIGTERM");
      // A local node takes a few seconds to take itself down; wait for that, not longer than 90 s.
      for (let i = 0; i < 450 && started.some((pid) => signal(pid, 0)); i++)
        await new Promise((r) => setTimeout(r, 200));
      for (const pid of started) signal(pid, "SIGKILL");
    },
  };
};
