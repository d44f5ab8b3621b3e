// Schemas of the records in ./types.ts (valibot): every field's type and range, plus the rules that
// span fields. The compile-time check at the bottom keeps the two in step. Unknown fields are
// dropped (a reader of v1 tolerates additive v1 changes); anything incompatible needs v2.
// valibot rather than zod: both programs decode records, and importing zod cost a Node 24.9 process
// 9.7 MiB of anonymous memory against valibot's 1 MiB (a fresh process, after full collections;
// docs/benchmarks.md, "Where the gateway's memory goes").
import * as v from "valibot";
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

/** An object (unknown fields dropped) whose issues speak as the rest do: not an object, or a field missing. */
const obj = <const T extends v.ObjectEntries>(entries: T) =>
  v.object(entries, (issue) => (issue.expected === "Object" ? "must be an object" : "is required"));

const dnsName = v.pipe(v.string("must be a string"), v.check(isDnsSubdomain, "must be a DNS-1123 subdomain"));
const dnsLabel = v.pipe(v.string("must be a string"), v.check(isDnsLabel, "must be a DNS-1123 label"));
const int = v.pipe(v.number("must be a number"), v.integer("must be an integer"));
const positiveInt = v.pipe(int, v.gtValue(0, "must be greater than 0"));
const positiveRate = v.pipe(v.number("must be a number"), v.gtValue(0, "must be greater than 0"));
const nonNegativeInt = v.pipe(int, v.minValue(0, "must be at least 0"));
const durationMs = v.pipe(nonNegativeInt, v.maxValue(MAX_DURATION_MS, `must be at most ${MAX_DURATION_MS}`));
const positiveMs = v.pipe(positiveInt, v.maxValue(MAX_DURATION_MS, `must be at most ${MAX_DURATION_MS}`));
const isHttpUrl = (text: string): boolean => {
  try {
    const { protocol } = new URL(text);
    return protocol === "http:" || protocol === "https:";
  } catch {
    return false;
  }
};
const httpUrl = v.pipe(v.string("must be a string"), v.check(isHttpUrl, "must be an http(s) URL"));
const text = (min: number, max: number) =>
  v.pipe(
    v.string("must be a string"),
    v.minLength(min, `must be at least ${min} characters`),
    v.maxLength(max, `must be at most ${max} characters`),
  );

/** An array whose items are in ascending order without duplicates (so equal sets encode equally). */
const sortedUnique = <T extends v.GenericSchema<unknown, string>>(item: T) =>
  v.pipe(
    v.array(item, "must be an array"),
    v.check((a) => a.every((s, i) => i === 0 || (a[i - 1] ?? "") < s), "must be sorted and unique"),
  );

const isEgressEntry = (entry: string): boolean => {
  try {
    parseEgressEntry(entry);
    return true;
  } catch {
    return false;
  }
};

const egressEntry = v.pipe(text(1, 256), v.check(isEgressEntry, "must be an egress rule entry"));

const owner = obj({
  cluster: dnsName,
  uid: text(1, 128),
  generation: nonNegativeInt,
  namespace: v.exactOptional(dnsLabel),
  name: dnsName,
});

const functionRef = obj({ namespace: dnsLabel, name: dnsName });

const envelope = <K extends string, S extends v.GenericSchema>(kind: K, spec: S) =>
  obj({
    schema: v.literal(SCHEMA_VERSION),
    kind: v.literal(kind, `must be "${kind}"`),
    vpn: dnsName,
    owner,
    spec,
  });

const publisher = obj({
  name: text(1, 253),
  tokenSha256: v.pipe(
    v.string("must be a string"),
    v.regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex digits"),
  ),
});

export const vpnRecordSchema = v.pipe(
  envelope(
    "vpn",
    obj({
      namespaces: sortedUnique(dnsLabel),
      publishers: v.pipe(
        v.array(publisher, "must be an array"),
        v.check((ps) => new Set(ps.map((p) => p.name)).size === ps.length, "publisher names must be unique"),
      ),
      limits: obj({
        eventsPerSecond: v.exactOptional(positiveRate),
        burst: v.exactOptional(positiveInt),
        maxEventBytes: v.exactOptional(positiveInt),
        maxInFlight: v.exactOptional(positiveInt),
      }),
      egress: v.exactOptional(
        obj({ allow: v.pipe(sortedUnique(egressEntry), v.maxLength(64, "at most 64 entries")) }),
      ),
    }),
  ),
  v.forward(
    v.check((r) => r.owner.namespace === undefined, "a VPN is cluster-scoped"),
    ["owner", "namespace"],
  ),
  v.forward(
    v.check((r) => r.vpn === r.owner.name, "must equal owner.name"),
    ["vpn"],
  ),
);

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export const functionRecordSchema = v.pipe(
  envelope(
    "function",
    obj({
      endpoints: sortedUnique(httpUrl),
      externalUrl: v.exactOptional(httpUrl),
      timeoutMs: positiveMs,
      concurrency: positiveInt,
      headers: v.record(
        v.pipe(v.string("must be a string"), v.regex(HEADER_NAME, "must be an HTTP header name")),
        v.pipe(v.string("must be a string"), v.regex(/^[^\r\n\0]*$/, "must not contain CR, LF or NUL")),
        "must be an object",
      ),
    }),
  ),
  v.forward(
    v.check((r) => r.owner.namespace !== undefined, "required for a Function"),
    ["owner", "namespace"],
  ),
);

const attributes = v.pipe(
  v.record(
    v.pipe(v.string("must be a string"), v.regex(/^[a-z0-9]+$/, "must be a CloudEvents attribute name")),
    v.string("must be a string"),
    "must be an object",
  ),
  v.check((m) => Object.keys(m).length > 0, "must name at least one attribute"),
);

const filterList = v.pipe(
  v.array(
    v.lazy((): v.GenericSchema<unknown, FilterRecord> => filterSchema),
    "must be an array",
  ),
  v.minLength(1, "must have at least one filter"),
);

/** A filter expression of the CloudEvents Subscriptions API: exactly one dialect per object. */
export const filterSchema: v.GenericSchema<unknown, FilterRecord> = v.pipe(
  obj({
    exact: v.exactOptional(attributes),
    prefix: v.exactOptional(attributes),
    suffix: v.exactOptional(attributes),
    all: v.exactOptional(filterList),
    any: v.exactOptional(filterList),
    not: v.exactOptional(v.lazy((): v.GenericSchema<unknown, FilterRecord> => filterSchema)),
  }),
  v.check(
    (f) => Object.keys(f).length === 1,
    "must have exactly one dialect (exact, prefix, suffix, all, any, not)",
  ),
) as v.GenericSchema<unknown, FilterRecord>;

export const subscriptionRecordSchema = v.pipe(
  envelope(
    "subscription",
    obj({
      function: functionRef,
      mode: v.picklist(["async", "sync"], 'must be "async" or "sync"'),
      filters: v.array(filterSchema, "must be an array"),
      cel: v.exactOptional(text(1, 16_384)),
      http: v.exactOptional(
        obj({
          method: v.pipe(
            v.string("must be a string"),
            v.regex(/^[A-Z]+$/, "must be an upper-case HTTP method"),
          ),
          path: v.pipe(
            v.string("must be a string"),
            v.regex(/^\/[^\s?#]*$/, "must be a path starting with /"),
          ),
        }),
      ),
      delivery: v.pipe(
        obj({
          retry: v.pipe(nonNegativeInt, v.maxValue(1000, "must be at most 1000")),
          backoffPolicy: v.picklist(["exponential", "linear"], 'must be "exponential" or "linear"'),
          backoffDelayMs: durationMs,
          maxBackoffMs: durationMs,
          timeoutMs: v.exactOptional(positiveMs),
          deadLetter: v.exactOptional(functionRef),
        }),
        v.forward(
          v.check((d) => d.maxBackoffMs >= d.backoffDelayMs, "must be at least backoffDelayMs"),
          ["maxBackoffMs"],
        ),
      ),
      rateLimit: v.exactOptional(obj({ eventsPerSecond: positiveRate, burst: positiveInt })),
    }),
  ),
  v.forward(
    v.check((r) => r.owner.namespace !== undefined, "required for a Subscription"),
    ["owner", "namespace"],
  ),
  v.forward(
    v.check(
      (r) => r.spec.http === undefined || r.spec.mode === "sync",
      "only sync subscriptions have an HTTP route",
    ),
    ["spec", "http"],
  ),
);

/** Any v1 record, by `kind`. */
export const recordSchema = v.variant(
  "kind",
  [vpnRecordSchema, functionRecordSchema, subscriptionRecordSchema],
  'must be "vpn", "function" or "subscription"',
);

/** A cluster heartbeat's value (the key's cluster is checked by the codec). */
export const heartbeatSchema = obj({
  cluster: dnsName,
  identity: text(1, 253),
  version: text(1, 64),
  startedAt: v.pipe(v.string("must be a string"), v.isoTimestamp("must be an ISO 8601 UTC time")),
});

// Compile-time agreement of the schemas with ./types.ts: the output types are identical (an
// optional field missing on one side fails too, which mutual assignability would not catch).
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
export const schemasAgreeWithTypes: [
  Same<v.InferOutput<typeof vpnRecordSchema>, VpnRecord>,
  Same<v.InferOutput<typeof functionRecordSchema>, FunctionRecord>,
  Same<v.InferOutput<typeof subscriptionRecordSchema>, SubscriptionRecord>,
  Same<v.InferOutput<typeof recordSchema>, RegistryRecord>,
  Same<v.InferOutput<typeof heartbeatSchema>, HeartbeatRecord>,
] = [true, true, true, true, true];
