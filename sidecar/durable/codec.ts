// Record framing for the delivery log. Every record is
//   [length u32 BE][crc32 u32 BE][payload: length bytes]
// with payload = [type u8][seq f64 BE][body]. An ENQUEUE body holds the route key, the event's
// attributes (JSON) and its data; an ACK body is empty. The CRC (zlib crc32) covers the payload,
// so a torn or corrupt record is recognised and never replayed.
import { crc32 } from "node:zlib";
import { errorMessage } from "../../common/errors.ts";
import type { CloudEvent } from "../types.ts";

export const ENQUEUE = 1;
export const ACK = 2;
const HEADER = 8;
/** No record is larger than this; a bigger length field means corruption. */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

export interface Enqueued {
  seq: number;
  routeKey: string;
  event: CloudEvent;
}

export type LogRecord = { type: typeof ENQUEUE; entry: Enqueued } | { type: typeof ACK; seq: number };

const frame = (payload: Buffer): Buffer => {
  const head = Buffer.allocUnsafe(HEADER);
  head.writeUInt32BE(payload.length, 0);
  head.writeUInt32BE(crc32(payload), 4);
  return Buffer.concat([head, payload]);
};

/** The framed bytes of an ENQUEUE record. */
export const encodeEnqueue = ({ seq, routeKey, event }: Enqueued): Buffer => {
  const key = Buffer.from(routeKey);
  const attrs = Buffer.from(JSON.stringify(event.attributes));
  const data = event.data ?? Buffer.alloc(0);
  const payload = Buffer.allocUnsafe(1 + 8 + 4 + key.length + 4 + attrs.length + 1 + data.length);
  let o = payload.writeUInt8(ENQUEUE, 0);
  o = payload.writeDoubleBE(seq, o);
  o = payload.writeUInt32BE(key.length, o);
  o += key.copy(payload, o);
  o = payload.writeUInt32BE(attrs.length, o);
  o += attrs.copy(payload, o);
  o = payload.writeUInt8(event.data === undefined ? 0 : 1, o);
  data.copy(payload, o);
  return frame(payload);
};

/** The framed bytes of an ACK record. */
export const encodeAck = (seq: number): Buffer => {
  const payload = Buffer.allocUnsafe(9);
  payload.writeUInt8(ACK, 0);
  payload.writeDoubleBE(seq, 1);
  return frame(payload);
};

export type Decoded = { record: LogRecord; next: number } | { error: string };

/** Decodes the record at `offset`; `{ error }` when it is torn, too large or fails its CRC. */
export const decodeAt = (buf: Buffer, offset: number): Decoded => {
  if (offset + HEADER > buf.length) return { error: "torn record header" };
  const length = buf.readUInt32BE(offset);
  if (length < 9 || length > MAX_RECORD_BYTES) return { error: `impossible record length ${length}` };
  const end = offset + HEADER + length;
  if (end > buf.length) return { error: "torn record" };
  const payload = buf.subarray(offset + HEADER, end);
  if (crc32(payload) !== buf.readUInt32BE(offset + 4)) return { error: "checksum mismatch" };
  try {
    const type = payload.readUInt8(0);
    const seq = payload.readDoubleBE(1);
    if (type === ACK) return { record: { type: ACK, seq }, next: end };
    if (type !== ENQUEUE) return { error: `unknown record type ${type}` };
    let o = 9;
    const keyLen = payload.readUInt32BE(o);
    o += 4;
    const routeKey = payload.toString("utf8", o, o + keyLen);
    o += keyLen;
    const attrsLen = payload.readUInt32BE(o);
    o += 4;
    const attributes = JSON.parse(payload.toString("utf8", o, o + attrsLen)) as CloudEvent["attributes"];
    o += attrsLen;
    const hasData = payload.readUInt8(o) === 1;
    const data = hasData ? Buffer.from(payload.subarray(o + 1)) : undefined;
    return { record: { type: ENQUEUE, entry: { seq, routeKey, event: { attributes, data } } }, next: end };
  } catch (err) {
    return { error: `undecodable record: ${errorMessage(err)}` };
  }
};
