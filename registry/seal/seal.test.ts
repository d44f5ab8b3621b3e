import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { decodeRecord, encodeRecord } from "../codec.ts";
import { NotThisReadersVpnError, RegistryDecodeError } from "../errors.ts";
import { recordKey } from "../keys.ts";
import { sampleFunction, sampleSubscription, sampleVpn } from "../testing/records.ts";
import { parseVpnKeyFile, vpnKeyFileContent } from "./files.ts";
import { masterKeyring, SealError, seal, unseal, vpnKeyring, vpnSecret } from "./index.ts";

const master = randomBytes(32);
const ring = masterKeyring(master);
const fn = {
  ...sampleFunction({ vpn: "payments" }),
  spec: { ...sampleFunction({ vpn: "payments" }).spec, headers: { "x-api-key": "s3cret-of-payments" } },
};
const other = sampleSubscription({ vpn: "shop" });

test("a sealed record keeps its envelope in clear and nothing of its spec", () => {
  const value = encodeRecord(fn, ring);
  const json: unknown = JSON.parse(value);
  assert.ok(json !== null && typeof json === "object");
  assert.deepEqual(Object.keys(json).sort(), ["kind", "owner", "schema", "sealed", "vpn"]);
  assert.ok(!value.includes("s3cret-of-payments"));
  for (const url of fn.spec.endpoints) assert.ok(!value.includes(url), url);
  assert.deepEqual(decodeRecord(recordKey(fn), value, ring), fn);
});

test("sealing is deterministic (the writer compares encoded values) and differs per key and content", () => {
  assert.equal(encodeRecord(fn, ring), encodeRecord(fn, ring));
  const changed = { ...fn, spec: { ...fn.spec, timeoutMs: fn.spec.timeoutMs + 1 } };
  assert.notEqual(encodeRecord(changed, ring), encodeRecord(fn, ring));
  const key = ring.forVpn("payments");
  assert.ok(key);
  assert.notEqual(seal(key, "/a", "same"), seal(key, "/b", "same"));
});

test("a VPN's key opens that VPN's records only; other VPNs' are skipped unread", () => {
  const payments = vpnKeyring("payments", vpnSecret(master, "payments"));
  assert.deepEqual(decodeRecord(recordKey(fn), encodeRecord(fn, ring), payments), fn);
  const value = encodeRecord(other, ring);
  assert.throws(() => decodeRecord(recordKey(other), value, payments), NotThisReadersVpnError);
  // Even in clear, another VPN's record is not this reader's.
  assert.throws(() => decodeRecord(recordKey(other), encodeRecord(other), payments), NotThisReadersVpnError);
  // A key handed out for one VPN does not open another even when presented as that VPN's.
  const forged = vpnKeyring("shop", vpnSecret(master, "payments"));
  assert.throws(
    () => decodeRecord(recordKey(other), value, forged),
    (err) => err instanceof RegistryDecodeError && err.path === "sealed",
  );
});

test("without a keyring a sealed record is not readable, and a sealed value moved to another key does not open", () => {
  const value = encodeRecord(fn, ring);
  assert.throws(() => decodeRecord(recordKey(fn), value), NotThisReadersVpnError);
  const twin = { ...fn, owner: { ...fn.owner, name: "twin" } };
  const moved = value.replace(`"name":"${fn.owner.name}"`, `"name":"twin"`);
  assert.throws(
    () => decodeRecord(recordKey(twin), moved, ring),
    (err) => err instanceof RegistryDecodeError && /does not open/.test(err.message),
  );
});

test("a damaged sealed value is refused, never half-read", () => {
  const key = ring.forVpn("payments");
  assert.ok(key);
  const sealed = seal(key, "/k", "hello");
  const flipped = `${sealed.slice(0, -2)}${sealed.at(-2) === "A" ? "B" : "A"}${sealed.at(-1)}`;
  assert.throws(() => unseal(key, "/k", flipped), SealError);
  assert.throws(() => unseal(key, "/k", "v2.abc"), SealError);
  assert.equal(unseal(key, "/k", sealed), "hello");
});

test("unsealed records stay readable with a keyring (a registry written before sealing was on)", () => {
  const vpn = sampleVpn({ vpn: "payments" });
  assert.deepEqual(decodeRecord(recordKey(vpn), encodeRecord(vpn), ring), vpn);
});

test("VPN key files round-trip, and bad ones say what is wrong", () => {
  const content = vpnKeyFileContent("payments", vpnSecret(master, "payments"));
  const keyring = parseVpnKeyFile("/k", content);
  assert.equal(keyring.onlyVpn, "payments");
  assert.deepEqual(decodeRecord(recordKey(fn), encodeRecord(fn, ring), keyring), fn);
  assert.throws(() => parseVpnKeyFile("/k", "{"), /not JSON/);
  assert.throws(() => parseVpnKeyFile("/k", '{"vpn":"Bad_Name","key":"x"}'), /must be \{"vpn"/);
  assert.throws(() => parseVpnKeyFile("/k", '{"vpn":"a","key":"c2hvcnQ="}'), /32 random bytes/);
  assert.throws(() => masterKeyring(Buffer.alloc(16)), /32 bytes/);
});
