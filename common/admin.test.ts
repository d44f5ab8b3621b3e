import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, test } from "node:test";
import { Counter, Registry } from "prom-client";
import { type AdminServer, serveAdmin } from "./admin.ts";

const registry = new Registry();
new Counter({ name: "admin_test_total", help: "a counter", registers: [registry] }).inc();
let why: string | undefined;
const admin: AdminServer = await serveAdmin({
  host: "127.0.0.1",
  port: 0,
  registry,
  notReady: () => why,
  maxBodyBytes: 1000,
  extend: (app) => {
    app.get("/extra", (c) => c.json({ extra: true }));
  },
});
after(() => admin.close());
const url = (path: string) => `http://127.0.0.1:${admin.port}${path}`;

test("/healthz, /readyz and /metrics answer as probes and Prometheus expect", async () => {
  const health = await fetch(url("/healthz"));
  assert.deepEqual(
    [health.status, health.headers.get("content-type"), await health.text()],
    [200, "text/plain; charset=UTF-8", "ok"],
  );
  assert.equal((await fetch(url("/readyz?verbose"))).status, 200);
  why = "the first registry snapshot has not been loaded";
  const notReady = await fetch(url("/readyz"));
  assert.deepEqual([notReady.status, await notReady.text()], [503, `not ready: ${why}`]);
  why = undefined;
  const metrics = await fetch(url("/metrics"));
  assert.equal(metrics.headers.get("content-type"), registry.contentType);
  assert.match(await metrics.text(), /^admin_test_total 1$/m);
  const head = await fetch(url("/healthz"), { method: "HEAD" });
  assert.deepEqual([head.status, await head.text()], [200, ""]);
});

/** The Connection header of the answer to GET `path`, sent with `body` when given. */
const connectionHeader = (path: string, body?: string): Promise<string | undefined> =>
  new Promise((done, fail) => {
    const { request } = process.getBuiltinModule("node:http");
    // A GET body goes out unframed unless its length is given.
    const headers = body === undefined ? {} : { "content-length": String(Buffer.byteLength(body)) };
    const req = request({ host: "127.0.0.1", port: admin.port, path, method: "GET", headers }, (res) => {
      res.resume();
      res.on("end", () => done(res.headers.connection));
    });
    req.on("error", fail);
    req.end(body);
  });

test("probes keep their connection open; a body they do not read closes it after the answer", async () => {
  for (const path of ["/healthz", "/readyz", "/metrics"])
    assert.equal(await connectionHeader(path), "keep-alive", path);
  assert.equal(await connectionHeader("/healthz", "unread body"), "close");
});

test("other routes, other methods and bodies over the cap go to the program's admin app", async () => {
  assert.deepEqual(await (await fetch(url("/extra"))).json(), { extra: true });
  assert.equal((await fetch(url("/nothing-here"))).status, 404);
  assert.equal((await fetch(url("/healthz/"))).status, 404);
  assert.equal((await fetch(url("/metrics"), { method: "POST", body: "x".repeat(2000) })).status, 413);
  assert.equal((await fetch(url("/metrics"), { method: "POST", body: "x" })).status, 404);
});

test("a program serving probes and metrics does not load Node's bundled undici (2 MiB of heap)", () => {
  // Everything the gateway's entry point imports (it runs on import itself, so not main.ts), in a
  // process of its own; requests made with node:http taken as main.ts does (fetch would load it).
  const main = join(import.meta.dirname, "../sidecar/main.ts");
  // Its static imports, and the modules it imports when a flag picks them (the delivery clients).
  const imports = [
    ...readFileSync(main, "utf8").matchAll(/^import (?!type )[^;]*? from "([^"]+)";$|import\("([^"]+)"\)/gms),
  ].map(([, from, picked]) => {
    const target = from ?? picked ?? "";
    return target.startsWith(".") ? join(dirname(main), target) : target;
  });
  assert.ok(imports.length > 10, "main.ts's imports were read");
  assert.ok(
    imports.some((i) => i.endsWith("node-client.ts")),
    "and the ones it picks by flag",
  );
  const script = `
    const { request } = process.getBuiltinModule("node:http");
    for (const from of ${JSON.stringify(imports)}) await import(from);
    const { serveAdmin } = await import(${JSON.stringify(join(import.meta.dirname, "admin.ts"))});
    const { Registry } = await import("prom-client");
    const bundled = () => process.moduleLoadList.includes("NativeModule internal/deps/undici/undici");
    const admin = await serveAdmin({ host: "127.0.0.1", port: 0, registry: new Registry(), notReady: () => undefined });
    const get = (path) => new Promise((done, fail) =>
      request({ host: "127.0.0.1", port: admin.port, path }, (res) => { res.resume(); res.on("end", () => done(res.statusCode)); }).on("error", fail).end());
    const statuses = [await get("/healthz"), await get("/readyz"), await get("/metrics")];
    const before = bundled();
    await get("/explain");
    console.log(JSON.stringify({ statuses, before, after: bundled() }));
    await admin.close();
  `;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
  const { statuses, before, after } = JSON.parse(out.trim().split("\n").at(-1) ?? "{}");
  assert.deepEqual(statuses, [200, 200, 200]);
  assert.equal(before, false, "Node's bundled undici was loaded by the gateway's modules or its probes");
  assert.equal(after, true, "the admin app (hono) loads it: the check above can tell");
});
