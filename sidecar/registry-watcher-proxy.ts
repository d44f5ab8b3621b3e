// A TCP proxy for the registry watcher's fault tests: clients connect to it instead of etcd, and
// the test cuts every connection and refuses new ones while etcd stays reachable directly, so
// that it can change etcd while the watcher cannot see it. Only forwarding; nothing of etcd's
// protocol is imitated.
import { connect, createServer, type Socket } from "node:net";

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
  const server = createServer((downstream) => {
    track(downstream);
    if (blocked) {
      downstream.destroy();
      return;
    }
    const upstream = connect(targetPort, "127.0.0.1");
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
