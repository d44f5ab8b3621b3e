// A real etcd server from the bootstrap cache, on free loopback ports.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "./ports.ts";
import { type Proc, start, waitFor } from "./proc.ts";
import { toolPath } from "./tools.ts";

export interface Etcd {
  /** Client URL, `http://127.0.0.1:PORT`. */
  readonly url: string;
  readonly dataDir: string;
  readonly proc: Proc;
  stop(): Promise<void>;
}

export interface EtcdOptions {
  name?: string;
  /** Fixed ports (e.g. to restart on the same address); free ones when absent. */
  clientPort?: number;
  peerPort?: number;
}

/** Starts etcd with its data in `dir/<name>` and waits until it answers `/health`; throws with its log tail otherwise. */
export const startEtcd = async (
  dir: string,
  { name = "etcd", clientPort, peerPort }: EtcdOptions = {},
): Promise<Etcd> => {
  const url = `http://127.0.0.1:${clientPort ?? (await freePort())}`;
  const peer = `http://127.0.0.1:${peerPort ?? (await freePort())}`;
  const dataDir = join(dir, name);
  mkdirSync(dataDir, { recursive: true });
  const proc = start({
    name,
    command: toolPath("etcd"),
    args: [
      `--name=${name}`,
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=${name}=${peer}`,
      // Tests only: no fsync. Never use this flag in production.
      "--unsafe-no-fsync",
      "--log-level=warn",
    ],
    log: join(dir, `${name}.log`),
  });
  const exitedEarly = proc.exited.then((code) => {
    throw new Error(`etcd exited (${code}) before it was healthy:\n${proc.tail()}`);
  });
  await Promise.race([
    waitFor(`etcd at ${url}`, async () => {
      const res = await fetch(`${url}/health`);
      const body = (await res.json()) as { health?: string };
      return body.health === "true" ? true : undefined;
    }),
    exitedEarly,
  ]);
  exitedEarly.catch(() => {});
  return { url, dataDir, proc, stop: () => proc.stop() };
};
