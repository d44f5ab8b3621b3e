// The etcd client both programs use, with optional TLS client certificates.
import { readFileSync } from "node:fs";
import { Etcd3 } from "etcd3";

export interface EtcdSettings {
  readonly etcd: readonly string[];
  readonly etcdTls: { ca?: string; cert?: string; key?: string };
}

/** An Etcd3 client for the configured endpoints; reads the TLS files now (throws if they are missing). */
export const etcdClient = ({ etcd, etcdTls: { ca, cert, key } }: EtcdSettings): Etcd3 =>
  new Etcd3({
    hosts: [...etcd],
    ...(ca || cert
      ? {
          credentials: {
            rootCertificate: ca ? readFileSync(ca) : Buffer.alloc(0),
            ...(cert && key ? { certChain: readFileSync(cert), privateKey: readFileSync(key) } : {}),
          },
        }
      : {}),
  });
