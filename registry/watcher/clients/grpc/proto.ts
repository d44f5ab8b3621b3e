// The few etcd v3 protobuf messages the registry client reads and writes, encoded and decoded by
// hand (etcd's rpc.proto and kv.proto field numbers): RangeRequest/RangeResponse,
// WatchRequest(create)/WatchResponse, and for the gateway's presence record PutRequest and the
// lease messages (LeaseGrant, LeaseKeepAlive, LeaseRevoke). Loading protobufjs and gRPC for these would cost the gateway
// more memory than everything else it reads (docs/benchmarks.md, "Where the gateway's memory goes").
// Unknown fields are skipped, as protobuf requires; int64 revisions fit a double (< 2^53), and the
// uint64 cluster id is kept as its decimal string.
import type { StoredValue, WatchEvent } from "../../store.ts";

/** etcd answered bytes this client cannot read. */
export class ProtoError extends Error {
  override name = "ProtoError";
}

// --- encoding -----------------------------------------------------------------------------------

const varint = (value: number | bigint): number[] => {
  let v = BigInt(value);
  const out: number[] = [];
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
};

/** Field `field` as a varint (int64, bool, enum); nothing when zero, as proto3 writes it. */
const varintField = (field: number, value: number | bigint | boolean): Buffer =>
  value === 0 || value === 0n || value === false
    ? Buffer.alloc(0)
    : Buffer.from([...varint(field << 3), ...varint(typeof value === "boolean" ? Number(value) : value)]);

/** Field `field` as length-delimited bytes (bytes, string, message); nothing when empty. */
const bytesField = (field: number, value: Buffer): Buffer =>
  value.length === 0
    ? Buffer.alloc(0)
    : Buffer.concat([Buffer.from([...varint((field << 3) | 2), ...varint(value.length)]), value]);

export interface RangeRequestFields {
  key: Buffer;
  rangeEnd?: Buffer;
  limit?: number;
  revision?: number;
  keysOnly?: boolean;
}

/** etcdserverpb.RangeRequest. */
export const encodeRangeRequest = (r: RangeRequestFields): Buffer =>
  Buffer.concat([
    bytesField(1, r.key),
    bytesField(2, r.rangeEnd ?? Buffer.alloc(0)),
    varintField(3, r.limit ?? 0),
    varintField(4, r.revision ?? 0),
    varintField(8, r.keysOnly ?? false),
  ]);

/** etcdserverpb.WatchRequest holding a create_request for [key, rangeEnd) from `startRevision`, with progress notifications. */
export const encodeWatchCreate = (key: Buffer, rangeEnd: Buffer, startRevision: number): Buffer =>
  bytesField(
    1,
    Buffer.concat([
      bytesField(1, key),
      bytesField(2, rangeEnd),
      varintField(3, startRevision),
      varintField(4, true),
    ]),
  );

/** etcdserverpb.PutRequest: `value` at `key`, bound to `lease` (0n: none). */
export const encodePutRequest = (key: Buffer, value: Buffer, lease: bigint): Buffer =>
  Buffer.concat([bytesField(1, key), bytesField(2, value), varintField(3, lease)]);

/** etcdserverpb.LeaseGrantRequest for a lease of `ttlSeconds` (etcd picks the id). */
export const encodeLeaseGrant = (ttlSeconds: number): Buffer => varintField(1, ttlSeconds);

/** etcdserverpb.LeaseKeepAliveRequest and LeaseRevokeRequest: both hold only the lease id. */
export const encodeLeaseId = (id: bigint): Buffer => varintField(1, id);

// --- decoding -----------------------------------------------------------------------------------

/** Reads the fields of one message: calls `on(field, wireType, reader)` for each. */
class Reader {
  pos = 0;
  readonly buf: Buffer;

  constructor(buf: Buffer) {
    this.buf = buf;
  }

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  /** A varint as a bigint (uint64 ids). */
  big(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new ProtoError("truncated varint");
      const byte = this.buf[this.pos++] ?? 0;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new ProtoError("varint over 64 bits");
    }
  }

  /** A varint as a number (revisions, counts, bools, enums). */
  num(): number {
    let result = 0;
    let scale = 1;
    for (;;) {
      if (this.pos >= this.buf.length) throw new ProtoError("truncated varint");
      const byte = this.buf[this.pos++] ?? 0;
      result += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return result;
      scale *= 128;
      if (scale > 2 ** 63) throw new ProtoError("varint over 64 bits");
    }
  }

  bytes(): Buffer {
    const length = this.num();
    const end = this.pos + length;
    if (end > this.buf.length) throw new ProtoError("truncated field");
    const out = this.buf.subarray(this.pos, end);
    this.pos = end;
    return out;
  }

  /** Skips a field of `wireType` this client does not read. */
  skip(wireType: number): void {
    if (wireType === 0) this.num();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.bytes();
    else if (wireType === 5) this.pos += 4;
    else throw new ProtoError(`unsupported wire type ${wireType}`);
    if (this.pos > this.buf.length) throw new ProtoError("truncated field");
  }

  fields(on: (field: number, wireType: number) => boolean): void {
    while (!this.done) {
      const tag = this.num();
      const field = Math.floor(tag / 8);
      const wireType = tag & 7;
      if (!on(field, wireType)) this.skip(wireType);
    }
  }
}

export interface Header {
  clusterId: string;
  revision: number;
}

const decodeHeader = (buf: Buffer): Header => {
  const h: Header = { clusterId: "0", revision: 0 };
  const r = new Reader(buf);
  r.fields((field, wire) => {
    if (field === 1 && wire === 0) h.clusterId = r.big().toString();
    else if (field === 3 && wire === 0) h.revision = r.num();
    else return false;
    return true;
  });
  return h;
};

const decodeKeyValue = (buf: Buffer): StoredValue => {
  const kv: StoredValue = { key: "", value: Buffer.alloc(0), modRevision: 0 };
  const r = new Reader(buf);
  r.fields((field, wire) => {
    if (field === 1 && wire === 2) kv.key = r.bytes().toString();
    else if (field === 3 && wire === 0) kv.modRevision = r.num();
    // A copy: the frame it came in is not kept alive by the registry's store.
    else if (field === 5 && wire === 2) kv.value = Buffer.from(r.bytes());
    else return false;
    return true;
  });
  return kv;
};

export interface RangeResponse extends Header {
  kvs: StoredValue[];
  more: boolean;
}

/** etcdserverpb.RangeResponse. */
export const decodeRangeResponse = (buf: Buffer): RangeResponse => {
  let header: Header = { clusterId: "0", revision: 0 };
  const kvs: StoredValue[] = [];
  let more = false;
  const r = new Reader(buf);
  r.fields((field, wire) => {
    if (field === 1 && wire === 2) header = decodeHeader(r.bytes());
    else if (field === 2 && wire === 2) kvs.push(decodeKeyValue(r.bytes()));
    else if (field === 3 && wire === 0) more = r.num() !== 0;
    else return false;
    return true;
  });
  return { ...header, kvs, more };
};

export interface WatchResponse {
  revision: number;
  created: boolean;
  canceled: boolean;
  compactRevision: number;
  cancelReason: string;
  fragment: boolean;
  events: WatchEvent[];
}

const decodeEvent = (buf: Buffer): WatchEvent => {
  let type = 0;
  let kv: StoredValue = { key: "", value: Buffer.alloc(0), modRevision: 0 };
  const r = new Reader(buf);
  r.fields((field, wire) => {
    if (field === 1 && wire === 0) type = r.num();
    else if (field === 2 && wire === 2) kv = decodeKeyValue(r.bytes());
    else return false;
    return true;
  });
  if (type !== 0 && type !== 1) throw new ProtoError(`unknown event type ${type}`);
  return { type: type === 1 ? "delete" : "put", ...kv };
};

/** etcdserverpb.WatchResponse. */
export const decodeWatchResponse = (buf: Buffer): WatchResponse => {
  const w: WatchResponse = {
    revision: 0,
    created: false,
    canceled: false,
    compactRevision: 0,
    cancelReason: "",
    fragment: false,
    events: [],
  };
  const r = new Reader(buf);
  r.fields((field, wire) => {
    if (field === 1 && wire === 2) w.revision = decodeHeader(r.bytes()).revision;
    else if (field === 3 && wire === 0) w.created = r.num() !== 0;
    else if (field === 4 && wire === 0) w.canceled = r.num() !== 0;
    else if (field === 5 && wire === 0) w.compactRevision = r.num();
    else if (field === 6 && wire === 2) w.cancelReason = r.bytes().toString();
    else if (field === 7 && wire === 0) w.fragment = r.num() !== 0;
    else if (field === 11 && wire === 2) w.events.push(decodeEvent(r.bytes()));
    else return false;
    return true;
  });
  return w;
};

/** etcdserverpb.PutResponse and LeaseRevokeResponse: their header. */
export const decodeHeaderOnly = (buf: Buffer): Header => {
  let header: Header = { clusterId: "0", revision: 0 };
  const r = new Reader(buf);
  r.fields((field, wire) => {
    if (field === 1 && wire === 2) header = decodeHeader(r.bytes());
    else return false;
    return true;
  });
  return header;
};

export interface LeaseResponse {
  /** The lease id (int64, kept whole). */
  id: bigint;
  /** Seconds left; 0 or less when the lease does not exist (expired or revoked). */
  ttl: number;
  /** LeaseGrantResponse.error, "" when granted. */
  error: string;
}

/** etcdserverpb.LeaseGrantResponse and LeaseKeepAliveResponse (same field numbers for id and TTL). */
export const decodeLeaseResponse = (buf: Buffer): LeaseResponse => {
  const lease: LeaseResponse = { id: 0n, ttl: 0, error: "" };
  const r = new Reader(buf);
  r.fields((field, wire) => {
    if (field === 2 && wire === 0) lease.id = BigInt.asIntN(64, r.big());
    else if (field === 3 && wire === 0) lease.ttl = Number(BigInt.asIntN(64, r.big()));
    else if (field === 4 && wire === 2) lease.error = r.bytes().toString();
    else return false;
    return true;
  });
  return lease;
};
