// The delivery clients' contract (./client.ts), held by node:http and undici alike against real
// servers on loopback: what is sent and what comes back, Retry-After, the per-attempt deadline over
// headers and body, the response body cap, connection reuse, refused connections, TLS with the
// URL's name and a certificate check, bad header values, and a close that lets requests finish.
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { join } from "node:path";
import { after, test } from "node:test";
import { createCa, createCert } from "../../e2e/pki.ts";
import { repoRoot } from "../../e2e/tools.ts";
import type { Admit, AttemptRequest, DeliveryPool, PoolFactory } from "./client.ts";
import { EgressDeniedError } from "./egress.ts";
import { nodePools } from "./node-client.ts";
import { undiciPools } from "./undici-client.ts";

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

// Closed once every test has run: the pools first (their requests finish), then the servers.
const pools: DeliveryPool[] = [];
const closers: (() => void)[] = [];
after(async () => {
  for (const p of pools) await p.close();
  for (const close of closers) close();
});

/** An HTTP server on loopback answering with `handler`, counting the connections it accepted. */
const serve = async (handler: Handler) => {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => handler(req, res, Buffer.concat(chunks)));
  });
  server.on("connection", (s: Socket) => {
    connections++;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  closers.push(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => connections,
  };
};

/** Admits every connection, to the host itself, and counts the admissions. */
const admitAll = () => {
  let asked = 0;
  const admit: Admit = async (host) => {
    asked++;
    return { address: host === "fn.test" ? "127.0.0.1" : host };
  };
  return { admit, asked: () => asked };
};

const request = (over: Partial<AttemptRequest> = {}): AttemptRequest => ({
  method: "POST",
  headers: { "ce-id": "1", "content-type": "application/json" },
  body: Buffer.from('{"a":1}'),
  timeoutMs: 5000,
  keepBody: true,
  ...over,
});

for (const [kind, factory] of [
  ["node:http", nodePools],
  ["undici", undiciPools],
] as [string, PoolFactory][]) {
  const pool = (admit: Admit = admitAll().admit) => {
    const p = factory(admit);
    pools.push(p);
    return p;
  };

  test(`${kind}: the request arrives as sent; status, headers and body come back`, async () => {
    let seen: {
      method?: string | undefined;
      url?: string | undefined;
      headers?: IncomingMessage["headers"];
      body?: string;
    } = {};
    const fn = await serve((req, res, body) => {
      seen = { method: req.method, url: req.url, headers: req.headers, body: body.toString() };
      res.setHeader("set-cookie", ["a=1", "b=2"]);
      res.writeHead(201, { "content-type": "text/plain", "x-answer": "yes" });
      res.end("created");
    });
    const result = await pool().send(`${fn.url}/fn/path?q=1`, request());
    assert.deepEqual(result.outcome, { status: 201 });
    assert.equal(result.body?.toString(), "created");
    assert.equal(result.headers["x-answer"], "yes");
    assert.deepEqual(result.headers["set-cookie"], ["a=1", "b=2"]);
    assert.equal(seen.method, "POST");
    assert.equal(seen.url, "/fn/path?q=1");
    assert.equal(seen.body, '{"a":1}');
    assert.equal(seen.headers?.["ce-id"], "1");
    assert.equal(seen.headers?.["content-length"], "7");
    const empty = await pool().send(`${fn.url}/`, request({ body: undefined }));
    assert.deepEqual(empty.outcome, { status: 201 });
    assert.equal(seen.body, "");
    assert.equal(seen.headers?.["content-length"], "0", "an empty body is sent with Content-Length 0");
  });

  test(`${kind}: Retry-After in seconds is read; an async attempt drains the body and keeps none`, async () => {
    const fn = await serve((_req, res) => {
      res.writeHead(503, { "retry-after": "2" });
      res.end("busy ".repeat(1000));
    });
    const p = pool();
    const sync = await p.send(`${fn.url}/`, request());
    assert.deepEqual(sync.outcome, { status: 503, retryAfterMs: 2000 });
    const async = await p.send(`${fn.url}/`, request({ keepBody: false }));
    assert.deepEqual(async.outcome, { status: 503, retryAfterMs: 2000 });
    assert.equal(async.body, undefined);
  });

  test(`${kind}: sequential attempts reuse connections, each admitted once`, async () => {
    const fn = await serve((_req, res) => res.end("ok"));
    const { admit, asked } = admitAll();
    const p = pool(admit);
    for (let i = 0; i < 5; i++) {
      const r = await p.send(`${fn.url}/`, request({ keepBody: i % 2 === 0 }));
      assert.deepEqual(r.outcome, { status: 200 });
    }
    // node:http reuses its one connection; undici may open a second while the first is released.
    assert.ok(fn.connections() <= 2, `${fn.connections()} connections for 5 attempts`);
    assert.equal(asked(), fn.connections(), "the egress policy is asked per connection, not per request");
  });

  test(`${kind}: the deadline covers a function that never answers, and one that stalls the body a sync caller waits for`, async () => {
    const silent = await serve(() => undefined);
    const stalled = await serve((_req, res) => {
      res.writeHead(200, { "content-length": "100" });
      res.write("partial");
    });
    const p = pool();
    assert.deepEqual((await p.send(`${silent.url}/`, request({ timeoutMs: 200 }))).outcome, {
      error: "timeout",
    });
    assert.deepEqual((await p.send(`${stalled.url}/`, request({ timeoutMs: 200 }))).outcome, {
      error: "timeout",
    });
    // An async attempt's outcome is the status: the function answered.
    assert.deepEqual(
      (await p.send(`${stalled.url}/`, request({ timeoutMs: 200, keepBody: false }))).outcome,
      {
        status: 200,
      },
    );
  });

  test(`${kind}: the deadline covers a connection not yet made, and the request is never sent after it`, async () => {
    let requests = 0;
    const fn = await serve((_req, res) => {
      requests++;
      res.end("ok");
    });
    // The egress check holds connections until the first attempt has timed out.
    let held = true;
    const waiting: (() => void)[] = [];
    const p = pool((host) =>
      held
        ? new Promise((resolve) => waiting.push(() => resolve({ address: host })))
        : Promise.resolve({ address: host }),
    );
    const r = await p.send(`${fn.url}/`, request({ timeoutMs: 200 }));
    assert.deepEqual(r.outcome, { error: "timeout" });
    held = false;
    for (const admit of waiting) admit();
    // A later attempt on the same pool goes through; the one that timed out was never sent.
    assert.deepEqual((await p.send(`${fn.url}/`, request())).outcome, { status: 200 });
    assert.equal(requests, 1);
  });

  test(`${kind}: a response body past the cap fails the attempt; a refused connection is a network failure`, async () => {
    const fn = await serve((_req, res) => res.end("x".repeat(64 * 1024)));
    const p = pool();
    const capped = await p.send(`${fn.url}/`, request({ maxResponseBytes: 1024 }));
    assert.deepEqual(capped.outcome, { error: "network" });
    assert.equal(capped.body, undefined);
    const whole = await p.send(`${fn.url}/`, request({ maxResponseBytes: 64 * 1024 }));
    assert.equal(whole.body?.length, 64 * 1024);
    const refused = await p.send("http://127.0.0.1:1/", request());
    assert.deepEqual(refused.outcome, { error: "network" });
  });

  test(`${kind}: a connection the egress policy refuses is never opened; the reason comes back`, async () => {
    const fn = await serve((_req, res) => res.end("ok"));
    const p = pool(async (host, port) => {
      throw new EgressDeniedError(`${host}:${port} is refused: test`, { host, address: host, port });
    });
    const r = await p.send(`${fn.url}/`, request());
    assert.deepEqual(r.outcome, {
      error: "egress-denied",
      reason: `127.0.0.1:${new URL(fn.url).port} is refused: test`,
    });
    assert.equal(fn.connections(), 0);
  });

  test(`${kind}: a header value Node refuses is a failed attempt, not a throw`, async () => {
    const fn = await serve((_req, res) => res.end("ok"));
    const r = await pool().send(`${fn.url}/`, request({ headers: { "x-bad": "a\r\nb" } }));
    assert.deepEqual(r.outcome, { error: "network" });
  });

  test(`${kind}: TLS is to the admitted address with the URL's name (SNI), and the certificate is checked`, async () => {
    const dir = mkdtempSync(join(repoRoot, ".work", "clients-tls-"));
    const ca = await createCa(dir);
    const cert = await createCert(dir, ca, {
      name: "fn",
      commonName: "fn.test",
      dnsNames: ["fn.test"],
      usage: "server",
    });
    const names: string[] = [];
    const server = createTlsServer(
      {
        cert: readFileSync(cert.cert),
        key: readFileSync(cert.key),
        SNICallback: (name, cb) => {
          names.push(name);
          cb(null);
        },
      },
      (_req, res) => res.end("ok"),
    );
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    closers.push(() => {
      server.closeAllConnections();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const port = (server.address() as AddressInfo).port;
    // This CA is not one the gateway trusts: the handshake reaches the server with the name, and fails.
    const r = await pool().send(`https://fn.test:${port}/`, request());
    assert.deepEqual(r.outcome, { error: "network" });
    assert.deepEqual(names, ["fn.test"]);
  });

  test(`${kind}: close lets a request in flight finish, then closes`, async () => {
    let release: (() => void) | undefined;
    const fn = await serve((_req, res) => {
      release = () => res.end("late");
    });
    const p = pool();
    const pending = p.send(`${fn.url}/`, request());
    while (!release) await new Promise((r) => setImmediate(r));
    const closed = p.close();
    assert.equal(p.closed, true);
    release();
    const r = await pending;
    assert.deepEqual(r.outcome, { status: 200 });
    assert.equal(r.body?.toString(), "late");
    await closed;
  });
}
