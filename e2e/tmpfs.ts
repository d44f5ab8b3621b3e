// A small file system of the test's own: a tmpfs of a given size mounted on a fresh directory
// (root only), unmounted when the test file ends. Used to fill a disk for real.
import { mkdirSync } from "node:fs";
import { cleanup } from "./harness.ts";
import { run } from "./proc.ts";

/** Mounts a tmpfs of `bytes` on `dir` (created if missing); unmounted at the end of the file. Throws the mount error. */
export const mountTmpfs = async (dir: string, bytes: number): Promise<string> => {
  mkdirSync(dir, { recursive: true });
  await run("mount", ["-t", "tmpfs", "-o", `size=${bytes},mode=0700`, "tmpfs", dir]);
  cleanup(async () => {
    await run("umount", ["-l", dir]).catch(() => {});
  });
  return dir;
};
