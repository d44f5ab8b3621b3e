// A registry etcd as production runs it: TLS, client certificates (the certificate's CN is the
// etcd user), authentication on, and one role per cluster that may write only its own subtree.
//   role <cluster>: readwrite /switchboard/v1/clusters/<cluster>/, read /switchboard/v1/
//   role gateway:   read /switchboard/v1/
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Etcd3, Range } from "etcd3";
import { PRESENCE_PREFIX, presencePrefix } from "../registry/keys.ts";
import { createCa, createCert, type KeyPair } from "./pki.ts";
import { freePort } from "./ports.ts";
import { type Proc, start, waitFor } from "./proc.ts";
import { toolPath } from "./tools.ts";

export const REGISTRY_ROOT = "/switchboard/v1/";
export const clusterSubtree = (cluster: string): string => `${REGISTRY_ROOT}clusters/${cluster}/`;

export interface SecureEtcd {
  readonly url: string;
  readonly ca: KeyPair;
  /** A client whose certificate's CN is `user`. */
  client(user: string): Etcd3;
  /** The certificate and key files of `user` (created on demand). */
  credentials(user: string): Promise<KeyPair>;
  readonly proc: Proc;
  stop(): Promise<void>;
}

/** Starts etcd with TLS and client-certificate auth in `dir`, creates the roles for `clusters`, and enables auth (unless `auth` is false: TLS and client certificates only). */
export const startSecureEtcd = async (
  dir: string,
  clusters: readonly string[],
  { auth = true }: { auth?: boolean } = {},
): Promise<SecureEtcd> => {
  const pki = join(dir, "etcd-pki");
  mkdirSync(pki, { recursive: true });
  const ca = await createCa(pki, "switchboard-registry-ca");
  const server = await createCert(pki, ca, {
    name: "server",
    commonName: "etcd",
    dnsNames: ["localhost"],
    ips: ["127.0.0.1"],
    usage: "both",
  });
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const url = `https://127.0.0.1:${clientPort}`;
  const data = join(dir, "secure-etcd");
  mkdirSync(data, { recursive: true });
  const proc = start({
    name: "secure etcd",
    command: toolPath("etcd"),
    args: [
      "--name=registry",
      `--data-dir=${data}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=registry=http://127.0.0.1:${peerPort}`,
      `--cert-file=${server.cert}`,
      `--key-file=${server.key}`,
      `--trusted-ca-file=${ca.cert}`,
      "--client-cert-auth",
      "--unsafe-no-fsync",
      "--log-level=warn",
    ],
    log: join(dir, "secure-etcd.log"),
  });
  const certs = new Map<string, KeyPair>();
  const credentials = async (user: string): Promise<KeyPair> => {
    let pair = certs.get(user);
    if (!pair) {
      pair = await createCert(pki, ca, { name: `user-${user}`, commonName: user, usage: "client" });
      certs.set(user, pair);
    }
    return pair;
  };
  const clientFor = (pair: KeyPair): Etcd3 =>
    new Etcd3({
      hosts: url,
      credentials: {
        rootCertificate: readFileSync(ca.cert),
        certChain: readFileSync(pair.cert),
        privateKey: readFileSync(pair.key),
      },
    });
  for (const user of ["root", "gateway", "sidecar", ...clusters]) await credentials(user);
  const rootPair = certs.get("root");
  if (!rootPair) throw new Error("no root certificate");
  const root = clientFor(rootPair);
  try {
    await waitFor(
      "secure etcd to answer",
      async () => ((await root.get("/").string()) === null ? true : undefined),
      { timeoutMs: 30_000 },
    );
    // With client-cert-auth, users authenticate by certificate; the passwords are never used.
    await root.user("root").create(`unused-${Math.random()}`);
    await root.user("root").addRole("root");
    for (const cluster of clusters) {
      const role = await root.role(cluster).create();
      await role.grant([
        { permission: "Readwrite", range: Range.prefix(clusterSubtree(cluster)) },
        { permission: "Read", range: Range.prefix(REGISTRY_ROOT) },
        { permission: "Read", range: Range.prefix(presencePrefix(cluster)) },
      ]);
      await root.user(cluster).create(`unused-${Math.random()}`);
      await root.user(cluster).addRole(cluster);
    }
    const gatewayRole = await root.role("gateway").create();
    await gatewayRole.grant([
      { permission: "Read", range: Range.prefix(REGISTRY_ROOT) },
      { permission: "Readwrite", range: Range.prefix(PRESENCE_PREFIX) },
    ]);
    await root.user("gateway").create(`unused-${Math.random()}`);
    await root.user("gateway").addRole("gateway");
    const sidecarRole = await root.role("sidecar").create();
    await sidecarRole.grant({ permission: "Read", range: Range.prefix(REGISTRY_ROOT) });
    await root.user("sidecar").create(`unused-${Math.random()}`);
    await root.user("sidecar").addRole("sidecar");
    if (auth) await root.auth.authEnable();
  } finally {
    root.close();
  }
  return {
    url,
    ca,
    client: (user) => {
      const pair = certs.get(user);
      if (!pair) throw new Error(`no certificate for ${user}; call credentials("${user}") first`);
      return clientFor(pair);
    },
    credentials,
    proc,
    stop: () => proc.stop(),
  };
};
