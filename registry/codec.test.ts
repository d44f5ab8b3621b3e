import assert from "node:assert/strict";
import { test } from "node:test";
import { canonicalJson, decodeHeartbeat, decodeRecord, encodeHeartbeat, encodeRecord } from "./codec.ts";
import { InvalidRecordError, RegistryDecodeError } from "./errors.ts";
import { functionKey, heartbeatKey, leaderKey, recordKey, subscriptionKey, vpnKey } from "./keys.ts";
import { sampleFunction, sampleHeartbeat, sampleSubscription, sampleVpn } from "./testing/records.ts";
import type { RegistryRecord } from "./types.ts";

const fn = sampleFunction();
const sub = sampleSubscription();
const vpn = sampleVpn();
const fnKey = recordKey(fn);

/** The encoding of `record` with the field at `path` set to `value` (or removed when undefined). */
const edited = (record: RegistryRecord, path: (string | number)[], value: unknown): string => {
  const root: unknown = JSON.parse(encodeRecord(record));
  let node = root as Record<string | number, unknown>;
  for (const step of path.slice(0, -1)) node = node[step] as Record<string | number, unknown>;
  const last = path.at(-1) ?? "";
  if (value === undefined) delete node[last];
  else node[last] = value;
  return JSON.stringify(root);
};

const decodeFails = (
  key: string,
  value: string | Buffer,
  path: string,
  detail: string,
  decode: (key: string, value: string | Buffer) => unknown = decodeRecord,
): void => {
  assert.throws(
    () => decode(key, value),
    (error) => {
      assert.ok(error instanceof RegistryDecodeError);
      assert.equal(error.key, key);
      assert.equal(error.path, path);
      assert.equal(error.message, `registry value at ${key}: ${path === "" ? "" : `${path}: `}${detail}`);
      return true;
    },
  );
};

test("records of every kind survive encode and decode, from strings and Buffers", () => {
  for (const record of [vpn, fn, sub]) {
    const value = encodeRecord(record);
    assert.deepEqual(decodeRecord(recordKey(record), value), record);
    assert.deepEqual(decodeRecord(recordKey(record), Buffer.from(value)), record);
  }
});

test("encoding is canonical: key order and stray properties do not change the bytes", () => {
  const reordered: RegistryRecord = {
    spec: {
      headers: { "x-team": "billing" },
      concurrency: 32,
      timeoutMs: 5000,
      externalUrl: "https://invoice.east.example.com/invoke",
      endpoints: [...fn.spec.endpoints],
    },
    owner: { name: "invoice", namespace: "billing", generation: 1, uid: fn.owner.uid, cluster: "east" },
    vpn: fn.vpn,
    kind: "function",
    schema: 1,
  };
  assert.equal(encodeRecord(reordered), encodeRecord(fn));
  assert.equal(encodeRecord({ ...fn, ...{ extra: true } }), encodeRecord(fn));
  assert.equal(encodeRecord(structuredClone(sub)), encodeRecord(sub));
  assert.equal(canonicalJson({ b: [{ d: 1, c: 2 }], a: null }), '{"a":null,"b":[{"c":2,"d":1}]}');
  assert.ok(encodeRecord(vpn).startsWith('{"kind":"vpn","owner":{"cluster":"east","generation":1,'));
});

test("encode refuses records that break the schema, naming the field", () => {
  const cases: [RegistryRecord, string, string][] = [
    [{ ...fn, spec: { ...fn.spec, timeoutMs: -1 } }, "spec.timeoutMs", "must be greater than 0"],
    [{ ...fn, owner: { ...fn.owner, cluster: "East" } }, "owner.cluster", "must be a DNS-1123 subdomain"],
    [
      { ...vpn, spec: { ...vpn.spec, namespaces: ["b", "a"] } },
      "spec.namespaces",
      "must be sorted and unique",
    ],
  ];
  for (const [record, path, detail] of cases) {
    assert.throws(() => encodeRecord(record), new InvalidRecordError(path, detail));
  }
  const huge = { ...fn, spec: { ...fn.spec, headers: { "x-big": "x".repeat(1024 * 1024) } } };
  assert.throws(() => encodeRecord(huge), {
    name: "InvalidRecordError",
    message: /bytes, more than 1048576$/,
  });
});

test("decode rejects values that are not a v1 JSON object", () => {
  decodeFails(fnKey, Buffer.from([0x7b, 0xff, 0x7d]), "", "not valid UTF-8");
  decodeFails(
    fnKey,
    "{nope",
    "",
    "not valid JSON (Expected property name or '}' in JSON at position 1 (line 1 column 2))",
  );
  decodeFails(fnKey, "[1]", "", "must be a JSON object");
  decodeFails(fnKey, "null", "", "must be a JSON object");
  decodeFails(fnKey, edited(fn, ["schema"], undefined), "schema", "no schema version (this reader knows 1)");
  decodeFails(
    fnKey,
    edited(fn, ["schema"], 2),
    "schema",
    "unsupported schema version 2 (this reader knows 1)",
  );
  decodeFails(
    fnKey,
    edited(fn, ["schema"], "1"),
    "schema",
    'unsupported schema version "1" (this reader knows 1)',
  );
});

test("decode rejects each field of the wrong type or out of range", () => {
  const sk = recordKey(sub);
  const vk = recordKey(vpn);
  const cases: [string, string, string, string][] = [
    [fnKey, edited(fn, ["kind"], "queue"), "kind", 'must be "vpn", "function" or "subscription"'],
    [fnKey, edited(fn, ["owner", "generation"], -1), "owner.generation", "must be at least 0"],
    [fnKey, edited(fn, ["owner", "generation"], 1.5), "owner.generation", "must be an integer"],
    [fnKey, edited(fn, ["owner", "uid"], undefined), "owner.uid", "is required"],
    [
      vk,
      edited(vpn, ["spec", "egress"], { allow: ["127.0.0.1", "10.0.0.0/8"] }),
      "spec.egress.allow",
      "must be sorted and unique",
    ],
    [
      vk,
      edited(vpn, ["spec", "egress"], { allow: ["10.0.0.0/40"] }),
      "spec.egress.allow[0]",
      "must be an egress rule entry",
    ],
    [vk, edited(vpn, ["spec", "egress"], {}), "spec.egress.allow", "is required"],
    [fnKey, edited(fn, ["spec", "timeoutMs"], "30"), "spec.timeoutMs", "must be a number"],
    [fnKey, edited(fn, ["spec", "timeoutMs"], 86_400_001), "spec.timeoutMs", "must be at most 86400000"],
    [fnKey, edited(fn, ["spec", "concurrency"], 0), "spec.concurrency", "must be greater than 0"],
    [
      fnKey,
      edited(fn, ["spec", "endpoints"], ["http://b/", "http://a/"]),
      "spec.endpoints",
      "must be sorted and unique",
    ],
    [fnKey, edited(fn, ["spec", "endpoints"], ["ftp://a/"]), "spec.endpoints[0]", "must be an http(s) URL"],
    [
      fnKey,
      edited(fn, ["spec", "headers"], { "bad name": "x" }),
      'spec.headers["bad name"]',
      "must be an HTTP header name",
    ],
    [
      fnKey,
      edited(fn, ["spec", "headers"], { "x-a": "a\r\nb" }),
      'spec.headers["x-a"]',
      "must not contain CR, LF or NUL",
    ],
    [
      vk,
      edited(vpn, ["spec", "publishers", 0, "tokenSha256"], "A".repeat(64)),
      "spec.publishers[0].tokenSha256",
      "must be 64 lowercase hex digits",
    ],
    [vk, edited(vpn, ["spec", "limits", "burst"], 0.5), "spec.limits.burst", "must be an integer"],
    [vk, edited(vpn, ["owner", "namespace"], "default"), "owner.namespace", "a VPN is cluster-scoped"],
    [
      sk,
      edited(sub, ["spec", "filters", 0], { exact: { type: "a" }, prefix: { type: "b" } }),
      "spec.filters[0]",
      "must have exactly one dialect (exact, prefix, suffix, all, any, not)",
    ],
    [
      sk,
      edited(sub, ["spec", "filters", 1, "any", 0], { exact: {} }),
      "spec.filters[1].any[0].exact",
      "must name at least one attribute",
    ],
    [
      sk,
      edited(sub, ["spec", "filters", 0, "prefix"], { Type: "x" }),
      "spec.filters[0].prefix.Type",
      "must be a CloudEvents attribute name",
    ],
    [
      sk,
      edited(sub, ["spec", "delivery", "maxBackoffMs"], 100),
      "spec.delivery.maxBackoffMs",
      "must be at least backoffDelayMs",
    ],
    [sk, edited(sub, ["spec", "mode"], "async"), "spec.http", "only sync subscriptions have an HTTP route"],
    [sk, edited(sub, ["spec", "mode"], "fire"), "spec.mode", 'must be "async" or "sync"'],
  ];
  for (const [key, value, path, detail] of cases) decodeFails(key, value, path, detail);
});

test("decode checks that the key agrees with the record", () => {
  decodeFails(vpnKey("other", "east"), encodeRecord(vpn), "vpn", 'is "payments" but the key says "other"');
  decodeFails(
    vpnKey("payments", "west"),
    encodeRecord(vpn),
    "owner.cluster",
    'is "east" but the key says "west"',
  );
  const at = { vpn: "payments", namespace: "billing", name: "invoice", cluster: "east" };
  decodeFails(
    functionKey({ ...at, cluster: "east-2" }),
    encodeRecord(fn),
    "owner.cluster",
    'is "east" but the key says "east-2"',
  );
  decodeFails(subscriptionKey(at), encodeRecord(fn), "kind", 'is "function" but the key says "subscription"');
  decodeFails(
    functionKey({ ...at, vpn: "shipping" }),
    encodeRecord(fn),
    "vpn",
    'is "payments" but the key says "shipping"',
  );
  decodeFails(
    functionKey({ ...at, name: "other" }),
    encodeRecord(fn),
    "owner.name",
    'is "invoice" but the key says "other"',
  );
  decodeFails(
    functionKey({ ...at, namespace: "team" }),
    encodeRecord(fn),
    "owner.namespace",
    'is "billing" but the key says "team"',
  );
  decodeFails(leaderKey("east"), encodeRecord(fn), "", "a leader key holds no record");
  decodeFails(heartbeatKey("east"), encodeRecord(fn), "", "a heartbeat key holds no record");
  decodeFails("/x", encodeRecord(fn), "", 'key "/x" is not under /switchboard/v1/clusters/<cluster>/');
  decodeFails(
    "/switchboard/v1/functions/payments/billing/invoice/east",
    encodeRecord(fn),
    "",
    'key "/switchboard/v1/functions/payments/billing/invoice/east" is not under /switchboard/v1/clusters/<cluster>/',
  );
});

test("a VPN's egress allow-list is optional and survives encode and decode", () => {
  const withAllow = {
    ...vpn,
    spec: { ...vpn.spec, egress: { allow: ["*.fn.svc.cluster.local", "10.0.0.0/8", "127.0.0.1:8080"] } },
  };
  assert.deepEqual(decodeRecord(recordKey(withAllow), encodeRecord(withAllow)), withAllow);
  assert.equal("egress" in decodeRecord(recordKey(vpn), encodeRecord(vpn)).spec, false);
});

test("decode ignores unknown fields (additive changes within v1)", () => {
  const value = edited(fn, ["spec", "retryBudget"], 3);
  assert.deepEqual(decodeRecord(fnKey, value), fn);
});

test("heartbeats survive encode and decode; encoding is canonical and validated", () => {
  const heartbeat = sampleHeartbeat();
  const value = encodeHeartbeat(heartbeat);
  assert.equal(
    value,
    '{"cluster":"east","identity":"switchboard-operator-7c9f8d-x2k4q","startedAt":"2025-01-02T03:04:05.678Z","version":"0.1.0"}',
  );
  assert.deepEqual(decodeHeartbeat(heartbeatKey("east"), value), heartbeat);
  assert.deepEqual(decodeHeartbeat(heartbeatKey("east"), Buffer.from(value)), heartbeat);
  assert.throws(() => encodeHeartbeat({ ...heartbeat, identity: "" }), {
    name: "InvalidRecordError",
    message: /^invalid registry record: identity: /,
  });
  assert.throws(
    () => encodeHeartbeat({ ...heartbeat, startedAt: "yesterday" }),
    new InvalidRecordError("startedAt", "must be an ISO 8601 UTC time"),
  );
});

test("decodeHeartbeat rejects other keys, bad values and a cluster that is not the key's", () => {
  const key = heartbeatKey("east");
  const value = encodeHeartbeat(sampleHeartbeat());
  const fails = (k: string, v: string | Buffer, path: string, detail: string): void =>
    decodeFails(k, v, path, detail, decodeHeartbeat);
  fails(leaderKey("east"), value, "", "a leader key holds no heartbeat");
  fails(recordKey(fn), value, "", "a function key holds no heartbeat");
  fails(
    "/switchboard/v1/clusters/east",
    value,
    "",
    'key "/switchboard/v1/clusters/east": nothing after the cluster',
  );
  fails(heartbeatKey("east-2"), value, "cluster", 'is "east" but the key says "east-2"');
  fails(key, Buffer.from([0xff]), "", "not valid UTF-8");
  fails(key, "alive", "", "not valid JSON (Unexpected token 'a', \"alive\" is not valid JSON)");
  fails(key, "[]", "", "must be a JSON object");
  fails(key, JSON.stringify({ ...sampleHeartbeat(), version: 1 }), "version", "must be a string");
  fails(
    key,
    JSON.stringify({ ...sampleHeartbeat(), cluster: "East" }),
    "cluster",
    "must be a DNS-1123 subdomain",
  );
  const { identity: _, ...anonymous } = sampleHeartbeat();
  fails(key, JSON.stringify(anonymous), "identity", "is required");
  const extra = JSON.stringify({ ...sampleHeartbeat(), gateways: 3 });
  assert.deepEqual(decodeHeartbeat(key, extra), sampleHeartbeat(), "unknown fields are dropped");
});
