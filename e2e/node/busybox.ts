// A tiny image for pods on the local node: Debian's static busybox (a shell, wget, nslookup,
// httpd …) and nothing else, built locally, imported with no registry involved.
import type { ImageSpec } from "./image.ts";
import { ensurePackages } from "./packages.ts";

export const BUSYBOX_IMAGE = "localhost/switchboard/busybox:1";

const APPLETS = ["sh", "cat", "echo", "env", "hostname", "httpd", "ls", "nc", "nslookup", "sleep", "wget"];

/** The busybox image's spec (installs busybox-static when missing); throws apt-get's error. */
export const busyboxImage = async (): Promise<ImageSpec> => {
  await ensurePackages(["busybox-static"]);
  return {
    name: BUSYBOX_IMAGE,
    files: { "bin/busybox": "/bin/busybox" },
    links: Object.fromEntries(APPLETS.map((a) => [`bin/${a}`, "busybox"])),
    cmd: ["sh"],
  };
};
