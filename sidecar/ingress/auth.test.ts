// Bearer-token authentication against the routing table: the digest of a token names its VPN,
// judged against the table of the moment (a revoked token is refused on its next request).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { ProblemError } from "../problem.ts";
import { buildRoutingTable, type RoutingTable } from "../routing/index.ts";
import { snapshotOf, vpnRecord } from "../testing/routing.ts";
import { authenticate } from "./auth.ts";

const sha = (t: string): string => createHash("sha256").update(t).digest("hex");

const tableWith = (tokens: Record<string, string>): RoutingTable =>
  buildRoutingTable(
    snapshotOf(
      Object.entries(tokens).map(([vpn, token]) =>
        vpnRecord(vpn, "east", { namespaces: [vpn], publishers: [{ name: "ci", tokenSha256: sha(token) }] }),
      ),
    ),
  );

const status = (f: () => unknown): number => {
  try {
    f();
  } catch (err) {
    assert.ok(err instanceof ProblemError);
    return err.status;
  }
  return 0;
};

test("a token names its VPN in the table of the moment: moved or revoked, it is judged anew", () => {
  const before = tableWith({ blue: "tok-1", green: "tok-2" });
  assert.equal(authenticate(before, "Bearer tok-1", "10.0.0.1", undefined).name, "blue");
  assert.equal(authenticate(before, "bearer   tok-1 ", "10.0.0.1", undefined).name, "blue");
  assert.equal(authenticate(before, "Bearer tok-1", "10.0.0.1", undefined).name, "blue", "seen again");
  const moved = tableWith({ green: "tok-1" });
  assert.equal(authenticate(moved, "Bearer tok-1", "10.0.0.1", undefined).name, "green");
  const revoked = tableWith({ green: "tok-2" });
  assert.equal(
    status(() => authenticate(revoked, "Bearer tok-1", "10.0.0.1", undefined)),
    401,
  );
});

test("a malformed Authorization is refused every time, however many other values came between", () => {
  const table = tableWith({ blue: "tok-1" });
  for (let round = 0; round < 2; round++) {
    assert.equal(
      status(() => authenticate(table, "Basic dXNlcg==", "10.0.0.1", undefined)),
      401,
    );
    assert.equal(
      status(() => authenticate(table, "Bearer", "10.0.0.1", undefined)),
      401,
    );
    // More distinct values than the digests kept: the first ones are judged again, the same way.
    for (let i = 0; i < 600; i++)
      assert.equal(
        status(() => authenticate(table, `Bearer other-${i}`, "10.0.0.1", undefined)),
        401,
      );
    assert.equal(authenticate(table, "Bearer tok-1", "10.0.0.1", undefined).name, "blue");
  }
});
