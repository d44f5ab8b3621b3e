import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { parse } from "yaml";
import { CATEGORY } from "./crd.ts";
import { FILTER_DEPTH } from "./filter.ts";
import type { Schema } from "./openapi.ts";
import { generated, render, stale } from "./render.ts";
import { crds, schemaOf } from "./schema.ts";

/** Every (path, schema) pair of a schema tree. */
const walk = (schema: Schema, path = ""): [string, Schema][] => [
  [path, schema],
  ...Object.entries(schema.properties ?? {}).flatMap(([k, s]) => walk(s, `${path}.${k}`)),
  ...(schema.items ? walk(schema.items, `${path}[]`) : []),
  ...(schema.additionalProperties ? walk(schema.additionalProperties, `${path}{}`) : []),
];

const allNodes = (): [string, Schema][] =>
  crds().flatMap((crd) =>
    crd.spec.versions.flatMap((v) => walk(v.schema.openAPIV3Schema, crd.spec.names.kind)),
  );

const allRules = () =>
  allNodes().flatMap(([path, s]) => (s["x-kubernetes-validations"] ?? []).map((r) => ({ path, s, r })));

test("the committed crds/*.yaml are what crds/generate.ts writes", () => {
  for (const { path, text } of generated()) {
    assert.equal(readFileSync(path, "utf8"), text, `${path} is stale: run node crds/generate.ts`);
  }
  assert.deepEqual(stale(), []);
});

test("each file is a header comment and the CRD, which parses back unchanged", () => {
  for (const crd of crds()) {
    const text = render(crd);
    assert.match(text, /^# Generated from crds\/schema\.ts by `[^`]+crds\/generate\.ts`\. Do not edit\.\n/);
    assert.deepEqual(parse(text), crd);
  }
});

test("every string has maxLength, every list maxItems, every map maxProperties (CEL cost bounds)", () => {
  for (const [path, s] of allNodes()) {
    if (s["x-kubernetes-int-or-string"]) {
      assert.deepEqual(s.anyOf, [{ type: "integer" }, { type: "string" }], path);
      continue;
    }
    if (s.type === "string") assert.ok(s.maxLength !== undefined, `${path}: string without maxLength`);
    if (s.type === "array") {
      assert.ok(s.maxItems !== undefined, `${path}: list without maxItems`);
      assert.ok(s.items, `${path}: list without items`);
    }
    if (s.type === "object" && (s.additionalProperties || s["x-kubernetes-preserve-unknown-fields"])) {
      assert.ok(s.maxProperties !== undefined, `${path}: map without maxProperties`);
    }
    if (s.type === "object" && !path.endsWith(".metadata")) {
      const shaped = s.properties || s.additionalProperties || s["x-kubernetes-preserve-unknown-fields"];
      assert.ok(shaped, `${path}: object without properties`);
    }
    assert.ok(s.type || s.anyOf, `${path}: no type`);
  }
});

test("required fields and list-map keys are declared properties", () => {
  for (const [path, s] of allNodes()) {
    for (const name of s.required ?? [])
      assert.ok(s.properties?.[name], `${path}: required ${name} undeclared`);
    for (const key of s["x-kubernetes-list-map-keys"] ?? []) {
      assert.equal(s["x-kubernetes-list-type"], "map", path);
      assert.ok(s.items?.required?.includes(key), `${path}: list-map key ${key} must be required`);
    }
  }
});

const CEL_RESERVED =
  /\.(as|break|const|continue|else|for|function|if|import|let|loop|package|namespace|return|var|void|while)\b/;

test("every CEL rule has a message, and cannot fail at evaluation time or use a reserved word", () => {
  const rules = allRules();
  assert.ok(rules.length > 50, `only ${rules.length} rules`);
  for (const { path, s, r } of rules) {
    assert.ok(r.message.length > 10, `${path}: rule ${r.rule} without a clear message`);
    assert.doesNotMatch(r.rule, CEL_RESERVED, `${path}: reserved words are escaped (self.__function__)`);
    if (r.rule.includes("duration(self")) assert.match(r.rule, /matches\(/, `${path}: duration() unguarded`);
    if (r.rule.includes("url(self)")) assert.match(r.rule, /isURL\(self\) &&/, `${path}: url() unguarded`);
    if (r.fieldPath) {
      const target = r.fieldPath
        .split(".")
        .slice(1)
        .reduce<Schema | undefined>((at, name) => at?.properties?.[name], s);
      assert.ok(target, `${path}: fieldPath ${r.fieldPath} names no property`);
    }
  }
});

test("the subscription filter unrolls exactly FILTER_DEPTH levels of all/any/not", () => {
  const filters = schemaOf("Subscription").properties?.spec?.properties?.filters?.items;
  const depth = (f: Schema | undefined): number => {
    const nested = f?.properties?.not;
    if (!nested?.properties) return 0;
    assert.deepEqual(f?.properties?.all?.items, nested, "all, any and not nest the same filter");
    assert.deepEqual(f?.properties?.any?.items, nested);
    return 1 + depth(nested);
  };
  assert.equal(FILTER_DEPTH, 3);
  assert.equal(depth(filters), FILTER_DEPTH);
  let leaf = filters;
  for (let i = 0; i < FILTER_DEPTH; i++) leaf = leaf?.properties?.not;
  const messages = leaf?.["x-kubernetes-validations"]?.map((r) => r.message).join("\n") ?? "";
  assert.match(messages, /filters nest at most 3 levels of all, any and not/);
});

// Short names of built-in resources (kubectl api-resources on a v1.34 cluster).
const BUILTIN_SHORT_NAMES = new Set(
  "cj cm crd crds cs csr deploy ds ep ev hpa ing ip limits netpol no ns pc pdb po pv pvc quota rc rs sa sc sts svc vac".split(
    " ",
  ),
);

test("names: short names are unique and not built in, every kind is in the switchboard category", () => {
  const seen = new Set<string>();
  for (const crd of crds()) {
    const { names } = crd.spec;
    assert.equal(crd.metadata.name, `${names.plural}.${crd.spec.group}`);
    assert.deepEqual(names.categories, [CATEGORY]);
    for (const short of names.shortNames) {
      assert.ok(!BUILTIN_SHORT_NAMES.has(short), `${short} is a built-in short name`);
      assert.ok(!seen.has(short), `${short} used twice`);
      seen.add(short);
    }
  }
});

test("each version has the status subresource and Ready, Reason … Age printer columns", () => {
  for (const crd of crds()) {
    for (const v of crd.spec.versions) {
      assert.deepEqual(v.subresources, { status: {} });
      const cols = v.additionalPrinterColumns;
      assert.deepEqual(
        cols.slice(0, 2).map((c) => c.jsonPath),
        ['.status.conditions[?(@.type=="Ready")].status', '.status.conditions[?(@.type=="Ready")].reason'],
      );
      assert.equal(cols.at(-1)?.name, "Age");
      const status = v.schema.openAPIV3Schema.properties?.status?.properties;
      assert.ok(status?.observedGeneration && status.conditions, `${crd.metadata.name}: common status`);
      assert.deepEqual(status.conditions["x-kubernetes-list-map-keys"], ["type"]);
    }
  }
});
