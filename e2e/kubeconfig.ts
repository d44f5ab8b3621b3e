import { writeFileSync } from "node:fs";
import { stringify } from "yaml";
import { base64File, type KeyPair } from "./pki.ts";

/** Writes a kubeconfig for `server` authenticating with a client certificate; returns its path. */
export const writeKubeconfig = (
  path: string,
  server: string,
  caCert: string,
  client: KeyPair,
  name = "local",
): string => {
  const doc = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name, cluster: { server, "certificate-authority-data": base64File(caCert) } }],
    users: [
      {
        name,
        user: {
          "client-certificate-data": base64File(client.cert),
          "client-key-data": base64File(client.key),
        },
      },
    ],
    contexts: [{ name, context: { cluster: name, user: name, namespace: "default" } }],
    "current-context": name,
  };
  writeFileSync(path, stringify(doc), { mode: 0o600 });
  return path;
};
