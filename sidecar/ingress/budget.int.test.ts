// The ingress budgets of real gateway processes against a real etcd: a VPN whose slow requests
// hold its share of the body budget gets 503 overloaded (before its bodies are read) while another
// VPN is still served, and is served again once they finish; connections beyond --max-connections
// are refused while the open ones keep working.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { type IncomingHttpHeaders, request } from "node:http";
import { test } from "node:test";
import { Client } from "undici";
import { payloadBytes } from "../../common/malloc.ts";
import { type FunctionServer, startFunction } from "../../e2e/functions.ts";
import type { GatewayProcess } from "../../e2e/gateway.ts";
import { cleanup } from "../../e2e/harness.ts";
import { waitFor } from "../../e2e/proc.ts";
import { type Tenant, twoTenants } from "../testing/tenant.ts";

const fn: FunctionServer = await startFunction();
cleanup(() => fn.close());
const { a, b, gateway } = await twoTenants("bud", fn.url);
let seq = 0;
const headersOf = (t: Tenant): Record<string, string> => ({
  "ce-specversion": "1.0",
  "ce-id": `evt-${++seq}`,
  "ce-source": "/tests",
  "ce-type": t.type,
  "content-type": "application/json",
  authorization: `Bearer ${t.token}`,
});

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A publish whose body (`bytes` long) is sent up to its first KiB; `finish` sends the rest. */
const slowPublish = (g: GatewayProcess, t: Tenant, bytes: number) => {
  const body = Buffer.from(`{"pad":"${"x".repeat(bytes - 10)}"}`);
  const req = request(`${g.url}/`, {
    method: "POST",
    agent: false,
    headers: { ...headersOf(t), "content-length": String(bytes) },
  });
  const answered = new Promise<Answer>((resolve, reject) => {
    req.on("response", (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        text += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on("error", reject);
  });
  req.write(body.subarray(0, 1024));
  return { answered, finish: () => req.end(body.subarray(1024)), abort: () => req.destroy() };
};

const publish = (url: string, t: Tenant, client?: Client) =>
  (client ?? new Client(url)).request({ path: "/", method: "POST", headers: headersOf(t), body: "{}" });

/** The status of a publish on `client`, its answer read to the end. */
const statusOf = async (g: GatewayProcess, t: Tenant, client: Client): Promise<number> => {
  const res = await publish(g.url, t, client);
  await res.body.dump();
  return res.statusCode;
};

const rssBytes = (pid: number): number => {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  assert.ok(m?.[1], `VmRSS of ${pid}`);
  return Number(m[1]) * 1024;
};

const BODY = 200 * 1024;
const SHARE = 1024 * 1024;

test("a VPN holding its share of the body budget gets 503 overloaded; another VPN is served; it is served again after", async () => {
  const g = await gateway("bytes", {
    extraArgs: [
      "--max-body-bytes=262144",
      "--max-event-bytes=262144",
      `--max-inflight-bytes=${2 * SHARE}`,
      `--max-inflight-bytes-per-vpn=${SHARE}`,
    ],
  });
  const before = rssBytes(g.proc.pid);
  // Five 200 KiB bodies (each counted in whole pages: above malloc's mmap threshold) fit A's 1 MiB
  // share; they trickle (1 KiB sent) and hold it.
  const holding = Array.from({ length: 5 }, () => slowPublish(g, a, BODY));
  await waitFor("A's slow requests to hold their bytes", async () =>
    (await g.metric("switchboard_gateway_inflight_body_bytes")) === 5 * payloadBytes(BODY) ? true : undefined,
  );
  const refused = Array.from({ length: 30 }, () => slowPublish(g, a, BODY));
  for (const r of refused) {
    const answer = await r.answered;
    r.abort();
    assert.equal(answer.status, 503);
    assert.equal(answer.headers["retry-after"], "1");
    assert.equal(
      (JSON.parse(answer.body) as { type: string }).type,
      "https://switchboard.dev/problems/overloaded",
    );
  }
  assert.equal(await g.metric('switchboard_gateway_requests_refused_total{reason="vpn_bytes"}'), 30);
  const other = await publish(g.url, b);
  assert.equal(other.statusCode, 202, await other.body.text());
  const grown = rssBytes(g.proc.pid) - before;
  assert.ok(grown < 8 * 2 * SHARE, `RSS grew by ${(grown / 2 ** 20).toFixed(1)} MiB for a 2 MiB budget`);
  for (const h of holding) h.finish();
  for (const h of holding) assert.equal((await h.answered).status, 202);
  assert.equal(await g.metric("switchboard_gateway_inflight_body_bytes"), 0);
  const again = await publish(g.url, a);
  assert.equal(again.statusCode, 202, await again.body.text());
});

test("connections beyond --max-connections get 503 overloaded; the open ones keep being served", async () => {
  const g = await gateway("connections", { extraArgs: ["--max-connections=2"] });
  const [first, second] = [new Client(g.url), new Client(g.url)];
  for (const c of [first, second]) assert.equal(await statusOf(g, a, c), 202);
  await waitFor("two open connections", async () =>
    (await g.metric("switchboard_gateway_open_connections")) === 2 ? true : undefined,
  );
  const third = new Client(g.url);
  const refused = await publish(g.url, b, third);
  assert.equal(refused.statusCode, 503);
  assert.equal(refused.headers["retry-after"], "1");
  assert.equal(
    ((await refused.body.json()) as { type: string }).type,
    "https://switchboard.dev/problems/overloaded",
  );
  assert.equal(await g.metric('switchboard_gateway_requests_refused_total{reason="connections"}'), 1);
  assert.equal(await statusOf(g, a, first), 202, "an open connection is still served");
  await Promise.all([first.close(), third.close()]);
  await waitFor("the closed connections to be gone", async () =>
    (await g.metric("switchboard_gateway_open_connections")) === 1 ? true : undefined,
  );
  const fourth = new Client(g.url);
  assert.equal(await statusOf(g, b, fourth), 202);
  await Promise.all([second.close(), fourth.close()]);
});
