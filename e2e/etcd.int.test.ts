import assert from "node:assert/strict";
import { test } from "node:test";
import { Etcd3 } from "etcd3";
import { cleanup, testEtcd, uniqueName } from "./harness.ts";

const client = new Etcd3({ hosts: await testEtcd() });
cleanup(() => client.close());
const prefix = `/test/${uniqueName("etcd")}/`;

test("etcd from the tool cache answers etcd3 put and get", async () => {
  await client.put(`${prefix}greeting`).value("hello");
  assert.equal(await client.get(`${prefix}greeting`).string(), "hello");
  const listed = await client.getAll().prefix(prefix).strings();
  assert.deepEqual(listed, { [`${prefix}greeting`]: "hello" });
});

test("etcd3 watch delivers puts and deletes in order from a given revision", async () => {
  const first = await client.put(`${prefix}w/a`).value("1").exec();
  const fromRevision = Number(first.header.revision);
  await client.put(`${prefix}w/b`).value("2");
  await client.delete().key(`${prefix}w/a`);
  const watcher = await client.watch().prefix(`${prefix}w/`).startRevision(String(fromRevision)).create();
  try {
    const seen: string[] = [];
    await new Promise<void>((resolve, reject) => {
      watcher.on("error", reject);
      watcher.on("put", (kv) => {
        seen.push(`put ${kv.key.toString().slice(prefix.length)}=${kv.value.toString()}`);
        if (seen.length === 3) resolve();
      });
      watcher.on("delete", (kv) => {
        seen.push(`delete ${kv.key.toString().slice(prefix.length)}`);
        if (seen.length === 3) resolve();
      });
    });
    assert.deepEqual(seen, ["put w/a=1", "put w/b=2", "delete w/a"]);
  } finally {
    await watcher.cancel();
  }
});
