import assert from "node:assert/strict";
import { test } from "node:test";
import { forwardedPorts, podPort } from "./gateway.ts";

test("the local ports kubectl port-forward prints, in the order of the ports asked for", () => {
  const out =
    "Forwarding from 127.0.0.1:41000 -> 8080\nForwarding from 127.0.0.1:41001 -> 9090\nHandling connection for 41000\n";
  assert.deepEqual(forwardedPorts(out), [41000, 41001]);
  assert.deepEqual(forwardedPorts("Forwarding from [::1]:41000 -> 8080\n"), []);
});

test("a Service's targetPort on a pod: a number as is, a name by the pod's container ports", () => {
  const pod = {
    name: "gw-0",
    ports: [
      { name: "http", port: 8080 },
      { name: "metrics", port: 9090 },
    ],
  };
  assert.equal(podPort(9091, pod), 9091);
  assert.equal(podPort("9092", pod), 9092);
  assert.equal(podPort("metrics", pod), 9090);
  assert.equal(podPort("admin", pod), undefined);
});
