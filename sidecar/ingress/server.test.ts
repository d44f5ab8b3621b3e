// The ingress's node:http server over real sockets, with a recording handler: what the handler
// sees of a request (headers, body, caller) and how its replies are written, including the body
// cap and what a function's answer headers become.
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { after, test } from "node:test";
import { Agent, request } from "undici";
import { parseCloudEvents } from "../cloudevents/index.ts";
import { ProblemError, payloadTooLarge, problemReply } from "../problem.ts";
import type { HeaderView, Reply } from "../types.ts";
import type { Ingress, IngressRequest } from "./index.ts";
import { nodeHeaders, serveIngress } from "./server.ts";

interface Seen {
  method: string;
  target: string;
  headers: [string, string][];
  authorization: string | null;
  body: string;
  remoteAddress: string | undefined;
}

let next: (req: IngressRequest) => Promise<Reply> = async () => ({ status: 204, headers: {} });
const seen: Seen[] = [];
const ingress: Ingress = async (req) => next(req);
/** Requests the server said arrived (onRequest: the event-loop lag's sampling starts again with each). */
let arrived = 0;
const server = await serveIngress(ingress, {
  host: "127.0.0.1",
  port: 0,
  maxBodyBytes: 1024,
  requestTimeoutMs: 5_000,
  onRequest: () => arrived++,
});
const url = `http://127.0.0.1:${server.port}`;
const dispatcher = new Agent({ connections: 1 });
after(async () => {
  await dispatcher.close();
  await server.close();
});

const recording = (reply: Reply) => async (req: IngressRequest) => {
  try {
    const body = Buffer.from(await req.body()).toString();
    seen.push({
      method: req.method,
      target: req.target,
      headers: [...req.headers],
      authorization: req.headers.get("authorization"),
      body,
      remoteAddress: req.remoteAddress,
    });
    return reply;
  } catch (err) {
    return problemReply(err);
  }
};

test("the handler sees the method, target, lower-case headers in name order, body and caller", async () => {
  next = recording({ status: 202, headers: { "content-type": "application/json" }, body: '{"ok":1}' });
  const res = await request(`${url}/a/b?x=1`, {
    method: "POST",
    dispatcher,
    headers: { "CE-Type": "t", "X-Multi": ["a", "b"], authorization: "Bearer k" },
    body: "hello",
  });
  assert.equal(res.statusCode, 202);
  assert.equal(res.headers["content-length"], "8");
  assert.equal(await res.body.text(), '{"ok":1}');
  const got = seen.pop();
  assert.ok(got);
  assert.equal(got.method, "POST");
  assert.equal(got.target, "/a/b?x=1");
  assert.equal(got.body, "hello");
  assert.equal(got.authorization, "Bearer k");
  assert.equal(got.remoteAddress, "127.0.0.1");
  const names = got.headers.map(([k]) => k);
  assert.deepEqual(names, [...names].sort());
  assert.deepEqual(
    got.headers.filter(([k]) => k === "ce-type" || k === "x-multi"),
    [
      ["ce-type", "t"],
      ["x-multi", "a, b"],
    ],
  );
});

test("each request arriving is told to onRequest once, before the handler runs", async () => {
  const before = arrived;
  let atHandler = -1;
  next = async () => {
    atHandler = arrived - before;
    return { status: 204, headers: {} };
  };
  for (let i = 0; i < 3; i++) {
    const res = await request(url, { dispatcher, method: "POST", body: "x" });
    await res.body.dump();
  }
  assert.equal(arrived - before, 3);
  assert.equal(atHandler, 3, "the third request was counted before its handler ran");
});

test("a body declared over the cap is refused with 413 before it is read, and the connection closes", async () => {
  next = recording({ status: 200, headers: {} });
  const res = await request(url, {
    method: "POST",
    dispatcher,
    headers: { "content-type": "application/json" },
    body: "x".repeat(2048),
  });
  assert.equal(res.statusCode, 413);
  assert.equal(res.headers["content-type"], "application/problem+json");
  assert.equal(res.headers.connection, "close");
  const problem = (await res.body.json()) as { type: string; detail: string };
  assert.equal(problem.type, "https://switchboard.dev/problems/payload-too-large");
  assert.match(problem.detail, /2048 bytes\) exceeds 1024 bytes/);
  assert.equal(seen.length, 0, "the handler got no body");
});

test("a chunked body that grows past the cap is refused with 413", async () => {
  next = recording({ status: 200, headers: {} });
  const status = await new Promise<number>((resolve, reject) => {
    const req = httpRequest(url, { method: "POST", headers: { "transfer-encoding": "chunked" } });
    req.on("response", (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    for (let i = 0; i < 8; i++) req.write("y".repeat(200));
    req.end();
  });
  assert.equal(status, 413);
  assert.equal(seen.length, 0);
});

test("a request answered without reading its body leaves the connection usable", async () => {
  next = async () => problemReply(payloadTooLarge("refused before reading"));
  const refused = await request(url, { method: "POST", dispatcher, body: "z".repeat(100) });
  await refused.body.dump();
  assert.equal(refused.statusCode, 413);
  next = recording({ status: 200, headers: {}, body: "again" });
  const res = await request(url, { method: "POST", dispatcher, body: "second" });
  assert.equal(await res.body.text(), "again");
  assert.equal(seen.pop()?.body, "second");
});

test("replies keep repeated headers, and a 204 has no body", async () => {
  next = async () => ({ status: 200, headers: { "set-cookie": ["a=1", "b=2"], "x-fn": "yes" }, body: "" });
  const res = await request(url, { method: "POST", dispatcher, body: "" });
  assert.deepEqual(res.headers["set-cookie"], ["a=1", "b=2"]);
  assert.equal(res.headers["x-fn"], "yes");
  assert.equal(await res.body.text(), "");
  next = async () => ({ status: 204, headers: {} });
  const empty = await request(url, { method: "POST", dispatcher, body: "" });
  assert.equal(empty.statusCode, 204);
  assert.equal(await empty.body.text(), "");
});

test("a reply header Node cannot send becomes a 502 problem", async () => {
  next = async () => ({ status: 200, headers: { "x-bad": "a\u0001b" }, body: "x" });
  const res = await request(url, { method: "POST", dispatcher, body: "" });
  assert.equal(res.statusCode, 502);
  const problem = (await res.body.json()) as { type: string };
  assert.equal(problem.type, "https://switchboard.dev/problems/bad-gateway");
});

/** Sends `lines` as raw header lines (repeats kept) over a socket; resolves with the status and the response's header names and values. */
const rawRequest = (lines: [string, string][]): Promise<{ status: number; head: string }> =>
  new Promise((resolve, reject) => {
    const socket = connect(server.port, "127.0.0.1", () => {
      const head = lines.map(([k, v]) => `${k}: ${v}\r\n`).join("");
      socket.end(`POST / HTTP/1.1\r\nhost: x\r\n${head}content-length: 0\r\nconnection: close\r\n\r\n`);
    });
    let answer = "";
    socket.setEncoding("latin1").on("data", (d: string) => {
      answer += d;
    });
    socket.on("end", () => {
      const [status = "", ...rest] = answer.slice(0, answer.indexOf("\r\n\r\n")).split("\r\n");
      resolve({ status: Number(status.split(" ")[1]), head: rest.join("\n").toLowerCase() });
    });
    socket.on("error", reject);
  });

test("the handler is told which headers were sent more than once, content-type included", async () => {
  let repeated: readonly string[] | undefined;
  next = async (req) => {
    repeated = req.headers.repeated;
    await req.body();
    return { status: 202, headers: {} };
  };
  await rawRequest([
    ["ce-id", "1"],
    ["ce-id", "2"],
    ["content-type", "text/plain"],
    ["content-type", "application/json"],
    ["x-once", "a"],
  ]);
  assert.deepEqual([...(repeated ?? [])].sort(), ["ce-id", "content-type"]);
});

test("204 and 304 answers carry no content-length and no body", async () => {
  for (const status of [204, 304]) {
    next = async () => ({ status, headers: { "content-length": "5", etag: '"x"' }, body: "hello" });
    const res = await rawRequest([["x", "1"]]);
    assert.equal(res.status, status);
    assert.doesNotMatch(res.head, /content-length|transfer-encoding/, `${status}`);
    assert.match(res.head, /etag/);
  }
});

test("headers iterate in name order, few or many (names alone too), and a name sent twice is told only then", () => {
  for (const count of [5, 40]) {
    const raw: Record<string, string> = {};
    const names = Array.from({ length: count }, (_, i) => `x-${String((i * 7919) % 1000).padStart(3, "0")}`);
    for (const name of names) raw[name] = name;
    raw["ce-id"] = "1";
    const view = nodeHeaders(raw, Object.keys(raw).length, () => {
      throw new Error("headersDistinct read though no name was repeated");
    });
    assert.deepEqual(
      [...view].map(([name]) => name),
      Object.keys(raw).sort(),
    );
    // The names alone, in the same order, whether asked for before or after iterating.
    assert.deepEqual(view.names?.(), Object.keys(raw).sort());
    assert.deepEqual(nodeHeaders(raw).names?.(), Object.keys(raw).sort());
    assert.deepEqual(view.repeated, []);
  }
  const twice = nodeHeaders({ "content-type": "a", "ce-id": "1" }, 3, () => ({
    "content-type": ["a", "b"],
    "ce-id": ["1"],
  }));
  assert.deepEqual(twice.repeated, ["content-type"]);
});

test("under memory pressure, a request beyond those admitted is refused 503 overloaded, counted, its connection closed", async () => {
  const refused: string[] = [];
  const metrics = {
    requestsRefused: { inc: ({ reason }: { reason: string }) => refused.push(reason) },
    openConnections: { set: () => {} },
  } as unknown as NonNullable<Parameters<typeof serveIngress>[1]["metrics"]>;
  const held = Promise.withResolvers<Reply>();
  const admitted: number[] = [];
  const pressed = await serveIngress(() => held.promise, {
    host: "127.0.0.1",
    port: 0,
    maxBodyBytes: 1024,
    requestTimeoutMs: 5_000,
    metrics,
    // One request at a time, as a gateway under pressure that admits one.
    admits: (inProgress) => {
      admitted.push(inProgress);
      return inProgress < 1;
    },
    refusalDetail: () => "the gateway's memory is near V8's heap limit",
  });
  const at = `http://127.0.0.1:${pressed.port}`;
  const agent = new Agent({ connections: 4 });
  try {
    const first = request(at, { method: "POST", body: "{}", dispatcher: agent });
    await waitUntil(() => pressed.inProgress() === 1);
    const second = await request(at, { method: "POST", body: "{}", dispatcher: agent });
    assert.equal(second.statusCode, 503);
    assert.equal(second.headers.connection, "close");
    assert.equal(second.headers["retry-after"], "1");
    const problem = (await second.body.json()) as { type: string; detail: string };
    assert.match(problem.type, /\/overloaded$/);
    assert.equal(problem.detail, "the gateway's memory is near V8's heap limit");
    assert.deepEqual(refused, ["memory"]);
    held.resolve({ status: 200, headers: {}, body: "ok" });
    assert.equal((await first).statusCode, 200);
    assert.equal(pressed.inProgress(), 0, "an answered request is no longer in progress");
    const third = await request(at, { method: "POST", body: "{}", dispatcher: agent });
    assert.equal(third.statusCode, 200, "admitted again once the one in progress was answered");
    await third.body.text();
    assert.deepEqual(admitted, [0, 1, 0]);
  } finally {
    await agent.close();
    await pressed.close();
  }
});

/** Resolves once `condition()` holds, checked on every turn of the event loop. */
const waitUntil = async (condition: () => boolean): Promise<void> => {
  while (!condition()) await new Promise((r) => setImmediate(r));
};

test("a binary event parses the same from the ingress's header view (names alone) and from fetch Headers, faults included", () => {
  const raw = {
    "ce-specversion": "1.0",
    "ce-id": "42",
    "ce-source": "/orders",
    "ce-type": "order.created",
    "ce-subject": "caf%C3%A9",
    "content-type": "application/json",
    host: "gateway",
  };
  const body = Buffer.from('{"order":42}');
  const limits = { maxEventBytes: 65_536, maxBatch: 100 };
  const parse = (headers: HeaderView) => parseCloudEvents({ method: "POST", headers, body }, limits);
  const viewed = nodeHeaders(raw);
  assert.equal(typeof viewed.names, "function");
  const [fromView] = parse(viewed);
  assert.deepEqual(fromView?.attributes, parse(new Headers(raw))[0]?.attributes);
  assert.equal(fromView?.attributes.subject, "café");
  const problem = (headers: HeaderView) => {
    try {
      parse(headers);
    } catch (err) {
      return err instanceof ProblemError ? [err.status, err.errors] : err;
    }
    return undefined;
  };
  const bad = { ...raw, "ce-datacontenttype": "text/plain", "ce-time": "yesterday", "ce-subject": "%FF" };
  assert.deepEqual(problem(nodeHeaders(bad)), problem(new Headers(bad)));
  assert.equal((problem(nodeHeaders(bad)) as [number, unknown[]])[1].length, 3);
});
