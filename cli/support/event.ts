// The CloudEvent a command sends, from flags (binary mode: `ce-*` headers and the data as the body,
// as the gateway delivers it) or from a file holding one structured-mode event (sent as it is,
// `application/cloudevents+json`, for the gateway to validate).
import { randomUUID } from "node:crypto";
import { CliError } from "../types.ts";
import { type FlagSpec, type Parsed, value, values } from "./args.ts";

export const EVENT_FLAGS: readonly FlagSpec[] = [
  { name: "vpn", value: "NAME", help: "the VPN to publish in (its publisher token is read from its Secret)" },
  { name: "type", value: "TYPE", help: "ce-type of the event" },
  { name: "source", value: "URI", help: "ce-source of the event (default /kubectl-switchboard)" },
  { name: "id", value: "ID", help: "ce-id of the event (default a random UUID)" },
  { name: "subject", value: "SUBJECT", help: "ce-subject of the event" },
  { name: "extension", value: "NAME=VALUE", help: "an extension attribute", repeat: true },
  { name: "data", value: "DATA", help: "the event's data" },
  { name: "data-file", value: "FILE", help: "read the event's data from FILE" },
  {
    name: "content-type",
    value: "TYPE",
    help: "the data's content type (default application/json when the data is JSON, else text/plain)",
  },
  {
    name: "file",
    short: "f",
    value: "FILE",
    help: "send the structured-mode CloudEvent (JSON) in FILE instead",
  },
];

/** An HTTP request body and headers carrying one CloudEvent. */
export interface EventRequest {
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  /** For messages: the event's id and type, when known before sending. */
  readonly id: string;
  readonly type: string;
}

/** A header value as the binding wants it: printable ASCII as is, `%` and anything else percent-encoded (UTF-8). */
export const encodeHeaderValue = (v: string): string =>
  v.replace(/[^\x20-\x24\x26-\x7e]/gu, (c) =>
    [...Buffer.from(c, "utf8")].map((b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`).join(""),
  );

const isJson = (data: Buffer): boolean => {
  try {
    JSON.parse(data.toString("utf8"));
    return true;
  } catch {
    return false;
  }
};

const EXTENSION = /^([a-z0-9]{1,20})=(.*)$/s;

/** The request for the event the flags describe; throws CliError (code 2) on bad or missing flags. */
export const eventRequest = (args: Parsed, readFile: (path: string) => Buffer): EventRequest => {
  const file = value(args, "file");
  if (file !== undefined) {
    const clash = ["type", "source", "id", "subject", "data", "data-file", "content-type"].find(
      (f) => value(args, f) !== undefined,
    );
    if (clash !== undefined) throw new CliError(`--file holds the whole event: drop --${clash}`, 2);
    const body = readFile(file);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString("utf8"));
    } catch (err) {
      throw new CliError(`${file} is not JSON (${err instanceof Error ? err.message : String(err)})`, 2);
    }
    const attr = (k: string): string => {
      const v: unknown = typeof parsed === "object" && parsed !== null ? Reflect.get(parsed, k) : undefined;
      return typeof v === "string" ? v : "";
    };
    return {
      headers: { "content-type": "application/cloudevents+json" },
      body,
      id: attr("id"),
      type: attr("type"),
    };
  }
  const type = value(args, "type");
  if (type === undefined) throw new CliError("--type is required (or --file FILE with a whole event)", 2);
  const inline = value(args, "data");
  const dataFile = value(args, "data-file");
  if (inline !== undefined && dataFile !== undefined)
    throw new CliError("give --data or --data-file, not both", 2);
  const data = dataFile !== undefined ? readFile(dataFile) : Buffer.from(inline ?? "", "utf8");
  const id = value(args, "id") ?? randomUUID();
  const headers: Record<string, string> = {
    "ce-specversion": "1.0",
    "ce-id": encodeHeaderValue(id),
    "ce-source": encodeHeaderValue(value(args, "source") ?? "/kubectl-switchboard"),
    "ce-type": encodeHeaderValue(type),
  };
  const subject = value(args, "subject");
  if (subject !== undefined) headers["ce-subject"] = encodeHeaderValue(subject);
  for (const ext of values(args, "extension")) {
    const m = EXTENSION.exec(ext);
    if (!m?.[1])
      throw new CliError(`--extension ${ext}: NAME=VALUE, NAME of 1-20 lowercase letters or digits`, 2);
    headers[`ce-${m[1]}`] = encodeHeaderValue(m[2] ?? "");
  }
  const contentType =
    value(args, "content-type") ??
    (data.length === 0 || isJson(data) ? "application/json" : "text/plain; charset=utf-8");
  if (data.length > 0 || value(args, "content-type") !== undefined) headers["content-type"] = contentType;
  return { headers, body: data, id, type };
};
