// The key files the programs read at start: the master key (operator, shared gateway) and one
// VPN's key (an injected sidecar, from the Secret the operator puts in each of the VPN's
// namespaces).
import { readFileSync } from "node:fs";
import { isDnsSubdomain } from "../keys.ts";
import { KEY_BYTES, type Keyring, masterKeyring, vpnKeyring } from "./index.ts";

/** The name of the Secret the operator keeps in each member namespace of a VPN, and its one data key. */
export const VPN_KEY_SECRET = "switchboard-vpn-key";
export const VPN_KEY_FILE = "vpn-key.json";
/** The label on that Secret naming the VPN (so the operator only ever replaces or deletes its own). */
export const VPN_KEY_LABEL = "switchboard.dev/vpn-key";

const base64Key = (what: string, text: string): Buffer => {
  const bytes = /^[A-Za-z0-9+/_-]+={0,2}$/.test(text) ? Buffer.from(text, "base64") : Buffer.alloc(0);
  if (bytes.length !== KEY_BYTES)
    throw new Error(`${what} must hold ${KEY_BYTES} random bytes in base64 (e.g. openssl rand -base64 32)`);
  return bytes;
};

/** The master key in `path` (base64 text of 32 bytes); throws an Error saying what is wrong with the file. */
export const readMasterKey = (path: string): Buffer =>
  base64Key(`the registry key file ${path}`, readFileSync(path, "utf8").trim());

/** The content of a VPN key file: `{"vpn": NAME, "key": BASE64}`. */
export const vpnKeyFileContent = (vpn: string, secret: Buffer): string =>
  JSON.stringify({ vpn, key: secret.toString("base64") });

/** The keyring of the VPN key file `text`; throws an Error saying what is wrong with it. */
export const parseVpnKeyFile = (path: string, text: string): Keyring => {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`the VPN key file ${path} is not JSON`);
  }
  const vpn = json !== null && typeof json === "object" && "vpn" in json ? json.vpn : undefined;
  const key = json !== null && typeof json === "object" && "key" in json ? json.key : undefined;
  if (typeof vpn !== "string" || !isDnsSubdomain(vpn) || typeof key !== "string")
    throw new Error(`the VPN key file ${path} must be {"vpn": NAME, "key": BASE64}`);
  return vpnKeyring(vpn, base64Key(`the VPN key file ${path}`, key));
};

/** The keyring the key files give: the master key's, one VPN's, or undefined (records unsealed). Throws on an unreadable file. */
export const loadKeyring = (files: {
  registryKeyFile: string | undefined;
  vpnKeyFile: string | undefined;
}): Keyring | undefined => {
  if (files.registryKeyFile !== undefined) return masterKeyring(readMasterKey(files.registryKeyFile));
  if (files.vpnKeyFile !== undefined)
    return parseVpnKeyFile(files.vpnKeyFile, readFileSync(files.vpnKeyFile, "utf8"));
  return undefined;
};
