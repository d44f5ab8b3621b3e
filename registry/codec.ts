// Records to and from etcd values. Encoding is canonical JSON (object keys sorted at every level,
// arrays kept in order, no whitespace), so equal records give equal strings and the writer can
// tell "unchanged" by comparing them. Decoding trusts nothing: UTF-8, JSON, schema version,
// every field (./schema.ts) and the agreement of the value with its key (cluster, kind, names).
// Cluster heartbeats (the value of a heartbeat key) are encoded and decoded the same way.
//
// With a keyring, a record is sealed (./seal/index.ts): the stored value keeps the envelope
// (schema, kind, vpn, owner) in clear, and `sealed` replaces `spec` with the spec's canonical JSON
// encrypted under the VPN's key and bound to the etcd key. Readers open it with their keyring;
// a reader limited to one VPN skips every other VPN's record unread. Unsealed records stay
// readable by everyone (dev mode, or a registry written before sealing was turned on: the operator
// rewrites them sealed on its next sync).
import * as v from "valibot";
import { errorMessage } from "../common/errors.ts";
import { InvalidRecordError, NotThisReadersVpnError, RegistryDecodeError } from "./errors.ts";
import { explainKey, isRecordKey, type ParsedKey, type RecordKeyParts, recordKey } from "./keys.ts";
import { heartbeatSchema, recordSchema } from "./schema.ts";
import { type Keyring, SealError, seal, unseal } from "./seal/index.ts";
import { type HeartbeatRecord, type RegistryRecord, SCHEMA_VERSION } from "./types.ts";

/** The largest encoded record accepted (etcd refuses requests above ~1.5 MiB by default). */
export const MAX_RECORD_BYTES = 1024 * 1024;

const utf8 = new TextDecoder("utf-8", { fatal: true });

const byCodePoint = ([a]: [string, unknown], [b]: [string, unknown]): number => (a < b ? -1 : a > b ? 1 : 0);

/** JSON with every object's keys in sorted order: the same value always gives the same string. */
export const canonicalJson = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(byCodePoint))
      : v,
  );

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `spec.filters[0].exact`, `spec.headers["x-team"]`: a field path as one would write it in JavaScript. */
const pathOf = (path: readonly PropertyKey[]): string =>
  path
    .map((p, i) => {
      if (typeof p === "string" && IDENTIFIER.test(p)) return i === 0 ? p : `.${p}`;
      return `[${typeof p === "number" ? p : JSON.stringify(String(p))}]`;
    })
    .join("");

const firstIssue = (issues: readonly v.BaseIssue<unknown>[]): { path: string; detail: string } => {
  const [issue] = issues;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
  const path = (issue?.path ?? []).map((item) => item.key as PropertyKey);
  return { path: pathOf(path), detail: `${issue?.message ?? "invalid"}${more}` };
};

const encodeWith = <T>(schema: v.GenericSchema<unknown, T>, value: T): string => {
  const parsed = v.safeParse(schema, value);
  if (!parsed.success) {
    const { path, detail } = firstIssue(parsed.issues);
    throw new InvalidRecordError(path, detail);
  }
  const json = canonicalJson(parsed.output);
  const bytes = Buffer.byteLength(json);
  if (bytes > MAX_RECORD_BYTES)
    throw new InvalidRecordError("", `${bytes} bytes, more than ${MAX_RECORD_BYTES}`);
  return json;
};

/**
 * The canonical JSON of `record`, sealed when a keyring is given; throws InvalidRecordError
 * (naming the field) if it breaks the schema, is too large, or the keyring has no key for its VPN.
 */
export const encodeRecord = (record: RegistryRecord, keyring?: Keyring): string => {
  const plain = encodeWith(recordSchema, record);
  if (keyring === undefined) return plain;
  const key = keyring.forVpn(record.vpn);
  if (key === undefined) throw new InvalidRecordError("vpn", `no sealing key for VPN ${record.vpn}`);
  const { spec, ...envelope } = record;
  const sealed = canonicalJson({ ...envelope, sealed: seal(key, recordKey(record), canonicalJson(spec)) });
  const bytes = Buffer.byteLength(sealed);
  if (bytes > MAX_RECORD_BYTES)
    throw new InvalidRecordError("", `${bytes} bytes sealed, more than ${MAX_RECORD_BYTES}`);
  return sealed;
};

/** The canonical JSON of `heartbeat`; throws InvalidRecordError (naming the field) if it breaks the schema. */
export const encodeHeartbeat = (heartbeat: HeartbeatRecord): string => encodeWith(heartbeatSchema, heartbeat);

const parsedKey = (key: string): ParsedKey => {
  const parsed = explainKey(key);
  if (typeof parsed === "string") throw new RegistryDecodeError(key, "", parsed);
  return parsed;
};

const keyParts = (key: string): RecordKeyParts => {
  const parsed = parsedKey(key);
  if (!isRecordKey(parsed)) throw new RegistryDecodeError(key, "", `a ${parsed.kind} key holds no record`);
  return parsed;
};

const parseJson = (key: string, value: string | Buffer): unknown => {
  let text: string;
  try {
    text = typeof value === "string" ? value : utf8.decode(value);
  } catch {
    throw new RegistryDecodeError(key, "", "not valid UTF-8");
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new RegistryDecodeError(key, "", `not valid JSON (${errorMessage(error)})`);
  }
};

function checkObject(key: string, json: unknown): asserts json is object {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new RegistryDecodeError(key, "", "must be a JSON object");
  }
}

const checkVersion = (key: string, json: unknown): void => {
  checkObject(key, json);
  const version: unknown = "schema" in json ? json.schema : undefined;
  if (version !== SCHEMA_VERSION) {
    const seen =
      version === undefined ? "no schema version" : `unsupported schema version ${JSON.stringify(version)}`;
    throw new RegistryDecodeError(key, "schema", `${seen} (this reader knows ${SCHEMA_VERSION})`);
  }
};

const checkAgreement = (key: string, parts: RecordKeyParts, record: RegistryRecord): void => {
  const namespace = parts.kind === "vpn" ? undefined : parts.namespace;
  const pairs: [string, string | undefined, string | undefined][] = [
    ["owner.cluster", parts.cluster, record.owner.cluster],
    ["kind", parts.kind, record.kind],
    ["vpn", parts.vpn, record.vpn],
    ["owner.namespace", namespace, record.owner.namespace],
    ["owner.name", parts.name, record.owner.name],
  ];
  for (const [path, fromKey, fromRecord] of pairs) {
    if (fromKey !== fromRecord) {
      throw new RegistryDecodeError(
        key,
        path,
        `is ${JSON.stringify(fromRecord)} but the key says ${JSON.stringify(fromKey)}`,
      );
    }
  }
};

/** `json` with its `sealed` member opened into `spec`, or as it is when it is not sealed. */
const opened = (key: string, vpn: string, json: object, keyring: Keyring | undefined): object => {
  if (!("sealed" in json)) return json;
  const { sealed, ...envelope } = json;
  const vpnKey = keyring?.forVpn(vpn);
  if (vpnKey === undefined) throw new NotThisReadersVpnError(key, vpn);
  if (typeof sealed !== "string") throw new RegistryDecodeError(key, "sealed", "must be a string");
  try {
    return { ...envelope, spec: JSON.parse(unseal(vpnKey, key, sealed)) };
  } catch (error) {
    const detail =
      error instanceof SealError ? error.message : `not valid JSON inside (${errorMessage(error)})`;
    throw new RegistryDecodeError(key, "sealed", detail);
  }
};

/**
 * The record stored at `key`, opened with `keyring` when sealed. Throws NotThisReadersVpnError
 * for a record of a VPN the keyring does not open (before reading the value when the keyring is
 * limited to one VPN), and RegistryDecodeError naming the key and field when anything is invalid.
 */
export const decodeRecord = (key: string, value: string | Buffer, keyring?: Keyring): RegistryRecord => {
  const parts = keyParts(key);
  if (keyring?.onlyVpn !== undefined && parts.vpn !== keyring.onlyVpn)
    throw new NotThisReadersVpnError(key, parts.vpn);
  const raw = parseJson(key, value);
  checkVersion(key, raw);
  checkObject(key, raw);
  const json = opened(key, parts.vpn, raw, keyring);
  const parsed = v.safeParse(recordSchema, json);
  if (!parsed.success) {
    const { path, detail } = firstIssue(parsed.issues);
    throw new RegistryDecodeError(key, path, detail);
  }
  checkAgreement(key, parts, parsed.output);
  return parsed.output;
};

/** The heartbeat stored at `key` (a heartbeat key); throws RegistryDecodeError naming the key and field when anything is invalid. */
export const decodeHeartbeat = (key: string, value: string | Buffer): HeartbeatRecord => {
  const parsed = parsedKey(key);
  if (parsed.kind !== "heartbeat") {
    throw new RegistryDecodeError(key, "", `a ${parsed.kind} key holds no heartbeat`);
  }
  const json = parseJson(key, value);
  checkObject(key, json);
  const heartbeat = v.safeParse(heartbeatSchema, json);
  if (!heartbeat.success) {
    const { path, detail } = firstIssue(heartbeat.issues);
    throw new RegistryDecodeError(key, path, detail);
  }
  if (heartbeat.output.cluster !== parsed.cluster) {
    const detail = `is ${JSON.stringify(heartbeat.output.cluster)} but the key says ${JSON.stringify(parsed.cluster)}`;
    throw new RegistryDecodeError(key, "cluster", detail);
  }
  return heartbeat.output;
};
