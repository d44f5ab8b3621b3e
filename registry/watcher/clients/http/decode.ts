// etcd's gRPC-gateway JSON, validated at the edge: int64 fields arrive as decimal strings, bytes
// as base64, and proto3 leaves out every field at its zero value (no `more` when false, no
// `revision` in some headers, no `value` in a delete event's kv).
import type { RangePage, ReadHeader } from "../../client.ts";
import type { StoredValue, WatchEvent } from "../../store.ts";

/** etcd answered something this client cannot read. */
export class EtcdResponseError extends Error {
  override name = "EtcdResponseError";
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const object = (value: unknown, what: string): Json => {
  if (value === undefined) return {};
  if (!isObject(value)) throw new EtcdResponseError(`${what} is not an object`);
  return value;
};

const array = (value: unknown, what: string): unknown[] => {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new EtcdResponseError(`${what} is not an array`);
  return value;
};

const int64 = (value: unknown, what: string): number => {
  if (value === undefined) return 0;
  if (typeof value !== "string" || !/^\d+$/.test(value))
    throw new EtcdResponseError(`${what} is not an int64 string`);
  return Number(value);
};

const bytes = (value: unknown, what: string): Buffer => {
  if (value === undefined) return Buffer.alloc(0);
  if (typeof value !== "string") throw new EtcdResponseError(`${what} is not base64`);
  return Buffer.from(value, "base64");
};

const header = (value: unknown): ReadHeader => {
  const h = object(value, "header");
  const clusterId = h.cluster_id ?? "0";
  if (typeof clusterId !== "string") throw new EtcdResponseError("header.cluster_id is not a string");
  return { revision: int64(h.revision, "header.revision"), clusterId };
};

const keyValue = (value: unknown): StoredValue => {
  const kv = object(value, "kv");
  return {
    key: bytes(kv.key, "kv.key").toString(),
    value: bytes(kv.value, "kv.value"),
    modRevision: int64(kv.mod_revision, "kv.mod_revision"),
  };
};

/** A /v3/kv/range answer; throws EtcdResponseError on another shape. */
export const decodeRange = (body: unknown): RangePage => {
  const res = object(body, "range response");
  return {
    ...header(res.header),
    kvs: array(res.kvs, "kvs").map(keyValue),
    more: res.more === true,
  };
};

/** The header of any unary answer; throws EtcdResponseError on another shape. */
export const decodeHeader = (body: unknown): ReadHeader => header(object(body, "response").header);

/** One message of a /v3/watch stream. */
export type WatchMessage =
  | { kind: "created"; revision: number }
  | { kind: "canceled"; reason: string; compactRevision: number }
  | { kind: "events"; revision: number; events: WatchEvent[] }
  | { kind: "error"; message: string };

const watchEvent = (value: unknown): WatchEvent => {
  const ev = object(value, "event");
  const type = ev.type ?? "PUT";
  if (type !== "PUT" && type !== "DELETE") throw new EtcdResponseError(`unknown event type ${String(type)}`);
  return { type: type === "DELETE" ? "delete" : "put", ...keyValue(ev.kv) };
};

/** One line of the watch stream, parsed; throws EtcdResponseError (or SyntaxError) on another shape. */
export const decodeWatchMessage = (line: string): WatchMessage => {
  const message = object(JSON.parse(line), "watch message");
  if (message.error !== undefined) {
    const error = object(message.error, "error");
    return {
      kind: "error",
      message: typeof error.message === "string" ? error.message : JSON.stringify(error),
    };
  }
  const res = object(message.result, "result");
  if (res.canceled === true) {
    const reason = typeof res.cancel_reason === "string" ? res.cancel_reason : "";
    return { kind: "canceled", reason, compactRevision: int64(res.compact_revision, "compact_revision") };
  }
  if (res.fragment === true) throw new EtcdResponseError("fragmented watch response (never requested)");
  const { revision } = header(res.header);
  if (res.created === true) return { kind: "created", revision };
  return { kind: "events", revision, events: array(res.events, "events").map(watchEvent) };
};

/** The message of an etcd error answer ({"code":…,"message":…}), or the body itself. */
export const errorText = (body: string): string => {
  try {
    const parsed: unknown = JSON.parse(body);
    if (isObject(parsed) && typeof parsed.message === "string") return parsed.message;
  } catch {
    // Not JSON: the body says it.
  }
  return body.slice(0, 200);
};
