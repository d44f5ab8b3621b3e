// zod schemas of the records in ./types.ts: every field's type and range, plus the rules that
// span fields. The compile-time check at the bottom keeps the two in step. Unknown fields are
// dropped (a reader of v1 tolerates additive v1 changes); anything incompatible needs v2.
import { z } from "zod";
import { parseEgressEntry } from "../common/egress/rules.ts";
import { isDnsLabel, isDnsSubdomain } from "./keys.ts";
import {
  type FilterRecord,
  type FunctionRecord,
  type HeartbeatRecord,
  type RegistryRecord,
  SCHEMA_VERSION,
  type SubscriptionRecord,
  type VpnRecord,
} from "./types.ts";

/** The longest duration a record may carry (timeouts, backoff): one day. */
export const MAX_DURATION_MS = 86_400_000;

const dnsName = z.string().refine(isDnsSubdomain, "must be a DNS-1123 subdomain");
const dnsLabel = z.string().refine(isDnsLabel, "must be a DNS-1123 label");
const positiveInt = z.int().positive();
const positiveRate = z.number().positive();
const durationMs = z.int().nonnegative().max(MAX_DURATION_MS);
const positiveMs = z.int().positive().max(MAX_DURATION_MS);
const httpUrl = z.url({ protocol: /^https?$/, error: "must be an http(s) URL" });

/** An array whose items are in ascending order without duplicates (so equal sets encode equally). */
const sortedUnique = <T extends z.ZodType<string>>(item: T) =>
  z
    .array(item)
    .refine((a) => a.every((v, i) => i === 0 || (a[i - 1] ?? "") < v), "must be sorted and unique");

const isEgressEntry = (text: string): boolean => {
  try {
    parseEgressEntry(text);
    return true;
  } catch {
    return false;
  }
};

const egressEntry = z.string().min(1).max(256).refine(isEgressEntry, "must be an egress rule entry");

const owner = z.object({
  cluster: dnsName,
  uid: z.string().min(1).max(128),
  generation: z.int().nonnegative(),
  namespace: dnsLabel.exactOptional(),
  name: dnsName,
});

const functionRef = z.object({ namespace: dnsLabel, name: dnsName });

const envelope = <K extends string, S extends z.ZodType>(kind: K, spec: S) =>
  z.object({ schema: z.literal(SCHEMA_VERSION), kind: z.literal(kind), vpn: dnsName, owner, spec });

const publisher = z.object({
  name: z.string().min(1).max(253),
  tokenSha256: z.string().regex(/^[0-9a-f]{64}$/),
});

export const vpnRecordSchema = envelope(
  "vpn",
  z.object({
    namespaces: sortedUnique(dnsLabel),
    publishers: z
      .array(publisher)
      .refine((ps) => new Set(ps.map((p) => p.name)).size === ps.length, "publisher names must be unique"),
    limits: z.object({
      eventsPerSecond: positiveRate.exactOptional(),
      burst: positiveInt.exactOptional(),
      maxEventBytes: positiveInt.exactOptional(),
      maxInFlight: positiveInt.exactOptional(),
    }),
    egress: z
      .object({ allow: sortedUnique(egressEntry).refine((a) => a.length <= 64, "at most 64 entries") })
      .exactOptional(),
  }),
).superRefine((r, ctx) => {
  if (r.owner.namespace !== undefined) {
    ctx.addIssue({ code: "custom", path: ["owner", "namespace"], message: "a VPN is cluster-scoped" });
  }
  if (r.vpn !== r.owner.name)
    ctx.addIssue({ code: "custom", path: ["vpn"], message: "must equal owner.name" });
});

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export const functionRecordSchema = envelope(
  "function",
  z.object({
    endpoints: sortedUnique(httpUrl),
    externalUrl: httpUrl.exactOptional(),
    timeoutMs: positiveMs,
    concurrency: positiveInt,
    headers: z.record(
      z.string().regex(HEADER_NAME, "must be an HTTP header name"),
      z.string().regex(/^[^\r\n\0]*$/, "must not contain CR, LF or NUL"),
    ),
  }),
).superRefine((r, ctx) => {
  if (r.owner.namespace === undefined) {
    ctx.addIssue({ code: "custom", path: ["owner", "namespace"], message: "required for a Function" });
  }
});

const attributes = z
  .record(z.string().regex(/^[a-z0-9]+$/, "must be a CloudEvents attribute name"), z.string())
  .refine((m) => Object.keys(m).length > 0, "must name at least one attribute");

/** A filter expression of the CloudEvents Subscriptions API: exactly one dialect per object. */
export const filterSchema: z.ZodType<FilterRecord> = z.lazy(() =>
  z
    .object({
      exact: attributes.exactOptional(),
      prefix: attributes.exactOptional(),
      suffix: attributes.exactOptional(),
      all: z.array(filterSchema).min(1).exactOptional(),
      any: z.array(filterSchema).min(1).exactOptional(),
      not: filterSchema.exactOptional(),
    })
    .refine(
      (f) => Object.keys(f).length === 1,
      "must have exactly one dialect (exact, prefix, suffix, all, any, not)",
    ),
);

export const subscriptionRecordSchema = envelope(
  "subscription",
  z.object({
    function: functionRef,
    mode: z.enum(["async", "sync"]),
    filters: z.array(filterSchema),
    cel: z.string().min(1).max(16_384).exactOptional(),
    http: z
      .object({ method: z.string().regex(/^[A-Z]+$/), path: z.string().regex(/^\/[^\s?#]*$/) })
      .exactOptional(),
    delivery: z
      .object({
        retry: z.int().nonnegative().max(1000),
        backoffPolicy: z.enum(["exponential", "linear"]),
        backoffDelayMs: durationMs,
        maxBackoffMs: durationMs,
        timeoutMs: positiveMs.exactOptional(),
        deadLetter: functionRef.exactOptional(),
      })
      .refine((d) => d.maxBackoffMs >= d.backoffDelayMs, {
        path: ["maxBackoffMs"],
        message: "must be at least backoffDelayMs",
      }),
    rateLimit: z.object({ eventsPerSecond: positiveRate, burst: positiveInt }).exactOptional(),
  }),
).superRefine((r, ctx) => {
  if (r.owner.namespace === undefined) {
    ctx.addIssue({ code: "custom", path: ["owner", "namespace"], message: "required for a Subscription" });
  }
  if (r.spec.http !== undefined && r.spec.mode !== "sync") {
    ctx.addIssue({
      code: "custom",
      path: ["spec", "http"],
      message: "only sync subscriptions have an HTTP route",
    });
  }
});

/** Any v1 record, discriminated by `kind`. */
export const recordSchema = z.discriminatedUnion("kind", [
  vpnRecordSchema,
  functionRecordSchema,
  subscriptionRecordSchema,
]);

/** A cluster heartbeat's value (the key's cluster is checked by the codec). */
export const heartbeatSchema = z.object({
  cluster: dnsName,
  identity: z.string().min(1).max(253),
  version: z.string().min(1).max(64),
  startedAt: z.iso.datetime({ error: "must be an ISO 8601 UTC time" }),
});

// Compile-time agreement of the schemas with ./types.ts: the output types are identical (an
// optional field missing on one side fails too, which mutual assignability would not catch).
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
export const schemasAgreeWithTypes: [
  Same<z.output<typeof vpnRecordSchema>, VpnRecord>,
  Same<z.output<typeof functionRecordSchema>, FunctionRecord>,
  Same<z.output<typeof subscriptionRecordSchema>, SubscriptionRecord>,
  Same<z.output<typeof recordSchema>, RegistryRecord>,
  Same<z.output<typeof heartbeatSchema>, HeartbeatRecord>,
] = [true, true, true, true, true];
