// Raw HTTP requests on a sync HTTP route become `http.request` CloudEvents (the shape the
// Serverless Event Gateway used): data = { method, path, query, headers, params, body }.
import { randomUUID } from "node:crypto";
import type { CloudEvent, HeaderView } from "../types.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true });

export interface RawRequest {
  method: string;
  url: URL;
  headers: HeaderView;
  body: Uint8Array;
  params: Record<string, string>;
  wildcard?: string;
}

/** The http.request event of a raw request; the body is text when it is UTF-8, else `bodyBase64`. */
export const httpRequestEvent = (req: RawRequest, source: string): CloudEvent => {
  const headers: Record<string, string> = {};
  for (const [k, v] of req.headers) if (k !== "authorization" && k !== "cookie") headers[k] = v;
  const query: Record<string, string[]> = {};
  for (const [k, v] of req.url.searchParams) {
    const values = query[k] ?? [];
    values.push(v);
    query[k] = values;
  }
  let body: { body?: string; bodyBase64?: string } = {};
  if (req.body.length > 0) {
    try {
      body = { body: utf8.decode(req.body) };
    } catch {
      body = { bodyBase64: Buffer.from(req.body).toString("base64") };
    }
  }
  const json = {
    method: req.method,
    path: req.url.pathname,
    query,
    headers,
    params: req.params,
    ...(req.wildcard === undefined ? {} : { wildcard: req.wildcard }),
    ...body,
  };
  return {
    attributes: {
      specversion: "1.0",
      id: randomUUID(),
      source,
      type: "http.request",
      datacontenttype: "application/json",
      time: new Date().toISOString(),
    },
    data: Buffer.from(JSON.stringify(json)),
    json,
  };
};
