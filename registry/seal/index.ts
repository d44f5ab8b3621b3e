// Sealed records: a record's spec encrypted with its VPN's key, so that a reader holding one VPN's
// key (an injected sidecar) cannot read another VPN's function URLs, header secrets, filters or
// publisher token hashes, although etcd lets it list every key (docs/architecture.md, "Security
// model").
//
// Keys: one master key (32 random bytes) per deployment, shared by every cluster of a registry.
// Each VPN's key is derived from it (HKDF-SHA256, info "vpn/<name>"); the operator hands each
// VPN's key to the VPN's namespaces and the shared gateway holds the master key. From a VPN key
// two keys are derived: one for AES-256-GCM, one for the nonce.
//
// Sealing is deterministic: the 96-bit nonce is an HMAC of the associated data (the etcd key) and
// the plaintext (a synthetic IV). The same record under the same key always seals to the same
// text, which keeps the writer's "unchanged" comparison of encoded values, and a nonce is never
// reused with a different plaintext. What it reveals is only whether a record changed, which
// etcd's mod_revision reveals anyway. The etcd key is authenticated: a sealed value moved to
// another key does not open.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync } from "node:crypto";

/** The length of the master key and of each VPN key, in bytes. */
export const KEY_BYTES = 32;
const SALT = "switchboard.dev/registry/v1";
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const PREFIX = "v1.";

/** A VPN's sealing keys. */
export interface VpnKey {
  readonly vpn: string;
  readonly encryption: Buffer;
  readonly nonce: Buffer;
}

/** What a reader or writer of sealed records holds. */
export interface Keyring {
  /** The key of `vpn`'s records, or undefined when this holder has none. */
  forVpn(vpn: string): VpnKey | undefined;
  /** The one VPN this keyring opens (a sidecar's), or undefined when it opens every VPN (the master key). */
  readonly onlyVpn: string | undefined;
}

/** Thrown when a sealed value cannot be opened (wrong key, another key's value, or damage). */
export class SealError extends Error {
  override name = "SealError";
}

const derive = (secret: Buffer, info: string): Buffer =>
  Buffer.from(hkdfSync("sha256", secret, SALT, info, KEY_BYTES));

/** The secret of `vpn` derived from `master` (what the operator hands to the VPN's namespaces). */
export const vpnSecret = (master: Buffer, vpn: string): Buffer => derive(master, `vpn/${vpn}`);

const vpnKey = (vpn: string, secret: Buffer): VpnKey => ({
  vpn,
  encryption: derive(secret, "encryption"),
  nonce: derive(secret, "nonce"),
});

const checkLength = (what: string, key: Buffer): void => {
  if (key.length !== KEY_BYTES) throw new RangeError(`${what} must be ${KEY_BYTES} bytes, got ${key.length}`);
};

/** A keyring opening every VPN's records (operator, shared gateway); throws RangeError on a key of the wrong length. */
export const masterKeyring = (master: Buffer): Keyring => {
  checkLength("the master key", master);
  const cache = new Map<string, VpnKey>();
  return {
    onlyVpn: undefined,
    forVpn: (vpn) => {
      let key = cache.get(vpn);
      if (key === undefined) {
        key = vpnKey(vpn, vpnSecret(master, vpn));
        cache.set(vpn, key);
      }
      return key;
    },
  };
};

/** A keyring opening `vpn`'s records only (an injected sidecar); throws RangeError on a key of the wrong length. */
export const vpnKeyring = (vpn: string, secret: Buffer): Keyring => {
  checkLength(`the key of VPN ${vpn}`, secret);
  const key = vpnKey(vpn, secret);
  return { onlyVpn: vpn, forVpn: (name) => (name === vpn ? key : undefined) };
};

/** `plaintext` sealed under `key`, bound to `aad`: "v1." + base64url(nonce ‖ ciphertext ‖ tag). Deterministic. */
export const seal = (key: VpnKey, aad: string, plaintext: string): string => {
  const nonce = createHmac("sha256", key.nonce)
    .update(aad)
    .update("\0")
    .update(plaintext)
    .digest()
    .subarray(0, NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key.encryption, nonce);
  cipher.setAAD(Buffer.from(aad));
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
  return `${PREFIX}${Buffer.concat([nonce, body]).toString("base64url")}`;
};

/** The plaintext of `sealed`; throws SealError when it is malformed or does not open with `key` and `aad`. */
export const unseal = (key: VpnKey, aad: string, sealed: string): string => {
  if (!sealed.startsWith(PREFIX))
    throw new SealError(`unknown sealing format ${JSON.stringify(sealed.slice(0, 8))}`);
  const raw = Buffer.from(sealed.slice(PREFIX.length), "base64url");
  if (raw.length < NONCE_BYTES + TAG_BYTES) throw new SealError("sealed value too short");
  const decipher = createDecipheriv("aes-256-gcm", key.encryption, raw.subarray(0, NONCE_BYTES));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
  try {
    return Buffer.concat([
      decipher.update(raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES)),
      decipher.final(),
    ]).toString("utf8");
  } catch {
    throw new SealError(`does not open with the key of VPN ${key.vpn}`);
  }
};
