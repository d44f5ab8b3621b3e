// Certificates for the local control plane, made with the openssl CLI: one CA, serving
// certificates and client certificates (CN = user, O = group), all ECDSA P-256.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { run } from "./proc.ts";

export interface KeyPair {
  readonly cert: string;
  readonly key: string;
}

export interface CertRequest {
  /** File name stem inside the directory: `<name>.crt`, `<name>.key`. */
  name: string;
  commonName: string;
  organizations?: readonly string[];
  dnsNames?: readonly string[];
  ips?: readonly string[];
  usage: "server" | "client" | "both";
}

const config = (cn: string, orgs: readonly string[], ext: readonly string[]): string =>
  [
    "[req]",
    "distinguished_name = dn",
    "prompt = no",
    "[dn]",
    ...orgs.map((o, i) => `${i}.O = ${o}`),
    `CN = ${cn}`,
    "[ext]",
    ...ext,
    "",
  ].join("\n");

const newCert = async (dir: string, name: string, cfg: string, ca?: KeyPair): Promise<KeyPair> => {
  const cfgPath = join(dir, `${name}.cnf`);
  writeFileSync(cfgPath, cfg);
  const pair = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  const args = ["req", "-x509", "-new", "-config", cfgPath, "-extensions", "ext", "-newkey", "ec"];
  args.push("-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "365");
  args.push("-keyout", pair.key, "-out", pair.cert);
  if (ca) args.push("-CA", ca.cert, "-CAkey", ca.key);
  await run("openssl", args);
  return pair;
};

/** Creates a self-signed CA in `dir`. */
export const createCa = (dir: string, commonName = "switchboard-local-ca"): Promise<KeyPair> =>
  newCert(
    dir,
    "ca",
    config(
      commonName,
      [],
      ["basicConstraints = critical,CA:TRUE", "keyUsage = critical,keyCertSign,cRLSign"],
    ),
  );

/** Creates a certificate signed by `ca` in `dir`. */
export const createCert = (dir: string, ca: KeyPair, req: CertRequest): Promise<KeyPair> => {
  const eku = { server: "serverAuth", client: "clientAuth", both: "serverAuth,clientAuth" }[req.usage];
  const sans = [...(req.dnsNames ?? []).map((d) => `DNS:${d}`), ...(req.ips ?? []).map((ip) => `IP:${ip}`)];
  const ext = [
    "basicConstraints = critical,CA:FALSE",
    "keyUsage = critical,digitalSignature,keyEncipherment",
    `extendedKeyUsage = ${eku}`,
    ...(sans.length > 0 ? [`subjectAltName = ${sans.join(",")}`] : []),
  ];
  return newCert(dir, req.name, config(req.commonName, req.organizations ?? [], ext), ca);
};

/** Creates an ECDSA P-256 private key (PEM) at `path`, for signing service-account tokens. */
export const createSigningKey = async (path: string): Promise<string> => {
  await run("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", path]);
  return path;
};

/** The PEM text of a file, base64-encoded, as kubeconfig `*-data` fields want it. */
export const base64File = (path: string): string => readFileSync(path).toString("base64");
