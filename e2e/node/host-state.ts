// What a node may change on the machine, read as one comparable value, so a test can show that
// the machine is as before after a node's lifetime. Things other test processes change at the
// same time (their network namespaces and veths, mounts under other directories) are left out.
import { existsSync } from "node:fs";
import { run } from "../proc.ts";
import { readSysctls } from "./sysctls.ts";
import { cgroupRoots, mountPoints, OUTSIDE, processesUsing } from "./teardown.ts";

export interface HostState {
  readonly processes: readonly number[];
  readonly mounts: readonly string[];
  readonly links: readonly string[];
  readonly ruleset: string;
  readonly sysctls: Readonly<Record<string, string>>;
  readonly cgroups: readonly string[];
  readonly paths: readonly string[];
}

/** Mounts and links that the netns kit (e2e/netns.ts) of other test files makes meanwhile. */
const othersMount = (m: string, dir: string): boolean =>
  m.startsWith("/run/netns/sb-pod-") || (m.startsWith("/work/") && !m.startsWith(dir));
const othersLink = (l: string): boolean => /^sb[hp]\d+$/.test(l);

/** The machine's state as far as a node living in `dir` could change it. */
export const hostState = async (dir: string): Promise<HostState> => {
  const links = await run("ip", ["-o", "link", "show"]);
  return {
    processes: processesUsing(dir),
    mounts: mountPoints()
      .filter((m) => !othersMount(m, dir))
      .sort(),
    links: [...links.matchAll(/^\d+: ([^@:]+)/gm)]
      .map((m) => m[1] ?? "")
      .filter((l) => !othersLink(l))
      .sort(),
    ruleset: existsSync("/usr/sbin/nft") ? await run("nft", ["list", "ruleset"]) : "",
    sysctls: readSysctls(),
    cgroups: cgroupRoots(),
    paths: Object.keys(OUTSIDE).filter((p) => existsSync(p)),
  };
};
