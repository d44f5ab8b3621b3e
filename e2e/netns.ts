// Network namespaces for simulated pods: each gets a veth pair and a /30 from 10.213.0.0/16, a
// range that exists only inside these namespaces, so its address is real, non-loopback and
// reachable from the root namespace (and from other pods through it). Slots are claimed with
// an atomic mkdir so that test processes running side by side never share one.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { alive, run } from "./proc.ts";

const SLOTS_DIR = "/run/switchboard/netns";
const MAX_SLOTS = 16_000;

export interface NetHost {
  /** Name of the network namespace (`ip netns`). */
  readonly netns: string;
  /** The pod's address inside the namespace. */
  readonly ip: string;
  /** The root namespace's end of the veth pair; the pod's default route. */
  readonly gateway: string;
  /** Prefix for a command to run inside the namespace: `[...exec, cmd, ...args]`. */
  readonly exec: readonly string[];
  /** Deletes the namespace (and with it the veth pair) and releases the slot. */
  remove(): Promise<void>;
}

const addressOf = (slot: number, host: number): string => {
  const n = slot * 4 + host;
  return `10.213.${(n >> 8) & 0xff}.${n & 0xff}`;
};

const claimSlot = async (): Promise<number> => {
  mkdirSync(SLOTS_DIR, { recursive: true });
  for (let slot = 1; slot < MAX_SLOTS; slot++) {
    const dir = join(SLOTS_DIR, String(slot));
    try {
      mkdirSync(dir);
    } catch {
      const owner = Number(readFileSyncSafe(join(dir, "pid")));
      if (owner > 0 && alive(owner)) continue;
      // A stale slot of a process that died without cleaning up: reclaim it.
      await run("ip", ["netns", "del", `sb-pod-${slot}`]).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
      try {
        mkdirSync(dir);
      } catch {
        continue;
      }
    }
    writeFileSync(join(dir, "pid"), String(process.pid));
    return slot;
  }
  throw new Error(`no free network-namespace slot under ${SLOTS_DIR}`);
};

const readFileSyncSafe = (path: string): string => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
};

/** Creates a network namespace with a veth link to the root namespace; needs root and iproute2. */
export const createNetHost = async (): Promise<NetHost> => {
  const slot = await claimSlot();
  const netns = `sb-pod-${slot}`;
  const hostIf = `sbh${slot}`;
  const podIf = `sbp${slot}`;
  const gateway = addressOf(slot, 1);
  const ip = addressOf(slot, 2);
  const release = async (): Promise<void> => {
    await run("ip", ["netns", "del", netns]).catch(() => {});
    await run("ip", ["link", "del", hostIf]).catch(() => {});
    rmSync(join(SLOTS_DIR, String(slot)), { recursive: true, force: true });
  };
  try {
    if (existsSync(`/run/netns/${netns}`)) await run("ip", ["netns", "del", netns]);
    await run("ip", ["netns", "add", netns]);
    await run("ip", ["link", "add", hostIf, "type", "veth", "peer", "name", podIf, "netns", netns]);
    await run("ip", ["addr", "add", `${gateway}/30`, "dev", hostIf]);
    await run("ip", ["link", "set", hostIf, "up"]);
    await run("ip", ["-n", netns, "addr", "add", `${ip}/30`, "dev", podIf]);
    await run("ip", ["-n", netns, "link", "set", podIf, "up"]);
    await run("ip", ["-n", netns, "link", "set", "lo", "up"]);
    await run("ip", ["-n", netns, "route", "add", "default", "via", gateway]);
  } catch (err) {
    await release();
    throw err;
  }
  return { netns, ip, gateway, exec: ["ip", "netns", "exec", netns], remove: release };
};
