// The API server listens on 127.0.0.1 only, which pods cannot reach. A TCP forwarder on the node
// IP (same port) hands pods' connections to it unchanged (TLS passes through, so the API server
// still sees each client's certificate or token); the `kubernetes` Service points at it.
import { createConnection, createServer, type Server, type Socket } from "node:net";

export interface Forwarder {
  close(): Promise<void>;
}

/** Listens on `host:port` and pipes each connection to `127.0.0.1:targetPort`. Throws the listen error. */
export const forwardTcp = async (host: string, port: number, targetPort: number): Promise<Forwarder> => {
  const sockets = new Set<Socket>();
  const track = (s: Socket): void => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => s.destroy());
  };
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: "127.0.0.1", port: targetPort });
    track(client);
    track(upstream);
    client.pipe(upstream).pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
};
