// What the gRPC and HTTP registry clients share about etcd's endpoints: their URLs checked and
// reduced to origins, the TLS files read once, and the network errors that say an endpoint could
// not be reached at all (so that the next one may be tried).
import { readFileSync } from "node:fs";

/** The origins of `endpoints`, in order; throws TypeError when there is none or one is not http(s). */
export const endpointOrigins = (endpoints: readonly string[]): string[] => {
  if (endpoints.length === 0) throw new TypeError("no etcd endpoint");
  return endpoints.map((endpoint) => {
    const url = new URL(endpoint);
    if (url.protocol !== "http:" && url.protocol !== "https:")
      throw new TypeError(`etcd endpoint ${endpoint} is not http:// or https://`);
    return url.origin;
  });
};

/** Paths of PEM files: the CA that signed etcd's certificate, this client's certificate and key. */
export interface TlsFiles {
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
}

/** The PEM contents of the files given; throws if one is missing. */
export const readTlsFiles = (tls: TlsFiles): { ca?: Buffer; cert?: Buffer; key?: Buffer } => ({
  ...(tls.ca ? { ca: readFileSync(tls.ca) } : {}),
  ...(tls.cert ? { cert: readFileSync(tls.cert) } : {}),
  ...(tls.key ? { key: readFileSync(tls.key) } : {}),
});

/** Socket and DNS error codes that say the endpoint could not be reached at all. */
export const UNREACHABLE_CODES = [
  "ECONNREFUSED",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
] as const;
