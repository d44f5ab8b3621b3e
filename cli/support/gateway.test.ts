import assert from "node:assert/strict";
import { test } from "node:test";
import { forwardedPorts } from "./gateway.ts";

test("the local ports kubectl port-forward prints, in the order of the ports asked for", () => {
  const out =
    "Forwarding from 127.0.0.1:41000 -> 8080\nForwarding from 127.0.0.1:41001 -> 9090\nHandling connection for 41000\n";
  assert.deepEqual(forwardedPorts(out), [41000, 41001]);
  assert.deepEqual(forwardedPorts("Forwarding from [::1]:41000 -> 8080\n"), []);
});
