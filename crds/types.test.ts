// The schemas of schema.ts have exactly the fields of types.ts, with the same optionality.
// Field names: `Full<T>` objects must set every field of the type (the compiler checks that),
// and their property trees must equal the schema's. Optionality: `requiredKeys<T>()` compiles
// only with exactly the required keys of T, which must equal the schema's `required`.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Schema } from "./openapi.ts";
import { schemaOf } from "./schema.ts";
import type {
  CommonStatus,
  Condition,
  Filter,
  FunctionSpec,
  FunctionStatus,
  LabelSelector,
  SubscriptionSpec,
  SubscriptionStatus,
  VpnSpec,
  VpnStatus,
} from "./types.ts";

/** T with every field, at every depth, required (Filter stops at its own keys: it is recursive). */
type Full<T> = [T, Filter] extends [Filter, T]
  ? Required<Filter>
  : T extends (infer U)[]
    ? Full<U>[]
    : T extends object
      ? { [K in keyof T]-?: Full<T[K]> }
      : T;

type RequiredKey<T> = { [K in keyof T]-?: Record<string, never> extends Pick<T, K> ? never : K }[keyof T];
/** Returns `keys`; compiles only when `keys` are exactly T's required keys. */
const requiredKeys =
  <T>() =>
  <const K extends readonly RequiredKey<T>[]>(
    keys: K & ([RequiredKey<T>] extends [K[number]] ? unknown : never),
  ) =>
    keys;

type Item<T> = NonNullable<T> extends (infer U)[] ? U : never;
type Def<T> = NonNullable<T>;

const at = (schema: Schema, path: string): Schema => {
  let s: Schema | undefined = schema;
  for (const step of path.split(".").filter(Boolean)) s = step === "[]" ? s?.items : s?.properties?.[step];
  assert.ok(s, `no schema at ${path}`);
  return s;
};

/** Asserts that the properties of `schema` and keys of `value` agree at every depth. */
const sameFields = (schema: Schema, value: unknown, path: string): void => {
  if (Array.isArray(value)) {
    assert.ok(schema.items, `${path} is a list in types.ts`);
    for (const item of value) sameFields(schema.items, item, `${path}[]`);
    return;
  }
  if (typeof value !== "object" || value === null || schema.additionalProperties) return;
  assert.deepEqual(
    Object.keys(schema.properties ?? {}).sort(),
    Object.keys(value).sort(),
    `fields of ${path}`,
  );
  if (path.endsWith("filters[]")) return; // Recursive; its unrolled levels are checked below.
  for (const [key, v] of Object.entries(value)) sameFields(at(schema, key), v, `${path}.${key}`);
};

const selector: Full<LabelSelector> = {
  matchLabels: { a: "b" },
  matchExpressions: [{ key: "k", operator: "In", values: ["v"] }],
};
const condition: Full<Condition> = {
  type: "Ready",
  status: "True",
  observedGeneration: 1,
  lastTransitionTime: "2024-01-01T00:00:00Z",
  reason: "Ok",
  message: "",
};
const common: Full<CommonStatus> = { observedGeneration: 1, conditions: [condition] };

const vpnSpec: Full<VpnSpec> = {
  namespaces: { names: ["a"], selector },
  publishers: [{ name: "p", tokenSecretRef: { namespace: "a", name: "s", key: "k" } }],
  limits: { eventsPerSecond: 1, burst: 1, maxEventBytes: 1, maxInFlight: 1 },
  egress: { allow: ["10.0.0.0/8"] },
};
const vpnStatus: Full<VpnStatus> = { ...common, namespaces: ["a"], publishers: 1 };
const functionSpec: Full<FunctionSpec> = {
  vpn: "v",
  target: { service: { name: "s", port: 80, path: "/" }, url: "http://x" },
  external: { url: "http://x" },
  timeout: "1s",
  concurrency: 1,
  headers: [{ name: "h", value: "v", valueFrom: { secretKeyRef: { name: "s", key: "k" } } }],
};
const functionStatus: Full<FunctionStatus> = { ...common, endpoints: 1, target: "t" };
const filter: Required<Filter> = { exact: {}, prefix: {}, suffix: {}, all: [], any: [], not: {} };
const subscriptionSpec: Full<SubscriptionSpec> = {
  vpn: "v",
  function: "f",
  mode: "async",
  filters: [filter],
  cel: "true",
  http: { method: "GET", path: "/" },
  delivery: {
    retry: 1,
    backoffPolicy: "linear",
    backoffDelay: "1s",
    maxBackoff: "1s",
    timeout: "1s",
    deadLetter: { function: "f" },
  },
  rateLimit: { eventsPerSecond: 1, burst: 1 },
};
const subscriptionStatus: Full<SubscriptionStatus> = { ...common, registryKey: "k" };

test("every schema has exactly the fields of its type in types.ts", () => {
  const kinds = [
    ["VPN", vpnSpec, vpnStatus],
    ["Function", functionSpec, functionStatus],
    ["Subscription", subscriptionSpec, subscriptionStatus],
  ] as const;
  for (const [kind, spec, status] of kinds) {
    sameFields(at(schemaOf(kind), "spec"), spec, `${kind}.spec`);
    sameFields(at(schemaOf(kind), "status"), status, `${kind}.status`);
  }
  // The unrolled filter levels all have the six dialects.
  let level: Schema | undefined = at(schemaOf("Subscription"), "spec.filters.[]");
  for (; level?.properties; level = level.properties.not) {
    assert.deepEqual(Object.keys(level.properties).sort(), Object.keys(filter).sort());
  }
});

type Publisher = Item<VpnSpec["publishers"]>;
type Target = FunctionSpec["target"];
type Header = Item<FunctionSpec["headers"]>;
type Delivery = Def<SubscriptionSpec["delivery"]>;

const REQUIRED: [kind: "VPN" | "Function" | "Subscription", path: string, keys: readonly string[]][] = [
  ["VPN", "spec", requiredKeys<VpnSpec>()(["namespaces"])],
  ["VPN", "spec.namespaces", requiredKeys<VpnSpec["namespaces"]>()([])],
  ["VPN", "spec.namespaces.selector", requiredKeys<LabelSelector>()([])],
  [
    "VPN",
    "spec.namespaces.selector.matchExpressions.[]",
    requiredKeys<Item<LabelSelector["matchExpressions"]>>()(["key", "operator"]),
  ],
  ["VPN", "spec.publishers.[]", requiredKeys<Publisher>()(["name", "tokenSecretRef"])],
  [
    "VPN",
    "spec.publishers.[].tokenSecretRef",
    requiredKeys<Publisher["tokenSecretRef"]>()(["namespace", "name", "key"]),
  ],
  ["VPN", "spec.limits", requiredKeys<Def<VpnSpec["limits"]>>()([])],
  ["VPN", "spec.egress", requiredKeys<Def<VpnSpec["egress"]>>()([])],
  ["VPN", "status", requiredKeys<VpnStatus>()([])],
  [
    "VPN",
    "status.conditions.[]",
    requiredKeys<Condition>()(["type", "status", "lastTransitionTime", "reason", "message"]),
  ],
  ["Function", "spec", requiredKeys<FunctionSpec>()(["vpn", "target"])],
  ["Function", "spec.target", requiredKeys<Target>()([])],
  ["Function", "spec.target.service", requiredKeys<Def<Target["service"]>>()(["name", "port"])],
  ["Function", "spec.external", requiredKeys<Def<FunctionSpec["external"]>>()(["url"])],
  ["Function", "spec.headers.[]", requiredKeys<Header>()(["name"])],
  ["Function", "spec.headers.[].valueFrom", requiredKeys<Def<Header["valueFrom"]>>()(["secretKeyRef"])],
  [
    "Function",
    "spec.headers.[].valueFrom.secretKeyRef",
    requiredKeys<Def<Header["valueFrom"]>["secretKeyRef"]>()(["name", "key"]),
  ],
  ["Function", "status", requiredKeys<FunctionStatus>()([])],
  ["Subscription", "spec", requiredKeys<SubscriptionSpec>()(["vpn", "function", "mode"])],
  ["Subscription", "spec.filters.[]", requiredKeys<Filter>()([])],
  ["Subscription", "spec.http", requiredKeys<Def<SubscriptionSpec["http"]>>()(["method", "path"])],
  ["Subscription", "spec.delivery", requiredKeys<Delivery>()([])],
  ["Subscription", "spec.delivery.deadLetter", requiredKeys<Def<Delivery["deadLetter"]>>()(["function"])],
  ["Subscription", "spec.rateLimit", requiredKeys<Def<SubscriptionSpec["rateLimit"]>>()(["eventsPerSecond"])],
  ["Subscription", "status", requiredKeys<SubscriptionStatus>()([])],
];

test("every object's required fields are the non-optional fields of its type in types.ts", () => {
  for (const [kind, path, keys] of REQUIRED) {
    assert.deepEqual(
      [...(at(schemaOf(kind), path).required ?? [])].sort(),
      [...keys].sort(),
      `${kind}.${path}`,
    );
  }
});

test("the table above covers every object with properties in the specs and statuses", () => {
  for (const kind of ["VPN", "Function", "Subscription"] as const) {
    const covered = new Set(REQUIRED.filter(([k]) => k === kind).map(([, p]) => p));
    const visit = (s: Schema, path: string): void => {
      if (s.properties && !path.startsWith("spec.filters.[].")) {
        assert.ok(covered.has(path) || path.includes("conditions"), `${kind}.${path}`);
      }
      for (const [k, p] of Object.entries(s.properties ?? {})) visit(p, `${path}.${k}`);
      if (s.items) visit(s.items, `${path}.[]`);
    };
    visit(at(schemaOf(kind), "spec"), "spec");
    visit(at(schemaOf(kind), "status"), "status");
  }
});
