import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, test } from "node:test";
import { Counter, Registry } from "prom-client";
import { type AdminServer, json, serveAdmin } from "./admin.ts";

const registry = new Registry();
new Counter({ name: "admin_test_total", help: "a counter", registers: [registry] }).inc();
let why: string | undefined;
/** Stream writers given a response already ended (HEAD). */
let headEnded = 0;
const admin: AdminServer = await serveAdmin({
  host: "127.0.0.1",
  port: 0,
  registry,
  notReady: () => why,
  maxBodyBytes: 1000,
  extend: (app) => {
    app.get("/extra", () => json({ extra: true }));
    app.get("/echo", (c) => json({ a: c.query("a"), b: c.query("b"), header: c.header("x-echo") ?? null }));
    app.post("/fails", () => {
      throw new Error("a secret detail");
    });
    app.get("/rejects", () => Promise.reject(new Error("a secret detail")));
    app.get("/stream", () => ({
      status: 200,
      headers: { "content-type": "application/x-ndjson" },
      body: (res) => {
        if (res.writableEnded) {
          headEnded++;
          return;
        }
        res.write('{"line":1}\n');
        setImmediate(() => res.end('{"line":2}\n'));
      },
    }));
  },
});
after(() => admin.close());
const url = (path: string) => `http://127.0.0.1:${admin.port}${path}`;

test("/healthz, /readyz and /metrics answer as probes and Prometheus expect, each request counted", async () => {
  const before = admin.requests();
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
  // The gateway trims glibc's arenas after intervals with requests, these included (malloc-trim.ts).
  assert.equal(admin.requests() - before, 5);
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

test("a program's routes: its answers, decoded query and headers, HEAD, streams; 404 for anything else", async () => {
  assert.deepEqual(await (await fetch(url("/extra"))).json(), { extra: true });
  const head = await fetch(url("/extra"), { method: "HEAD" });
  assert.deepEqual(
    [head.status, head.headers.get("content-type"), await head.text()],
    [200, "application/json", ""],
  );
  const echo = await fetch(url("/echo?a=x%20y&a=second&b=1+2"), { headers: { "x-echo": "hi" } });
  assert.deepEqual(await echo.json(), { a: "x y", b: "1 2", header: "hi" });
  assert.equal(await (await fetch(url("/stream"))).text(), '{"line":1}\n{"line":2}\n');
  // HEAD on a stream: the head only, and the writer is told the response has ended.
  const streamHead = await fetch(url("/stream"), { method: "HEAD" });
  assert.deepEqual(
    [streamHead.status, streamHead.headers.get("content-type"), await streamHead.text(), headEnded],
    [200, "application/x-ndjson", "", 1],
  );
  assert.equal((await fetch(url("/nothing-here"))).status, 404);
  assert.equal((await fetch(url("/healthz/"))).status, 404);
  assert.equal((await fetch(url("/extra"), { method: "POST", body: "x" })).status, 404);
  assert.equal((await fetch(url("/metrics"), { method: "POST", body: "x" })).status, 404);
});

test("a route's error is answered by the program's mapping; by default a 500 that says nothing", async () => {
  for (const [path, method] of [
    ["/fails", "POST"],
    ["/rejects", "GET"],
  ] as const) {
    const res = await fetch(url(path), { method });
    assert.deepEqual([res.status, await res.text()], [500, "Internal Server Error"], path);
  }
  const mapped = await serveAdmin({
    host: "127.0.0.1",
    port: 0,
    registry,
    notReady: () => undefined,
    extend: (app) => {
      app.onError((err) => json({ mapped: String(err) }, 418));
      app.get("/fails", () => {
        throw new Error("why");
      });
    },
  });
  try {
    const res = await fetch(`http://127.0.0.1:${mapped.port}/fails`);
    assert.deepEqual([res.status, await res.json()], [418, { mapped: "Error: why" }]);
  } finally {
    await mapped.close();
  }
});

test("a body over the cap is refused before it is read, on any path; one a route leaves unread closes the connection", async () => {
  for (const path of ["/metrics", "/extra", "/nothing-here"]) {
    const res = await fetch(url(path), { method: "POST", body: "x".repeat(2000) });
    assert.deepEqual(
      [res.status, res.headers.get("content-type"), ((await res.json()) as { detail: string }).detail],
      [413, "application/problem+json", "the request body (2000 bytes) exceeds 1000 bytes"],
      path,
    );
  }
  assert.equal(await connectionHeader("/extra"), "keep-alive");
  assert.equal(await connectionHeader("/extra", "unread body"), "close");
});

test("a gateway serving probes, metrics and its admin routes does not load Node's bundled undici", () => {
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
    const { explainRoutes } = await import(${JSON.stringify(join(import.meta.dirname, "../sidecar/ingress/explain.ts"))});
    const admin = await serveAdmin({
      host: "127.0.0.1", port: 0, registry: new Registry(), notReady: () => undefined,
      extend: (app) => {
        explainRoutes({ table: () => undefined, config: { namespace: "", maxBodyBytes: 1000, maxEventBytes: 1000 } })(app);
        app.get("/route", () => ({ status: 200, headers: {}, body: "ok" }));
      },
    });
    const ask = (method, path) => new Promise((done, fail) =>
      request({ host: "127.0.0.1", port: admin.port, path, method }, (res) => { res.resume(); res.on("end", () => done(res.statusCode)); }).on("error", fail).end());
    const statuses = [];
    for (const [method, path] of [["GET", "/healthz"], ["GET", "/readyz"], ["GET", "/metrics"], ["POST", "/explain?vpn=v"], ["GET", "/route"], ["GET", "/nothing"]])
      statuses.push(await ask(method, path));
    const before = bundled();
    void globalThis.Response;
    console.log(JSON.stringify({ statuses, before, after: bundled() }));
    await admin.close();
  `;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
  const { statuses, before, after } = JSON.parse(out.trim().split("\n").at(-1) ?? "{}");
  assert.deepEqual(statuses, [200, 200, 200, 503, 200, 404]);
  assert.equal(
    before,
    false,
    "Node's bundled undici was loaded by the gateway's modules or its admin routes",
  );
  assert.equal(after, true, "a fetch global loads it: the check above can tell");
});
