// The webhook's serving certificate from PEM files (e.g. a mounted Secret), checked before use:
// it must parse, match its key and not be expired. The server re-reads the files to follow
// Secret updates (kubelet swaps the files in place) without a restart.
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { errorMessage } from "../../common/errors.ts";

export interface ServingCert {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly notAfter: Date;
}

/** Reads and checks a certificate (chain) and its private key; throws an Error naming the problem. */
export const readServingCert = (certFile: string, keyFile: string, now = new Date()): ServingCert => {
  const cert = readFileSync(certFile);
  const key = readFileSync(keyFile);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new Error(`${certFile}: not a PEM certificate (${errorMessage(err)})`);
  }
  let matches: boolean;
  try {
    matches = x509.checkPrivateKey(createPrivateKey(key));
  } catch (err) {
    throw new Error(`${keyFile}: not a PEM private key (${errorMessage(err)})`);
  }
  if (!matches) throw new Error(`${keyFile} is not the private key of ${certFile}`);
  const notAfter = new Date(x509.validTo);
  if (notAfter <= now) throw new Error(`${certFile} expired at ${notAfter.toISOString()}`);
  return { cert, key, notAfter };
};

/** Whether two reads hold the same files. */
export const sameCert = (a: ServingCert, b: ServingCert): boolean =>
  a.cert.equals(b.cert) && a.key.equals(b.key);
