// The registry client contract (../../testing/client-contract.ts), run once per implementation,
// and what only one of them does.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync } from "node:fs";
import { type AddressInfo, connect, createServer, type Socket } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { etcdClient } from "../../../common/etcd.ts";
import { cleanup, testEtcd } from "../../../e2e/harness.ts";
import { REGISTRY_ROOT, startSecureEtcd } from "../../../e2e/secure-etcd.ts";
import { repoRoot } from "../../../e2e/tools.ts";
import { REGISTRY_PREFIX } from "../../keys.ts";
import { registryClientContract } from "../../testing/client-contract.ts";
import { prefixEnd } from "../client.ts";
import { etcd3RegistryClient } from "./etcd3.ts";
import { grpcRegistryClient } from "./grpc/index.ts";
import { httpRegistryClient } from "./http/index.ts";

registryClientContract("http", ({ endpoints, tls = {} }) => {
  const client = httpRegistryClient({ endpoints, tls });
  cleanup(() => client.close());
  return client;
});

registryClientContract("grpc", ({ endpoints, tls = {} }) => {
  const client = grpcRegistryClient({ endpoints, tls });
  cleanup(() => client.close());
  return client;
});

registryClientContract("etcd3", ({ endpoints, tls = {} }) => {
  const etcd = etcdClient({ etcd: endpoints, etcdTls: tls });
  cleanup(() => etcd.close());
  return etcd3RegistryClient(etcd);
});

for (const [name, make] of [
  ["http", httpRegistryClient],
  ["grpc", grpcRegistryClient],
] as const)
  test(`${name}: an endpoint that cannot be reached is skipped for the next one`, async () => {
    const url = await testEtcd();
    const client = make({ endpoints: ["http://127.0.0.1:1", url] });
    cleanup(() => client.close());
    const first = await client.read(REGISTRY_PREFIX, 5_000);
    const second = await client.read(REGISTRY_PREFIX, 5_000);
    assert.equal(second.clusterId, first.clusterId);
  });

// etcd's HTTP gateway proxies through its own gRPC connection, so it cannot authenticate by the
// client certificate's CN: with auth on, every request is refused. A registry with RBAC by
// certificate (docs/multi-cluster.md) therefore needs a gRPC client: etcd3, or the gateway's own.
test("with etcd auth on, etcd's HTTP gateway refuses certificate (CN) users; the gRPC clients are authenticated", async () => {
  mkdirSync(join(repoRoot, ".work"), { recursive: true });
  const dir = mkdtempSync(join(repoRoot, ".work", "clients-auth-"));
  const secure = await startSecureEtcd(dir, []);
  cleanup(() => secure.stop());
  const pair = await secure.credentials("gateway");
  const tls = { ca: secure.ca.cert, cert: pair.cert, key: pair.key };
  const client = httpRegistryClient({ endpoints: [secure.url], tls });
  cleanup(() => client.close());
  await assert.rejects(
    client.read(REGISTRY_ROOT, 5_000),
    /CommonName of client sending a request against gateway will be ignored/,
  );
  const etcd = etcdClient({ etcd: [secure.url], etcdTls: tls });
  cleanup(() => etcd.close());
  const header = await etcd3RegistryClient(etcd).read(REGISTRY_ROOT, 5_000);
  assert.ok(header.revision > 0, "the same certificate works over gRPC");
  const grpc = grpcRegistryClient({ endpoints: [secure.url], tls });
  cleanup(() => grpc.close());
  assert.ok((await grpc.read(REGISTRY_ROOT, 5_000)).revision > 0, "and over the gateway's gRPC client");
  const page = await grpc.range({
    start: Buffer.from(REGISTRY_ROOT),
    end: prefixEnd(Buffer.from(REGISTRY_ROOT)),
    limit: 10,
    timeoutMs: 5_000,
  });
  assert.ok(page.revision >= header.revision, "ranges too");
});

test("grpc: after two calls time out on a connection that went silent, the next call connects afresh", async () => {
  const url = new URL(await testEtcd());
  // A proxy whose open connections can be frozen: bytes stop flowing both ways, nothing is closed
  // (as across a network partition); connections made after the freeze flow again.
  const frozen: Socket[] = [];
  const open = new Set<Socket>();
  const proxy = createServer((downstream) => {
    const upstream = connect(Number(url.port), url.hostname);
    open.add(downstream);
    downstream.on("close", () => open.delete(downstream));
    for (const s of [upstream, downstream]) s.on("error", () => s.destroy());
    downstream.on("data", (b) => {
      if (!frozen.includes(downstream)) upstream.write(b);
    });
    upstream.on("data", (b) => {
      if (!frozen.includes(downstream)) downstream.write(b);
    });
    upstream.on("close", () => downstream.destroy());
    downstream.on("close", () => upstream.destroy());
  });
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
  cleanup(() => {
    for (const s of open) s.destroy();
    proxy.close();
  });
  const client = grpcRegistryClient({
    endpoints: [`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`],
  });
  cleanup(() => client.close());
  const first = await client.read(REGISTRY_PREFIX, 5_000);
  frozen.push(...open);
  // One slow answer is not enough to drop a connection; two in a row are.
  await assert.rejects(client.read(REGISTRY_PREFIX, 500), { name: "TimeoutError" });
  await assert.rejects(client.read(REGISTRY_PREFIX, 500), { name: "TimeoutError" });
  const again = await client.read(REGISTRY_PREFIX, 5_000);
  assert.equal(again.clusterId, first.clusterId);
});

test("grpc: an endpoint that never completes its TLS handshake is left for the next one after a timeout", async () => {
  mkdirSync(join(repoRoot, ".work"), { recursive: true });
  const secure = await startSecureEtcd(mkdtempSync(join(repoRoot, ".work", "clients-silent-")), [], {
    auth: false,
  });
  cleanup(() => secure.stop());
  const pair = await secure.credentials("gateway");
  // Accepts connections and never answers: a TLS session to it stays connecting.
  const held: Socket[] = [];
  const silent = createServer((socket) => {
    held.push(socket);
  });
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
  cleanup(() => {
    for (const s of held) s.destroy();
    silent.close();
  });
  const client = grpcRegistryClient({
    endpoints: [`https://127.0.0.1:${(silent.address() as AddressInfo).port}`, secure.url],
    tls: { ca: secure.ca.cert, cert: pair.cert, key: pair.key },
  });
  cleanup(() => client.close());
  await assert.rejects(client.read(REGISTRY_ROOT, 500), { name: "TimeoutError" });
  assert.ok(
    (await client.read(REGISTRY_ROOT, 5_000)).revision > 0,
    "the next call goes to the next endpoint",
  );
});
