// Requests to a gateway with undici, and how an answer that is not a success is told: the status,
// then the problem details (RFC 9457) the gateway sends, each bad attribute on its own line.
import { request } from "undici";
import { CliError } from "../types.ts";

export interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
  /** The body parsed as JSON, when it is JSON. */
  readonly json?: unknown;
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  200: "OK",
  201: "Created",
  202: "Accepted",
  204: "No Content",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  429: "Too Many Requests",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** `202 Accepted`. */
export const statusLine = (status: number): string =>
  `${status}${STATUS_TEXT[status] ? ` ${STATUS_TEXT[status]}` : ""}`;

/** POSTs `body` to `url`; throws CliError naming the gateway when it cannot be reached. */
export const post = (
  url: string,
  headers: Record<string, string>,
  body: Buffer,
  signal: AbortSignal,
): Promise<Answer> => exchange("POST", url, headers, body, signal);

/** GETs `url`; throws CliError naming the gateway when it cannot be reached. */
export const get = (url: string, headers: Record<string, string>, signal: AbortSignal): Promise<Answer> =>
  exchange("GET", url, headers, undefined, signal);

const exchange = async (
  method: "GET" | "POST",
  url: string,
  headers: Record<string, string>,
  body: Buffer | undefined,
  signal: AbortSignal,
): Promise<Answer> => {
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(url, { method, headers, body: body ?? null, signal, headersTimeout: 60_000 });
  } catch (err) {
    throw unreachable(url, err);
  }
  const text = await res.body.text();
  const contentType = String(res.headers["content-type"] ?? "");
  let json: unknown;
  if (/json/.test(contentType)) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  return { status: res.statusCode, contentType, text, ...(json === undefined ? {} : { json }) };
};

/** The CliError for a gateway that did not answer. */
export const unreachable = (url: string, err: unknown): CliError => {
  const cause =
    err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
  return new CliError(
    `gateway unreachable at ${new URL(url).origin} (${cause}); check --url/--admin-url, or that the port-forward's gateway pods are Ready`,
  );
};

/** Lines telling a failed answer: `HTTP 401 Unauthorized`, the problem's title, detail and errors. */
export const problemLines = (answer: Answer): string[] => {
  const lines = [`HTTP ${statusLine(answer.status)}`];
  const p = answer.json;
  if (typeof p !== "object" || p === null) {
    if (answer.text.trim() !== "") lines.push(answer.text.trim());
    return lines;
  }
  const field = (k: string): string | undefined => {
    const v: unknown = Reflect.get(p, k);
    return typeof v === "string" || typeof v === "number" ? String(v) : undefined;
  };
  for (const k of ["type", "title", "detail"]) {
    const v = field(k);
    if (v !== undefined) lines.push(`${k}: ${v}`);
  }
  const errors: unknown = Reflect.get(p, "errors");
  if (Array.isArray(errors))
    for (const e of errors) {
      const where: unknown = typeof e === "object" && e !== null ? Reflect.get(e, "attribute") : undefined;
      const detail: unknown = typeof e === "object" && e !== null ? Reflect.get(e, "detail") : e;
      lines.push(`error: ${typeof where === "string" ? `${where}: ` : ""}${String(detail)}`);
    }
  return lines;
};
