// CloudEvents 1.0 over HTTP (binary, structured and batched content modes), pure: a request's
// method, headers and body in, validated events (sidecar/types.ts) or a ProblemError out.
//
// Written here rather than on the `cloudevents` npm package (v10) (docs/architecture.md,
// "Dependencies"), after evaluating it (see library.test.ts for each behaviour, asserted): its HTTP binding
// does not validate binary or structured events at all (it builds them with strict=false), makes
// up an `id` and a `time` when they are missing, replaces an unparseable `time` with the current
// time, does not percent-decode `ce-*` headers (nor encode them when sending), drops extensions
// whose header is not lower-case, detects binary mode by `ce-id` instead of `ce-specversion`,
// loses every attribute of a structured body passed as bytes, and prefers `data_base64` over
// `data` silently when both are present. Its CloudEvent validation accepts other specversions,
// object and array extension values, integers beyond 32 bits and names over 20 characters, and
// stops at the first fault. And it is slow for a hot path: HTTP.toEvent takes ~12 µs for a small
// binary event (no validation) and ~16 µs for a structured one, against ~2.5 µs and ~3 µs here with
// full validation and the JSON payload parsed (Node 24, one core).

import { badRequest, methodNotAllowed, unsupportedMediaType } from "../problem.ts";
import type { CloudEvent, HeaderView } from "../types.ts";
import { parseBinary } from "./binary.ts";
import { isUtf8Charset } from "./data.ts";
import { parseBatch, parseStructured } from "./structured.ts";
import { type MediaType, parseMediaType } from "./syntax.ts";

export { STRUCTURED_CONTENT_TYPE, toBinaryHeaders, toStructured } from "./encode.ts";

/** What parseCloudEvents needs of an HTTP request (the body already read, e.g. `new Uint8Array(await req.arrayBuffer())`). */
export interface CloudEventsRequest {
  readonly method: string;
  readonly headers: HeaderView;
  readonly body: Uint8Array;
}

/** Limits: bytes per event (payload plus attributes), events per batch; methods accepted (default POST). */
export interface ParseLimits {
  readonly maxEventBytes: number;
  readonly maxBatch: number;
  readonly methods?: readonly string[];
}

/** The HTTP binding content modes. */
export type ContentMode = "binary" | "structured" | "batched";

const POST: readonly string[] = ["POST"];
const STRUCTURED = "application/cloudevents+json";
const BATCHED = "application/cloudevents-batch+json";

/** Returns when `method` is one of `allowed`; else throws a 405 ProblemError listing them in Allow. */
export const checkMethod = (method: string, allowed: readonly string[] = POST): void => {
  if (!allowed.includes(method)) throw methodNotAllowed(method, allowed);
};

/**
 * Returns when no header that carries an attribute or decides the content mode was sent twice;
 * throws a 400 ProblemError naming each one otherwise (merging or picking one would change the
 * event silently).
 */
export const checkRepeated = (headers: HeaderView): void => {
  const repeated = (headers.repeated ?? []).filter((h) => h === "content-type" || h.startsWith("ce-"));
  if (repeated.length > 0)
    throw badRequest(`header ${repeated.join(", ")} sent more than once`, {
      slug: "repeated-header",
      errors: repeated.map((h) => ({ detail: `header ${h} sent more than once` })),
    });
};

/**
 * The content mode of a request: structured or batched by content-type (JSON format only, UTF-8),
 * else binary when a `ce-specversion` header is present; throws a 415 ProblemError otherwise.
 */
export const contentMode = (headers: HeaderView): ContentMode => {
  const raw = headers.get("content-type");
  const media: MediaType | undefined = raw === null ? undefined : parseMediaType(raw);
  if (media?.essence.startsWith("application/cloudevents")) {
    if (media.essence !== STRUCTURED && media.essence !== BATCHED) {
      throw unsupportedMediaType(
        `event format ${media.essence} is not supported; use ${STRUCTURED} or ${BATCHED}`,
      );
    }
    if (!isUtf8Charset(media.charset)) {
      throw unsupportedMediaType(`charset ${media.charset} is not supported; JSON event formats are UTF-8`);
    }
    return media.essence === STRUCTURED ? "structured" : "batched";
  }
  if (headers.has("ce-specversion")) return "binary";
  for (const [name] of headers)
    if (name.startsWith("ce-"))
      throw badRequest("ce-specversion is missing: a binary-mode CloudEvent needs ce-specversion: 1.0", {
        slug: "invalid-cloudevent",
        errors: [
          {
            attribute: "specversion",
            detail: "header ce-specversion is missing (binary mode, other ce-* headers present)",
          },
        ],
      });
  throw unsupportedMediaType(
    `content type ${raw ?? "(none)"} is not a CloudEvents format and there is no ce-specversion header ` +
      `(binary mode); use ${STRUCTURED}, ${BATCHED} or ce-* headers`,
  );
};

/**
 * The events of a CloudEvents HTTP request, validated (all or none; an empty batch gives []).
 * Throws a ProblemError: 405 (method), 415 (content type), 413 (an event over maxEventBytes or a
 * batch over maxBatch), 400 (malformed, with `errors` naming every bad attribute). Never retries.
 */
export const parseCloudEvents = (
  req: CloudEventsRequest,
  { maxEventBytes, maxBatch, methods = POST }: ParseLimits,
): CloudEvent[] => {
  checkMethod(req.method, methods);
  checkRepeated(req.headers);
  switch (contentMode(req.headers)) {
    case "binary":
      return [parseBinary(req.headers, req.body, maxEventBytes)];
    case "structured":
      return [parseStructured(req.body, maxEventBytes)];
    case "batched":
      return parseBatch(req.body, maxEventBytes, maxBatch);
  }
};
