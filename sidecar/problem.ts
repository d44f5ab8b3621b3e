// RFC 9457 problem details: the gateway's one typed error, mapped to an HTTP answer once (in the
// ingress's one catch, or the admin routes' onError). Each status of the gateway's responses
// (docs/architecture.md, "Data plane") has a factory; 429 and 503 always carry Retry-After, 401 carries WWW-Authenticate, 405 carries Allow.
import type { Reply } from "./types.ts";

/** Base of every problem `type` URI: `${PROBLEM_BASE}<slug>`. */
export const PROBLEM_BASE = "https://switchboard.dev/problems/";

/** One specific fault: a JSON pointer into the body and/or a CloudEvents attribute name. */
export interface ProblemItem {
  readonly pointer?: string;
  readonly attribute?: string;
  readonly detail: string;
}

/** Everything a ProblemError is made of; `members` are extra body members (never overriding the standard ones). */
export interface ProblemInit {
  readonly status: number;
  readonly slug: string;
  readonly title: string;
  readonly detail: string;
  readonly retryAfterSeconds?: number;
  readonly errors?: readonly ProblemItem[];
  readonly members?: Readonly<Record<string, unknown>>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly cause?: unknown;
}

/** Options shared by the factories: a more specific slug/title, the faults, extra members. */
export interface ProblemOptions {
  readonly slug?: string;
  readonly title?: string;
  readonly errors?: readonly ProblemItem[];
  readonly members?: Readonly<Record<string, unknown>>;
  readonly cause?: unknown;
}

const DEFAULT_RETRY_AFTER_SECONDS = 1;

/** A failure to answer with `status` and an application/problem+json body. */
export class ProblemError extends Error {
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly detail: string;
  readonly retryAfterSeconds: number | undefined;
  readonly errors: readonly ProblemItem[] | undefined;
  readonly members: Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, string>>;

  constructor(init: ProblemInit) {
    super(init.detail, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "ProblemError";
    this.status = init.status;
    this.type = PROBLEM_BASE + init.slug;
    this.title = init.title;
    this.detail = init.detail;
    const retry = init.retryAfterSeconds;
    const mustRetry = init.status === 429 || init.status === 503;
    if (retry !== undefined && Number.isFinite(retry)) this.retryAfterSeconds = Math.max(0, Math.ceil(retry));
    else this.retryAfterSeconds = mustRetry ? DEFAULT_RETRY_AFTER_SECONDS : undefined;
    this.errors = init.errors;
    this.members = init.members ?? {};
    this.headers = init.headers ?? {};
  }

  /** The problem details body (RFC 9457 §3). */
  toJSON(): Record<string, unknown> {
    const body: Record<string, unknown> = { ...this.members };
    body.type = this.type;
    body.title = this.title;
    body.status = this.status;
    body.detail = this.detail;
    if (this.errors !== undefined) body.errors = this.errors;
    return body;
  }
}

/** The HTTP answer for `err` (the ingress's and the admin routes'); anything that is not a ProblemError becomes an opaque 500 (its message is not leaked). */
export const problemReply = (err: unknown): Reply & { headers: Record<string, string> } => {
  const problem = err instanceof ProblemError ? err : internalError("the gateway failed unexpectedly");
  const headers: Record<string, string> = { ...problem.headers, "content-type": "application/problem+json" };
  if (problem.retryAfterSeconds !== undefined) headers["retry-after"] = String(problem.retryAfterSeconds);
  return { status: problem.status, headers, body: JSON.stringify(problem) };
};

const make = (
  status: number,
  slug: string,
  title: string,
  detail: string,
  options: ProblemOptions,
  extra: { headers?: Record<string, string>; retryAfterSeconds?: number } = {},
): ProblemError =>
  new ProblemError({
    status,
    slug: options.slug ?? slug,
    title: options.title ?? title,
    detail,
    ...(options.errors === undefined ? {} : { errors: options.errors }),
    ...(options.members === undefined ? {} : { members: options.members }),
    ...(options.cause === undefined ? {} : { cause: options.cause }),
    ...extra,
  });

/** 400: the request is malformed (e.g. an invalid CloudEvent); `errors` names each fault. */
export const badRequest = (detail: string, options: ProblemOptions = {}): ProblemError =>
  make(400, "bad-request", "Bad request", detail, options);

/** 401 with `WWW-Authenticate: Bearer` (plus `error="…"` per RFC 6750 when given): no or unknown credentials. */
export const unauthorized = (
  detail: string,
  { bearerError, ...options }: ProblemOptions & { bearerError?: "invalid_request" | "invalid_token" } = {},
): ProblemError =>
  make(401, "unauthorized", "Unauthorized", detail, options, {
    headers: { "www-authenticate": bearerError === undefined ? "Bearer" : `Bearer error="${bearerError}"` },
  });

/** 403: authenticated, but not allowed here (e.g. the token's VPN is not this route's VPN). */
export const forbidden = (detail: string, options: ProblemOptions = {}): ProblemError =>
  make(403, "forbidden", "Forbidden", detail, options);

/** 404: no route for this request. */
export const notFound = (detail: string, options: ProblemOptions = {}): ProblemError =>
  make(404, "not-found", "Not found", detail, options);

/** 405 with `Allow` listing `allowed`. */
export const methodNotAllowed = (
  method: string,
  allowed: readonly string[],
  options: ProblemOptions = {},
): ProblemError =>
  make(405, "method-not-allowed", "Method not allowed", `method ${method} is not allowed here`, options, {
    headers: { allow: allowed.join(", ") },
  });

/** 413: the request, an event, or a batch exceeds a limit. */
export const payloadTooLarge = (detail: string, options: ProblemOptions = {}): ProblemError =>
  make(413, "payload-too-large", "Payload too large", detail, options);

/** 415: the content type is not one this endpoint accepts. */
export const unsupportedMediaType = (detail: string, options: ProblemOptions = {}): ProblemError =>
  make(415, "unsupported-media-type", "Unsupported media type", detail, options);

/** 429 with `Retry-After` (seconds, rounded up): the publisher is over its rate limit; retry later. */
export const tooManyRequests = (
  detail: string,
  retryAfterSeconds: number = DEFAULT_RETRY_AFTER_SECONDS,
  options: ProblemOptions = {},
): ProblemError =>
  make(429, "too-many-requests", "Too many requests", detail, options, { retryAfterSeconds });

/** 503 with `Retry-After` (seconds, rounded up): overloaded or not ready; retry later. */
export const unavailable = (
  detail: string,
  retryAfterSeconds: number = DEFAULT_RETRY_AFTER_SECONDS,
  options: ProblemOptions = {},
): ProblemError => make(503, "unavailable", "Service unavailable", detail, options, { retryAfterSeconds });

/** 503 `overloaded` with `Retry-After`: an ingress budget (connections, body bytes) is full; refused before the body is read. */
export const overloaded = (detail: string, retryAfterSeconds = 1): ProblemError =>
  unavailable(detail, retryAfterSeconds, { slug: "overloaded", title: "Overloaded" });

/** 502: the function could not be reached, or its answer cannot be passed on. */
export const badGateway = (detail: string, options: ProblemOptions = {}): ProblemError =>
  make(502, "bad-gateway", "Bad Gateway", detail, options);

/** 504: the function did not answer within its timeout. */
export const gatewayTimeout = (detail: string, options: ProblemOptions = {}): ProblemError =>
  make(504, "timeout", "Gateway Timeout", detail, options);

/** 500: a bug or an unexpected failure; the detail is meant for clients, so keep it generic. */
export const internalError = (detail: string, options: ProblemOptions = {}): ProblemError =>
  make(500, "internal", "Internal error", detail, options);
