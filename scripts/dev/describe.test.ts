import assert from "node:assert/strict";
import { test } from "node:test";
import { describeStatus, type StatusObject } from "./describe.ts";

const obj = (
  generation: number,
  conditions: NonNullable<StatusObject["status"]>["conditions"],
): StatusObject => ({
  kind: "Subscription",
  metadata: { name: "s", namespace: "n", generation },
  status: { conditions },
});
const cond = (type: string, status: string, reason: string, message: string, observedGeneration = 2) => ({
  type,
  status,
  reason,
  message,
  observedGeneration,
});

test("Ready for the current generation is Ready", () => {
  assert.deepEqual(describeStatus(obj(2, [cond("Ready", "True", "Registered", "")])), {
    state: "ready",
    text: "Ready",
  });
});

test("not Ready names the first failing condition with its reason and message", () => {
  const verdict = describeStatus(
    obj(2, [
      cond("FunctionFound", "True", "Found", ""),
      cond("FilterValid", "False", "CELCompileError", "Unexpected end of input"),
      cond("Ready", "False", "CELCompileError", "Unexpected end of input"),
    ]),
  );
  assert.deepEqual(verdict, {
    state: "failing",
    text: "not Ready — FilterValid=False CELCompileError: Unexpected end of input",
  });
});

test("a status of an older generation, or none, is pending: the operator has not reported yet", () => {
  assert.equal(describeStatus(obj(3, [cond("Ready", "True", "Registered", "")])).state, "pending");
  assert.equal(describeStatus({ kind: "VPN", metadata: { name: "v", generation: 1 } }).state, "pending");
});
