import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { DevUsageError, parseDevFlags, parseServiceOverride } from "./flags.ts";

const dir = mkdtempSync(join(tmpdir(), "dev-flags-"));

test("flags: defaults, relative paths against the caller's directory, repeated --service", () => {
  const config = parseDevFlags(
    ["-f", ".", "--service", "shop/orders=http://127.0.0.1:3000/", "--service", "a/b=https://x.test/api"],
    dir,
    "/repo",
  );
  assert.equal(config.source, dir);
  assert.equal(config.port, 8080);
  assert.equal(config.metricsPort, 9090);
  assert.equal(config.work, "/repo/.work/dev");
  assert.deepEqual(config.services.get("shop/orders"), {
    namespace: "shop",
    name: "orders",
    url: "http://127.0.0.1:3000",
  });
  assert.equal(config.services.get("a/b")?.url, "https://x.test/api");
  assert.ok(Object.isFrozen(config));
});

test("bad command lines are one precise line each", () => {
  const refuse = (argv: string[], message: RegExp) =>
    assert.throws(
      () => parseDevFlags(argv, dir, "/repo"),
      (err: unknown) => err instanceof DevUsageError && message.test(err.message),
    );
  refuse([], /^usage: npm run dev -- -f DIR/);
  refuse(["-f", "nope"], /-f nope: .*nope is not a directory/);
  refuse(["-f", ".", "--port", "80a"], /^--port 80a: not a port/);
  refuse(["-f", ".", "--port", "9000", "--metrics-port", "9000"], /both 9000/);
  refuse(["-f", ".", "--bogus"], /Unknown option '--bogus'/);
  refuse(
    ["-f", ".", "--service", "a/b=http://h", "--service", "a/b=http://i"],
    /--service a\/b is given twice/,
  );
});

test("--service NS/NAME=URL: names are DNS labels, the URL plain http(s)", () => {
  const refuse = (text: string, message: RegExp) =>
    assert.throws(
      () => parseServiceOverride(text),
      (err: unknown) => err instanceof DevUsageError && message.test(err.message),
    );
  refuse("orders=http://h", /expected NS\/NAME=URL/);
  refuse("Shop/orders=http://h", /Shop is not a DNS-1123 label/);
  refuse("shop/orders=localhost:3000", /must be http or https|is not a URL/);
  refuse("shop/orders=ftp://h", /must be http or https/);
  refuse("shop/orders=http://h/?q=1", /may not have a query/);
});
