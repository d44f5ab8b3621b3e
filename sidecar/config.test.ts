import assert from "node:assert/strict";
import { test } from "node:test";
import { parseGatewayConfig } from "./config.ts";

const base = ["--etcd", "http://127.0.0.1:2379", "--listen", "127.0.0.1:8080", "--cluster-name", "east"];

test("flags and env twins parse into a frozen config with defaults", () => {
  const c = parseGatewayConfig([...base, "--namespace", "shop"], { SWITCHBOARD_MAX_BATCH: "7" });
  assert.deepEqual(
    [c.listenHost, c.listenPort, c.namespace, c.maxBatch, c.maxBodyBytes, c.metricsPort],
    ["127.0.0.1", 8080, "shop", 7, 1048576, 9090],
  );
  assert.ok(Object.isFrozen(c));
});

test("bad or missing flags give one clear line", () => {
  const cases: [string[], RegExp][] = [
    [["--etcd", "http://x:1", "--cluster-name", "a"], /--listen \(or SWITCHBOARD_LISTEN\) is required/],
    [[...base, "--namespace", "Not_A_Label"], /--namespace: "Not_A_Label" is not a DNS-1123 label/],
    [[...base, "--max-batch", "0"], /--max-batch must be an integer from 1 to 10000/],
    [[...base, "--drain-timeout", "later"], /--drain-timeout: invalid duration "later"/],
    [[...base, "--listen", "8080"], /--listen must be HOST:PORT/],
  ];
  for (const [argv, message] of cases) {
    assert.throws(
      () => parseGatewayConfig(argv, {}),
      (err: Error) => err.name === "ConfigError" && message.test(err.message),
    );
  }
});
