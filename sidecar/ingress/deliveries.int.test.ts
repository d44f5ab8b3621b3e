// GET /deliveries on real gateway processes against a real etcd: only a publisher of the VPN
// follows its subscriptions (or, in sidecar placement, loopback for the pod's namespace's VPN),
// and a follower sees its subscription's deliveries and no other tenant's.
import assert from "node:assert/strict";
import { test } from "node:test";
import { startFunction } from "../../e2e/functions.ts";
import type { GatewayProcess } from "../../e2e/gateway.ts";
import { cleanup } from "../../e2e/harness.ts";
import { waitFor } from "../../e2e/proc.ts";
import { type Tenant, twoTenants } from "../testing/tenant.ts";

const fnA = await startFunction();
cleanup(() => fnA.close());
const fnB = await startFunction();
cleanup(() => fnB.close());
const { a, b, gateway } = await twoTenants("dlv", [fnA.url, fnB.url]);
const shared = await gateway("shared");

const follow = (g: GatewayProcess, vpn: string, subscription: string, token?: string) =>
  fetch(`${g.adminUrl}/deliveries?vpn=${vpn}&subscription=${encodeURIComponent(subscription)}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });

/** Reads the stream line by line. */
const lines = (res: Response) => {
  const reader = res.body?.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  return {
    next: async (): Promise<unknown> => {
      for (;;) {
        const at = buffered.indexOf("\n");
        if (at >= 0) {
          const line = buffered.slice(0, at);
          buffered = buffered.slice(at + 1);
          return JSON.parse(line);
        }
        const chunk = await reader?.read();
        if (!chunk || chunk.done) throw new Error(`the stream ended; left: ${buffered}`);
        buffered += chunk.value;
      }
    },
    cancel: () => reader?.cancel(),
  };
};

const publish = (t: Tenant, id: string) =>
  fetch(`${shared.url}/`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${t.token}`,
      "ce-specversion": "1.0",
      "ce-id": id,
      "ce-source": "/t",
      "ce-type": t.type,
    },
  });

test("/deliveries needs a publisher credential of the VPN and a NAMESPACE/NAME subscription", async () => {
  const sub = `${b.namespace}/to-fn`;
  assert.equal((await follow(shared, b.vpn, sub)).status, 401);
  assert.equal((await follow(shared, b.vpn, sub, "not-a-token")).status, 401);
  const crossed = await follow(shared, b.vpn, sub, a.token);
  assert.equal(crossed.status, 403);
  assert.equal(
    ((await crossed.json()) as { type: string }).type,
    "https://switchboard.dev/problems/forbidden",
  );
  assert.equal((await follow(shared, b.vpn, "to-fn", b.token)).status, 400);
});

test("a follower sees its subscription's deliveries as they finish, and not another tenant's", async () => {
  const res = await follow(shared, b.vpn, `${b.namespace}/to-fn`, b.token);
  assert.equal(res.status, 200);
  const stream = lines(res);
  assert.equal(res.headers.get("content-type"), "application/x-ndjson");
  assert.deepEqual(await stream.next(), { following: `${b.namespace}/to-fn`, vpn: b.vpn });
  // a's delivery is seen by a's follower, hence told to every follower, before b publishes.
  const other = lines(await follow(shared, a.vpn, `${a.namespace}/to-fn`, a.token));
  assert.deepEqual(await other.next(), { following: `${a.namespace}/to-fn`, vpn: a.vpn });
  assert.equal((await publish(a, "a-1")).status, 202);
  assert.equal(((await other.next()) as { id: string }).id, "a-1");
  await other.cancel();
  assert.equal((await publish(b, "b-1")).status, 202);
  const delivery = (await stream.next()) as Record<string, unknown>;
  assert.deepEqual(
    { ...delivery, time: typeof delivery.time },
    {
      time: "string",
      subscription: `${b.namespace}/to-fn`,
      function: `${b.namespace}/fn`,
      id: "b-1",
      type: b.type,
      source: "/t",
      outcome: "200",
      delivered: true,
      attempts: 1,
      url: `${fnB.url}/in`,
      deadLetter: false,
    },
  );
  await stream.cancel();
});

test("sidecar placement: loopback without a token follows the own namespace's VPN only", async () => {
  const sidecar = await gateway("sidecar-b", { namespace: b.namespace });
  const own = await follow(sidecar, b.vpn, `${b.namespace}/to-fn`);
  assert.equal(own.status, 200);
  await own.body?.cancel();
  assert.equal((await follow(sidecar, a.vpn, `${a.namespace}/to-fn`)).status, 403);
});

test("a follower that goes away gives its stream back: 32 streams at most, and 32 again after they close", async () => {
  const sub = `${a.namespace}/to-fn`;
  const open: Response[] = [];
  for (let i = 0; i < 32; i++) {
    const res = await follow(shared, a.vpn, sub, a.token);
    assert.equal(res.status, 200, `stream ${i + 1}`);
    open.push(res);
  }
  const refused = await follow(shared, a.vpn, sub, a.token);
  assert.equal(refused.status, 503);
  await refused.body?.cancel();
  for (const res of open.splice(0)) await res.body?.cancel();
  // The gateway sees each close when its socket's FIN arrives: every slot comes back.
  for (let i = 0; i < 32; i++) {
    open.push(
      await waitFor(`stream ${i + 1} after the first 32 closed`, async () => {
        const res = await follow(shared, a.vpn, sub, a.token);
        if (res.status === 200) return res;
        await res.body?.cancel();
        return undefined;
      }),
    );
  }
  for (const res of open) await res.body?.cancel();
});

test("HEAD /deliveries answers the stream's head and holds no stream: 33 in a row are answered", async () => {
  const sub = `${b.namespace}/to-fn`;
  for (let i = 0; i < 33; i++) {
    const res = await fetch(
      `${shared.adminUrl}/deliveries?vpn=${b.vpn}&subscription=${encodeURIComponent(sub)}`,
      {
        method: "HEAD",
        headers: { authorization: `Bearer ${b.token}` },
      },
    );
    assert.deepEqual(
      [res.status, res.headers.get("content-type"), await res.text()],
      [200, "application/x-ndjson", ""],
    );
  }
  const res = await follow(shared, b.vpn, sub, b.token);
  assert.equal(res.status, 200);
  await res.body?.cancel();
});
