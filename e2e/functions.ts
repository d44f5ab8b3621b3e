// Function servers for tests: real HTTP servers on loopback whose answers a test scripts per
// request, recording what they received.
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface Answer {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface FunctionServer {
  readonly url: string;
  readonly received: Received[];
  /** Resolves once `n` requests have arrived (or rejects after `timeoutMs`). */
  waitFor(n: number, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

/** Starts a function server; `answer(request, index)` decides each response (default 200 "ok"); on a free port unless `port` says (a function back up). */
export const startFunction = async (
  answer: (req: Received, index: number) => Answer | Promise<Answer> = () => ({}),
  { port: wanted = 0 }: { port?: number } = {},
): Promise<FunctionServer> => {
  const received: Received[] = [];
  const waiters: { n: number; resolve: (r: Received[]) => void }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const r: Received = {
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        at: Date.now(),
      };
      received.push(r);
      for (const w of waiters.filter((w) => received.length >= w.n)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(received.slice());
      }
      void Promise.resolve(answer(r, received.length - 1)).then((a) => {
        res.writeHead(a.status ?? 200, a.headers ?? {});
        res.end(a.body ?? "ok");
      });
    });
  });
  await new Promise<void>((r) => server.listen(wanted, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    waitFor: (n, timeoutMs = 30_000) =>
      received.length >= n
        ? Promise.resolve(received.slice())
        : new Promise((resolve, reject) => {
            const timer = setTimeout(
              () =>
                reject(new Error(`function at port ${port} got ${received.length} requests, expected ${n}`)),
              timeoutMs,
            );
            waiters.push({
              n,
              resolve: (r) => {
                clearTimeout(timer);
                resolve(r);
              },
            });
          }),
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
};
