// Child processes for the local control plane and simulated pods: each runs in its own
// process group with its output in a log file, and every one still running is killed when
// this process exits: at its normal end, on an uncaught error, and on SIGINT, SIGTERM or SIGHUP
// (e.g. a test run stopped by `timeout`). Only SIGKILL of this process leaves them behind.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { closeSync, fstatSync, openSync, readdirSync, readFileSync } from "node:fs";

/**
 * A /proc stat file (`/proc/PID/stat`, `/proc/PID/task/TID/stat`; Linux only): the command name,
 * and the fields after it, from field 3 (state) on: field N is `fields[N - 3]`. The name is in
 * parentheses and may hold spaces and parentheses itself, so the fields start after the last ")".
 */
export const procStat = (path: string): { name: string; fields: string[] } => {
  const stat = readFileSync(path, "utf8");
  const close = stat.lastIndexOf(")");
  return { name: stat.slice(stat.indexOf("(") + 1, close), fields: stat.slice(close + 2).split(" ") };
};

/** Each thread of process `pid`: its name and nice value (field 19). */
export const threadsOf = (pid: number): { name: string; nice: number }[] =>
  readdirSync(`/proc/${pid}/task`).map((tid) => {
    const { name, fields } = procStat(`/proc/${pid}/task/${tid}/stat`);
    return { name, nice: Number(fields[16]) };
  });

export interface Proc {
  readonly name: string;
  readonly pid: number;
  readonly log: string;
  /** Where this process's output starts in `log`, in bytes: a log named again by a later start (a restart) is appended to. */
  readonly logFrom: number;
  /** Resolves with the exit code (or signal name) once the process has ended. */
  readonly exited: Promise<number | string>;
  /** Sends SIGTERM to the process group, then SIGKILL after `graceMs`; resolves once it ended. */
  stop(graceMs?: number): Promise<void>;
  /** The last `lines` lines of its log, for error messages. */
  tail(lines?: number): string;
}

const running = new Set<ChildProcess>();

const killGroup = (child: ChildProcess, signal: NodeJS.Signals): void => {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
};

const killAll = (): void => {
  for (const child of running) killGroup(child, "SIGKILL");
};
process.on("exit", killAll);

// A signal with no handler ends the process without an "exit" event. Programs that shut down
// gracefully on a signal (the cluster CLI, the demo) install their own handler; then this one
// stands aside and their "exit" still kills what is left.
const SIGNAL_NUMBERS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;
for (const [signal, number] of Object.entries(SIGNAL_NUMBERS)) {
  process.on(signal, () => {
    if (process.listenerCount(signal) > 1) return;
    killAll();
    process.exit(128 + number);
  });
}

/** Whether process `pid` exists. */
export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export interface StartOptions {
  name: string;
  command: string;
  args: readonly string[];
  log: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Starts a process in a new process group with stdout and stderr appended to `log`. */
export const start = ({ name, command, args, log, env, cwd }: StartOptions): Proc => {
  const fd = openSync(log, "a");
  const logFrom = fstatSync(fd).size;
  const child = spawn(command, args, {
    detached: true,
    stdio: ["ignore", fd, fd],
    env: env ?? process.env,
    ...(cwd === undefined ? {} : { cwd }),
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  const pid = child.pid;
  running.add(child);
  const exited = new Promise<number | string>((resolve) => {
    child.on("exit", (code, signal) => {
      running.delete(child);
      resolve(code ?? signal ?? "unknown");
    });
    child.on("error", (err) => {
      running.delete(child);
      resolve(err.message);
    });
  });
  const tail = (lines = 30): string => {
    try {
      return readFileSync(log, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "";
    }
  };
  const stop = async (graceMs = 5000): Promise<void> => {
    killGroup(child, "SIGTERM");
    const timer = setTimeout(() => killGroup(child, "SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  };
  return { name, pid, log, logFrom, exited, stop, tail };
};

/** Runs a command to completion; returns stdout, throws with stderr on a non-zero exit. */
export const run = async (
  command: string,
  args: readonly string[],
  { input, env }: { input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<string> => {
  const child = spawn(command, args, {
    stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    env: env ?? process.env,
  });
  let out = "";
  let err = "";
  if (!child.stdout || !child.stderr) throw new Error(`${command}: no output pipes`);
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    out += d;
  });
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    err += d;
  });
  if (child.stdin) {
    // A command may exit without reading its input; that shows in its exit code, not as EPIPE here.
    child.stdin.on("error", () => {});
    child.stdin.end(input);
  }
  const [code] = (await once(child, "close")) as [number | null];
  if (code !== 0) throw new Error(`${command} ${args.join(" ")} exited ${code}: ${err.trim() || out.trim()}`);
  return out;
};

/** Thrown from a `waitFor` check to stop waiting at once (the awaited thing can no longer happen). */
export class GiveUp extends Error {
  override name = "GiveUp";
}

/** Polls `check` every `intervalMs` until it returns a value other than undefined; throws after `timeoutMs`, or at once when `check` throws GiveUp. */
export const waitFor = async <T>(
  what: string,
  check: () => Promise<T | undefined>,
  { timeoutMs = 60_000, intervalMs = 100 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      if (err instanceof GiveUp) throw err;
      last = err;
    }
    if (Date.now() > deadline) {
      const why = last instanceof Error ? `: ${last.message}` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
};
