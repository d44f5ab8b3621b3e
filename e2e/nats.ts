// A real NATS JetStream cluster on loopback for tests: N nats-server processes (built by
// scripts/bootstrap.sh) routed to each other, JetStream on each, every port free, data under the
// test's directory. Members can be killed (-9) and restarted on the same data to test durability.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "./ports.ts";
import { type Proc, start, waitFor } from "./proc.ts";
import { toolPath } from "./tools.ts";

export interface NatsCluster {
  /** nats://127.0.0.1:PORT of every member, for clients. */
  readonly urls: readonly string[];
  /** Kills member `i` at once (SIGKILL), like a crashed node. */
  kill(i: number): Promise<void>;
  /** Starts member `i` again on its data and waits until the cluster is healthy. */
  restart(i: number): Promise<void>;
  /** Stops every member. */
  stop(): Promise<void>;
}

interface Member {
  name: string;
  port: number;
  clusterPort: number;
  httpPort: number;
  config: string;
  proc?: Proc;
}

/** Resolves once member `m`'s monitoring endpoint says it is healthy (JetStream current). */
const healthy = (m: Member): Promise<true> =>
  waitFor(
    `nats member ${m.name} to be healthy`,
    async () => {
      const res = await fetch(`http://127.0.0.1:${m.httpPort}/healthz`).catch(() => undefined);
      return res?.ok ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );

export interface NatsOptions {
  dir: string;
  /** Members: 3 for replicated streams. */
  size?: number;
  /** Clients must connect with TLS to this server certificate (URLs become tls://). */
  tls?: { cert: string; key: string };
  /** Clients must authenticate as one of these users. */
  users?: readonly { user: string; password: string }[];
  /** The members' client ports (default free ones): a server started where a client already waits. */
  clientPorts?: readonly number[];
}

/** Starts a JetStream cluster of `size` members in `dir`. */
export const startNatsCluster = async ({
  dir,
  size = 3,
  tls,
  users,
  clientPorts,
}: NatsOptions): Promise<NatsCluster> => {
  const members: Member[] = [];
  for (let i = 0; i < size; i++)
    members.push({
      name: `n${i + 1}`,
      port: clientPorts?.[i] ?? (await freePort()),
      clusterPort: await freePort(),
      httpPort: await freePort(),
      config: join(dir, `nats-n${i + 1}.conf`),
    });
  for (const m of members) {
    const store = join(dir, `nats-${m.name}`);
    mkdirSync(store, { recursive: true });
    const routes = members
      .filter((o) => o !== m)
      .map((o) => `nats-route://127.0.0.1:${o.clusterPort}`)
      .join(", ");
    writeFileSync(
      m.config,
      `server_name: ${m.name}
listen: 127.0.0.1:${m.port}
http: 127.0.0.1:${m.httpPort}
jetstream { store_dir: "${store}", max_memory_store: 64MB, max_file_store: 4GB }
${tls ? `tls { cert_file: "${tls.cert}", key_file: "${tls.key}" }` : ""}
${users ? `authorization { users: [${users.map((u) => `{ user: "${u.user}", password: "${u.password}" }`).join(", ")}] }` : ""}
${size > 1 ? `cluster { name: switchboard, listen: 127.0.0.1:${m.clusterPort}, routes: [${routes}] }` : ""}
`,
    );
  }
  const launch = (m: Member): void => {
    m.proc = start({
      name: `nats ${m.name}`,
      command: toolPath("nats-server"),
      args: ["-c", m.config],
      log: join(dir, `nats-${m.name}.log`),
    });
  };
  for (const m of members) launch(m);
  await Promise.all(members.map(healthy));
  const member = (i: number): Member => {
    const m = members[i];
    if (!m) throw new RangeError(`no member ${i}`);
    return m;
  };
  return {
    urls: members.map((m) => `${tls ? "tls" : "nats"}://127.0.0.1:${m.port}`),
    kill: async (i) => {
      const m = member(i);
      await m.proc?.stop(0);
    },
    restart: async (i) => {
      const m = member(i);
      launch(m);
      await Promise.all(members.map(healthy));
    },
    stop: async () => {
      await Promise.all(members.map((m) => m.proc?.stop()));
    },
  };
};
