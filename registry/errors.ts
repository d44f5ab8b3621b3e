// Typed errors of the registry module. Callers branch on the class: RegistryKeyError,
// InvalidRecordError and RecordRefusedError are programming or input errors (retrying cannot
// help); RegistryDecodeError marks one bad value in etcd; NotThisReadersVpnError a sealed record
// of a VPN the reader has no key for (skip it); LeadershipLostError and
// WriterClosedError are terminal for a writer; RegistryConflictError may succeed on a later try.

/** A key segment is not a DNS-1123 name, or a key does not follow the layout in ./keys.ts. */
export class RegistryKeyError extends Error {
  override name = "RegistryKeyError";
}

/** A value read from etcd is not a valid record for its key. */
export class RegistryDecodeError extends Error {
  override name = "RegistryDecodeError";
  readonly key: string;
  /** Dotted path of the offending field ("" for the whole value). */
  readonly path: string;

  constructor(key: string, path: string, detail: string) {
    super(`registry value at ${key}: ${path === "" ? "" : `${path}: `}${detail}`);
    this.key = key;
    this.path = path;
  }
}

/** A record of a VPN whose key this reader does not hold: not an error in etcd, just not this reader's to see. */
export class NotThisReadersVpnError extends Error {
  override name = "NotThisReadersVpnError";
  readonly key: string;
  readonly vpn: string;

  constructor(key: string, vpn: string) {
    super(`registry value at ${key}: a record of VPN ${vpn}, whose key this reader does not hold`);
    this.key = key;
    this.vpn = vpn;
  }
}

/** A record about to be written does not satisfy the schema. */
export class InvalidRecordError extends Error {
  override name = "InvalidRecordError";
  readonly path: string;

  constructor(path: string, detail: string) {
    super(`invalid registry record: ${path === "" ? "" : `${path}: `}${detail}`);
    this.path = path;
  }
}

/** The writer refused a record that is not this cluster's or does not match the object it was given for. */
export class RecordRefusedError extends Error {
  override name = "RecordRefusedError";
}

/** Another writer has claimed this cluster's leader key: stop writing (terminal). */
export class LeadershipLostError extends Error {
  override name = "LeadershipLostError";
  readonly cluster: string;
  /** The identity now holding the leader key, when it could be read. */
  readonly holder: string | undefined;

  constructor(cluster: string, identity: string, holder: string | undefined) {
    const by = holder === undefined ? "" : ` by ${JSON.stringify(holder)}`;
    super(`${JSON.stringify(identity)} lost registry leadership of cluster ${cluster}: claimed since${by}`);
    this.cluster = cluster;
    this.holder = holder;
  }
}

/** Keys of this object kept changing under the writer (another writer without fencing?). */
export class RegistryConflictError extends Error {
  override name = "RegistryConflictError";
  readonly keys: string[];

  constructor(keys: string[]) {
    super(`registry keys changed concurrently twice in a row: ${keys.join(", ")}`);
    this.keys = keys;
  }
}

/** The writer was closed; it writes nothing more. */
export class WriterClosedError extends Error {
  override name = "WriterClosedError";
}
