import assert from "node:assert/strict";
import { test } from "node:test";
import { type BodyReservation, createBodyBudget } from "./budget.ts";

const reserved = (r: BodyReservation | string): BodyReservation => {
  if (typeof r === "string") assert.fail(`refused: ${r}`);
  return r;
};

test("a VPN is refused past its share while another VPN still gets bytes", () => {
  const budget = createBodyBudget({ maxBytes: 1000, maxBytesPerVpn: 400 });
  reserved(budget.reserve("a", 300));
  reserved(budget.reserve("a", 100));
  assert.equal(budget.reserve("a", 1), "vpn_bytes");
  reserved(budget.reserve("b", 400));
  assert.deepEqual([budget.held(), budget.heldBy("a"), budget.heldBy("b")], [800, 400, 400]);
});

test("the gateway's total is refused once full, whatever each VPN holds", () => {
  const budget = createBodyBudget({ maxBytes: 1000, maxBytesPerVpn: 400 });
  for (const vpn of ["a", "b"]) reserved(budget.reserve(vpn, 400));
  assert.equal(budget.reserve("c", 201), "gateway_bytes");
  reserved(budget.reserve("c", 200));
  assert.equal(budget.reserve("d", 1), "gateway_bytes");
});

test("settling lowers a reservation to the bytes received, and release gives back the rest once", () => {
  const budget = createBodyBudget({ maxBytes: 1000, maxBytesPerVpn: 1000 });
  const r = reserved(budget.reserve("a", 600));
  r.settle(200);
  assert.equal(budget.held(), 200);
  r.settle(900);
  assert.equal(budget.held(), 200, "settling never raises a reservation");
  reserved(budget.reserve("a", 800));
  r.release();
  r.release();
  assert.deepEqual([budget.held(), budget.heldBy("a")], [800, 800]);
});

test("a request without a body always fits; a VPN holding nothing is forgotten", () => {
  const budget = createBodyBudget({ maxBytes: 10, maxBytesPerVpn: 10 });
  const full = reserved(budget.reserve("a", 10));
  reserved(budget.reserve("a", 0)).release();
  full.release();
  assert.deepEqual([budget.held(), budget.heldBy("a")], [0, 0]);
});
