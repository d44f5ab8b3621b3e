// The ports dev mode binds on the user's behalf, checked before anything starts, so a busy one is
// one line naming the port and the flag to choose another.
import { createServer } from "node:net";
import { DevUsageError } from "./flags.ts";

/** A port dev mode will bind on 127.0.0.1, what binds it, and the flag that chooses it. */
export interface WantedPort {
  readonly port: number;
  readonly what: string;
  readonly flag: string;
}

const tryBind = (port: number): Promise<NodeJS.ErrnoException | undefined> =>
  new Promise((resolve) => {
    const server = createServer();
    server.once("error", (err: NodeJS.ErrnoException) => resolve(err));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => server.close(() => resolve(undefined)));
  });

/** The one-line message for `wanted` failing to bind with `code`. */
export const portMessage = (wanted: WantedPort, code: string | undefined): string =>
  code === "EADDRINUSE"
    ? `port ${wanted.port} (${wanted.what}) is already in use on 127.0.0.1: choose another with ${wanted.flag} PORT (0 picks a free one)`
    : `port ${wanted.port} (${wanted.what}) cannot be bound on 127.0.0.1 (${code ?? "unknown error"}): choose another with ${wanted.flag} PORT`;

/** Resolves when every non-zero port can be bound now; throws DevUsageError for the first that cannot. */
export const checkPorts = async (ports: readonly WantedPort[]): Promise<void> => {
  for (const wanted of ports) {
    if (wanted.port === 0) continue;
    const err = await tryBind(wanted.port);
    if (err) throw new DevUsageError(portMessage(wanted, err.code));
  }
};
