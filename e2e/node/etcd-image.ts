// The bundled etcd's image for the local node: the bootstrap's etcd (a static Go binary) at the
// path the chart runs (/usr/local/bin/etcd), built locally because quay.io cannot be reached.

import { toolPath, toolsBinDir } from "../tools.ts";
import type { ImageSpec } from "./image.ts";

export const ETCD_REPOSITORY = "localhost/switchboard/etcd";

/** The etcd version the bootstrap built (from its cache directory's name, e.g. `v3.6.16`); throws when the name has none. */
export const etcdVersion = (): string => {
  const version = /etcd-(v\d+\.\d+\.\d+)/.exec(toolsBinDir())?.[1];
  if (version === undefined) throw new Error(`no etcd version in the tools directory ${toolsBinDir()}`);
  return version;
};

/** The etcd image's spec: `localhost/switchboard/etcd:<version>`, the binary alone (it needs no libraries). */
export const etcdImage = (): ImageSpec => ({
  name: `${ETCD_REPOSITORY}:${etcdVersion()}`,
  files: { "usr/local/bin/etcd": toolPath("etcd") },
  entrypoint: ["/usr/local/bin/etcd"],
});
