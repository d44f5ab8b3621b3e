// Shared pieces of the registry's integration tests: a client of the test etcd, per-test cluster
// names whose keys are removed when the file ends, and views of what etcd holds.
import { Etcd3 } from "etcd3";
import { cleanup, testEtcd, uniqueName } from "../../e2e/harness.ts";
import { clusterPrefix, keyRole } from "../keys.ts";

export const client = new Etcd3({ hosts: await testEtcd() });
cleanup(() => client.close());

/** A fresh cluster name for one test; its whole subtree is removed when the file ends. */
export const freshCluster = (): string => {
  const cluster = uniqueName("wr");
  cleanup(async () => void (await client.delete().prefix(clusterPrefix(cluster))));
  return cluster;
};

/** Every record key of `cluster` in etcd (its subtree but the heartbeat, leader and gateway keys), with its value. */
export const stored = async (cluster: string): Promise<Record<string, string>> => {
  const all = await client.getAll().prefix(clusterPrefix(cluster)).strings();
  return Object.fromEntries(Object.entries(all).filter(([key]) => keyRole(key) === "record"));
};

/** The mod_revision of `key` now, or undefined when it does not exist. */
export const modRevision = async (key: string): Promise<string | undefined> =>
  (await client.get(key).exec()).kvs[0]?.mod_revision;

/** `target`, recording the name of every method called on it (each is at least one etcd request). */
export const counting = (target: Etcd3): { client: Etcd3; calls: string[] } => {
  const calls: string[] = [];
  const proxy = new Proxy(target, {
    get: (t, property, receiver) => {
      const value: unknown = Reflect.get(t, property, receiver);
      if (typeof value !== "function" || typeof property !== "string") return value;
      return (...args: unknown[]) => {
        calls.push(property);
        return value.apply(t, args);
      };
    },
  });
  return { client: proxy, calls };
};

/** `target`, whose transactions each first have `key` overwritten by someone else, `times` times in all. */
export const meddling = (target: Etcd3, key: string, times: number): Etcd3 => {
  let left = times;
  return new Proxy(target, {
    get: (t, property, receiver) => {
      if (property !== "if") return Reflect.get(t, property, receiver);
      return (...args: Parameters<Etcd3["if"]>) => {
        const txn = t.if(...args);
        const commit = txn.commit.bind(txn);
        txn.commit = async () => {
          if (left-- > 0) await t.put(key).value(`meddled, ${left} left`);
          return commit();
        };
        return txn;
      };
    },
  });
};
