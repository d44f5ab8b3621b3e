// Fault tools for the registry watcher's tests: an etcd of a test's own that it can kill,
// freeze and restart on the same address (or replace by an empty one), and a TCP proxy that
// cuts the watcher off from etcd while the test still reaches etcd directly. The proxy only
// forwards bytes; nothing of etcd's protocol is imitated.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { join } from "node:path";
import { type Etcd, startEtcd } from "../../e2e/etcd.ts";
import { cleanup } from "../../e2e/harness.ts";
import { freePort } from "../../e2e/ports.ts";
import { repoRoot } from "../../e2e/tools.ts";

export interface OwnEtcd {
  /** Client URL; the same across restarts. */
  readonly url: string;
  /** Starts etcd (again) on the same ports; `fresh` gives it an empty data directory. */
  start(fresh?: boolean): Promise<void>;
  /** Kills etcd at once (SIGKILL), as a crash would. */
  kill(): Promise<void>;
  /** Freezes etcd (SIGSTOP): connections stay open but nothing answers, as with a hung host. */
  pause(): void;
  /** Lets a paused etcd go on (SIGCONT). */
  resume(): void;
}

/** An etcd of this test alone, in a directory under .work (removed when the process exits cleanly). */
export const ownEtcd = async (): Promise<OwnEtcd> => {
  mkdirSync(join(repoRoot, ".work"), { recursive: true });
  const dir = mkdtempSync(join(repoRoot, ".work", "watcher-etcd-"));
  // Clients need the same address after a restart; the peer port does not (one member), and taking
  // a free one at each start keeps a port another test took meanwhile from failing the restart.
  const clientPort = await freePort();
  let proc: Etcd | undefined;
  let generation = 0;
  const kill = async (): Promise<void> => {
    await proc?.proc.stop(0);
    proc = undefined;
  };
  const signalEtcd = (signal: NodeJS.Signals): void => {
    if (proc === undefined) throw new Error("etcd is not running");
    process.kill(proc.proc.pid, signal);
  };
  cleanup(kill);
  process.on("exit", (code) => {
    if (code === 0 && (process.exitCode ?? 0) === 0) rmSync(dir, { recursive: true, force: true });
  });
  return {
    url: `http://127.0.0.1:${clientPort}`,
    start: async (fresh = false) => {
      if (fresh) generation++;
      proc = await startEtcd(join(dir, `gen-${generation}`), { clientPort });
    },
    kill,
    pause: () => signalEtcd("SIGSTOP"),
    resume: () => signalEtcd("SIGCONT"),
  };
};

export interface TcpProxy {
  /** `http://127.0.0.1:PORT`, to give the client instead of etcd's URL. */
  readonly url: string;
  /** Closes every open connection and refuses new ones until unblock(). */
  block(): void;
  unblock(): void;
  close(): Promise<void>;
}

/** Starts a proxy on a free loopback port forwarding every connection to 127.0.0.1:`targetPort`. */
export const startTcpProxy = async (targetPort: number): Promise<TcpProxy> => {
  const open = new Set<Socket>();
  let blocked = false;
  const track = (socket: Socket): void => {
    open.add(socket);
    socket.on("close", () => open.delete(socket));
    socket.on("error", () => socket.destroy());
  };
  // No Nagle on either side, as etcd and gRPC have none: a proxy that coalesces small writes
  // meets delayed ACKs and adds ~40 ms to many responses (a 100k-key listing took 10 s, not 1).
  const server = createServer({ noDelay: true }, (downstream) => {
    track(downstream);
    if (blocked) {
      downstream.destroy();
      return;
    }
    const upstream = connect({ port: targetPort, host: "127.0.0.1", noDelay: true });
    track(upstream);
    downstream.pipe(upstream);
    upstream.pipe(downstream);
    // A connection is cut as a whole: either side closing or failing closes the other.
    upstream.on("close", () => downstream.destroy());
    downstream.on("close", () => upstream.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("the proxy has no TCP address");
  const block = (): void => {
    blocked = true;
    for (const socket of open) socket.destroy();
  };
  return {
    url: `http://127.0.0.1:${address.port}`,
    block,
    unblock: () => {
      blocked = false;
    },
    close: async () => {
      block();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
