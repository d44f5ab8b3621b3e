// The admin port of real gateway processes against a real etcd: /explain answers only a
// publisher of the VPN asked about (or, in sidecar placement, loopback for the pod's namespace's
// VPN), and no admin request body is read past its cap, however large the body sent.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { test } from "node:test";
import { Agent, request } from "undici";
import type { GatewayProcess } from "../../e2e/gateway.ts";
import { uniqueName } from "../../e2e/harness.ts";
import { waitFor } from "../../e2e/proc.ts";
import { repoRoot } from "../../e2e/tools.ts";
import { vpnKeyFileContent } from "../../registry/seal/files.ts";
import { twoTenants } from "../testing/tenant.ts";

// Nothing is delivered: the functions' address is never called.
const { a, b, gateway } = await twoTenants("adm", "http://127.0.0.1:9");
const shared = await gateway("shared");

const explain = (g: GatewayProcess, vpn: string, token?: string, type = b.type) =>
  fetch(`${g.adminUrl}/explain?vpn=${vpn}`, {
    method: "POST",
    headers: {
      "ce-specversion": "1.0",
      "ce-id": "x",
      "ce-source": "/t",
      "ce-type": type,
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: "{}",
  });
const problemType = async (res: Response): Promise<string> => ((await res.json()) as { type: string }).type;

test("/explain needs a publisher credential of the VPN it is asked about, and reveals no other VPN", async () => {
  const none = await explain(shared, b.vpn);
  assert.equal(none.status, 401);
  assert.equal(none.headers.get("content-type"), "application/problem+json");
  assert.match(none.headers.get("www-authenticate") ?? "", /^Bearer/);
  assert.equal((await explain(shared, b.vpn, "not-a-token")).status, 401);
  const crossed = await explain(shared, b.vpn, a.token);
  assert.equal(crossed.status, 403);
  assert.equal(await problemType(crossed), "https://switchboard.dev/problems/forbidden");
  // An unknown VPN answers exactly as an existing VPN of someone else does.
  const unknown = await explain(shared, uniqueName("nobody"), a.token);
  assert.equal(unknown.status, 403);
  assert.equal((await explain(shared, uniqueName("nobody"))).status, 401);
  const own = await explain(shared, b.vpn, b.token);
  assert.equal(own.status, 200);
  const body = (await own.json()) as {
    vpn: string;
    subscriptions: { namespace: string; matched: boolean }[];
  };
  assert.equal(body.vpn, b.vpn);
  assert.deepEqual(
    body.subscriptions.map((s) => [s.namespace, s.matched]),
    [[b.namespace, true]],
  );
  for (const path of ["/metrics", "/healthz", "/readyz"])
    assert.equal((await fetch(`${shared.adminUrl}${path}`)).status, 200, `${path} stays open`);
});

test("sidecar placement: loopback without a token explains the VPN of the gateway's own namespace only", async () => {
  const sidecar = await gateway("sidecar-b", { namespace: b.namespace });
  assert.equal((await explain(sidecar, b.vpn)).status, 200);
  assert.equal((await explain(sidecar, a.vpn)).status, 403);
  assert.equal((await explain(sidecar, a.vpn, a.token)).status, 200, "a token still names its own VPN");
});

test("a sidecar holding its VPN's key: /explain of that VPN after its record is gone is 404, never for another VPN", async () => {
  const own = await twoTenants("adm-gone", "http://127.0.0.1:9");
  const keyFile = join(repoRoot, ".work", `${own.a.vpn}.key.json`);
  writeFileSync(keyFile, vpnKeyFileContent(own.a.vpn, randomBytes(32)));
  const sidecar = await own.gateway("sidecar-own", {
    namespace: own.a.namespace,
    extraArgs: [`--vpn-key-file=${keyFile}`],
  });
  assert.equal((await explain(sidecar, own.a.vpn, undefined, own.a.type)).status, 200);

  await own.deleteVpn(own.a);
  const gone = await waitFor("/explain of the deleted VPN to answer 404", async () => {
    const res = await explain(sidecar, own.a.vpn, undefined, own.a.type);
    return res.status === 404 ? ((await res.json()) as { type: string; detail: string }) : undefined;
  });
  assert.equal(gone.type, "https://switchboard.dev/problems/unknown-vpn");
  assert.match(gone.detail, new RegExp(`^VPN ${own.a.vpn} has no record in the registry this gateway reads`));
  // Not entitled: 403 as before, whether the VPN exists (b) or not.
  assert.equal((await explain(sidecar, own.b.vpn)).status, 403);
  assert.equal((await explain(sidecar, uniqueName("nobody"))).status, 403);
});

const CHUNK = Buffer.alloc(64 * 1024, "x");
const BIG = 300 * 1024 * 1024;

/** POSTs a BIG-byte body generated chunk by chunk (never held whole); resolves with the answer's status. */
const postBig = async (url: string, headers: Record<string, string>): Promise<number> => {
  let sent = 0;
  const body = new Readable({
    read() {
      if (sent >= BIG) this.push(null);
      else {
        sent += CHUNK.length;
        this.push(CHUNK);
      }
    },
  });
  const dispatcher = new Agent({ connections: 1 });
  try {
    const res = await request(url, { method: "POST", headers, body, dispatcher });
    await res.body.dump();
    return res.statusCode;
  } catch (err) {
    throw new Error(`${url} ${JSON.stringify(headers)} after ${sent} bytes: ${String(err)}`);
  } finally {
    body.destroy();
    await dispatcher.destroy();
  }
};

const rssBytes = (pid: number): number => {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  assert.ok(m?.[1], `VmRSS of ${pid}`);
  return Number(m[1]) * 1024;
};

test("a 300 MB admin body is refused with 413 without being read: the gateway's RSS grows by less than 5 MB", async () => {
  const url = `${shared.adminUrl}/explain?vpn=${b.vpn}`;
  const ce = { "ce-specversion": "1.0", "ce-id": "x", "ce-source": "/t", "ce-type": b.type };
  const auth = { authorization: `Bearer ${b.token}` };
  // Warm up the paths measured below, so that what is measured is the bodies.
  assert.equal((await explain(shared, b.vpn, b.token)).status, 200);
  const before = rssBytes(shared.proc.pid);
  assert.equal(await postBig(url, { ...ce, ...auth, "content-length": String(BIG) }), 413);
  // Without a content-length, undici sends the stream chunked.
  assert.equal(await postBig(url, { ...ce, ...auth }), 413);
  assert.equal(await postBig(url, ce), 401);
  assert.equal(await postBig(`${shared.adminUrl}/metrics`, { "content-length": String(BIG) }), 413);
  const grown = rssBytes(shared.proc.pid) - before;
  assert.ok(grown < 5 * 1024 * 1024, `RSS grew by ${(grown / 2 ** 20).toFixed(1)} MiB`);
  const refused = await fetch(url, {
    method: "POST",
    headers: { ...ce, ...auth },
    body: "x".repeat(2 ** 21),
  });
  assert.equal(refused.status, 413);
  assert.equal(await problemType(refused), "https://switchboard.dev/problems/payload-too-large");
});
