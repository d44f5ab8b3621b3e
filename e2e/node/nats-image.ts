// The bundled NATS's image for the local node: the bootstrap's nats-server (a static Go binary)
// at the path the chart runs (/usr/local/bin/nats-server), built locally because Docker Hub
// cannot be reached.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { toolPath, toolsBinDir } from "../tools.ts";
import type { ImageSpec } from "./image.ts";

export const NATS_REPOSITORY = "localhost/switchboard/nats";

/** The nats-server version the bootstrap built (e.g. `v2.15.3`). */
export const natsVersion = (): string =>
  readFileSync(join(toolsBinDir(), "nats-server.version"), "utf8").trim();

/** The NATS image's spec: `localhost/switchboard/nats:<version>`, the binary alone. */
export const natsImage = (): ImageSpec => ({
  name: `${NATS_REPOSITORY}:${natsVersion()}`,
  files: { "usr/local/bin/nats-server": toolPath("nats-server") },
  entrypoint: ["/usr/local/bin/nats-server"],
});
