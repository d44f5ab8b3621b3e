// One node per machine: its bridge, pod range and ports are fixed. The lock is a directory made
// atomically under /run; its state file names the owner's pid, the node's directory and the
// machine's state read before the node changed it, so a node whose process died can be torn
// down (and the kernel settings restored) by the next one.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { alive } from "../proc.ts";
import type { HostBaseline } from "./teardown.ts";

export const LOCK_DIR = "/run/switchboard/node";

export interface NodeLockState {
  readonly pid: number;
  /** The node's directory (containerd root and state, kubelet root, logs). */
  readonly dir: string;
  /** The machine as it was before the node started; absent until it has been read. */
  readonly baseline?: HostBaseline;
}

/** Thrown when another live process holds the node lock. */
export class NodeBusyError extends Error {
  override name = "NodeBusyError";
}

const statePath = join(LOCK_DIR, "state.json");

const readState = (): NodeLockState | undefined => {
  try {
    return JSON.parse(readFileSync(statePath, "utf8")) as NodeLockState;
  } catch {
    return undefined;
  }
};

const busy = (owner: NodeLockState): NodeBusyError =>
  new NodeBusyError(
    `another local node is running on this machine (pid ${owner.pid}, directory ${owner.dir}); ` +
      "there can be one node per machine: stop it first (Ctrl-C its `cluster up --node`)",
  );

/** Throws NodeBusyError when a live process holds the node lock (a check before slow work; the lock itself is taken by acquireNodeLock). */
export const assertNodeFree = (): void => {
  const owner = readState();
  if (owner && alive(owner.pid)) throw busy(owner);
};

/**
 * Takes the machine-wide node lock for a node in `dir`. Returns the state of a previous owner
 * that died without tearing down (the caller cleans up after it first), or undefined. Throws
 * NodeBusyError when a live process holds it.
 */
export const acquireNodeLock = (dir: string): NodeLockState | undefined => {
  mkdirSync(join(LOCK_DIR, ".."), { recursive: true });
  let stale: NodeLockState | undefined;
  try {
    mkdirSync(LOCK_DIR);
  } catch (err) {
    if (!(err instanceof Error && "code" in err && err.code === "EEXIST")) throw err;
    const owner = readState();
    if (owner && alive(owner.pid)) throw busy(owner);
    stale = owner;
  }
  // Until the new baseline is recorded, a dead owner's directory and baseline are what a later
  // cleanup needs (if cleaning up after it fails now).
  writeFileSync(statePath, JSON.stringify({ ...stale, pid: process.pid, dir: stale?.dir ?? dir }));
  return stale;
};

/** Records the machine's state before the node changes it, next to the lock. */
export const recordBaseline = (dir: string, baseline: HostBaseline): void => {
  writeFileSync(statePath, JSON.stringify({ pid: process.pid, dir, baseline }));
};

/** Releases the lock if this process holds it. */
export const releaseNodeLock = (): void => {
  if (readState()?.pid === process.pid) rmSync(LOCK_DIR, { recursive: true, force: true });
};
