// The registry etcd's access control, as docs/multi-cluster.md sets it up: a cluster's
// credentials write its own subtree only and read its gateways' presence reports; shared gateways
// read the registry and write presence reports; sidecars only read.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { presenceKey } from "../registry/keys.ts";
import { cleanup } from "./harness.ts";
import { clusterSubtree, startSecureEtcd } from "./secure-etcd.ts";
import { repoRoot } from "./tools.ts";

const dir = mkdtempSync(join(repoRoot, ".work", "rbac-"));
const etcd = await startSecureEtcd(dir, ["east", "west", "east-2"]);
const east = etcd.client("east");
const west = etcd.client("west");
const gateway = etcd.client("gateway");
const sidecar = etcd.client("sidecar");
cleanup(async () => {
  for (const c of [east, west, gateway, sidecar]) c.close();
  await etcd.stop();
});

test("a cluster's credentials write its own subtree and read everything", async () => {
  await east.put(`${clusterSubtree("east")}vpns/shop`).value("{}");
  await west.put(`${clusterSubtree("west")}vpns/shop`).value("{}");
  assert.deepEqual(Object.keys(await east.getAll().prefix("/switchboard/v1/").strings()).sort(), [
    `${clusterSubtree("east")}vpns/shop`,
    `${clusterSubtree("west")}vpns/shop`,
  ]);
});

test("a cluster's credentials cannot write or delete another cluster's keys, nor keys outside its subtree", async () => {
  await assert.rejects(
    east
      .put(`${clusterSubtree("west")}vpns/shop`)
      .value("taken")
      .exec(),
    /permission denied/i,
  );
  await assert.rejects(
    east
      .delete()
      .key(`${clusterSubtree("west")}vpns/shop`)
      .exec(),
    /permission denied/i,
  );
  await assert.rejects(
    east
      .put(`${clusterSubtree("east-2")}vpns/shop`)
      .value("x")
      .exec(),
    /permission denied/i,
    "east is not a prefix of east-2",
  );
  await assert.rejects(east.put("/switchboard/v1/other").value("x").exec(), /permission denied/i);
  assert.equal(await west.get(`${clusterSubtree("west")}vpns/shop`).string(), "{}");
});

test("gateway credentials write presence reports; a cluster reads its own gateways' reports only", async () => {
  await gateway.put(presenceKey("east", "gw-1")).value("{}").exec();
  await gateway.put(presenceKey("west", "gw-2")).value("{}").exec();
  assert.equal(await east.get(presenceKey("east", "gw-1")).string(), "{}");
  await assert.rejects(east.get(presenceKey("west", "gw-2")).string(), /permission denied/i);
  await assert.rejects(east.put(presenceKey("east", "gw-1")).value("x").exec(), /permission denied/i);
});

test("sidecar credentials (held in tenant namespaces) read the registry and write nothing, not even presence", async () => {
  assert.equal(await sidecar.get(`${clusterSubtree("east")}vpns/shop`).string(), "{}");
  await assert.rejects(sidecar.put(presenceKey("east", "pod-1")).value("{}").exec(), /permission denied/i);
  await assert.rejects(
    sidecar
      .put(`${clusterSubtree("east")}vpns/shop`)
      .value("x")
      .exec(),
    /permission denied/i,
  );
});

test("gateway credentials read the registry and write no record", async () => {
  assert.equal(await gateway.get(`${clusterSubtree("east")}vpns/shop`).string(), "{}");
  await assert.rejects(
    gateway
      .put(`${clusterSubtree("east")}vpns/shop`)
      .value("x")
      .exec(),
    /permission denied/i,
  );
});
