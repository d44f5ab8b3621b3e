// Bulk subscription records for bench/resync.ts: many subscriptions of VPN "bench" to function
// bench/fn (as bench/lib.ts benchRoute writes them), each matching its own exact type, encoded
// and keyed by the registry's codec and keys, put straight into etcd in unfenced transactions
// (the operator's writer would take one fenced transaction per object: too slow to seed 100k).
import type { Etcd3 } from "etcd3";
import { encodeRecord } from "../registry/codec.ts";
import { recordKey } from "../registry/keys.ts";
import { benchSubscription } from "./lib.ts";

/** etcd's default --max-txn-ops. */
const OPS_PER_TXN = 128;
const TXNS_IN_FLIGHT = 8;

export interface Seeded {
  /** Seconds spent encoding (schema check + canonical JSON). */
  encodeSeconds: number;
  /** Seconds spent writing to etcd. */
  putSeconds: number;
  /** Bytes of keys and values written. */
  bytes: number;
}

/** Puts `count` subscriptions s0…s<count−1> (types bench.t<i>) of `cluster`; throws the etcd3 error of a failed batch (no retry). */
export const seedSubscriptions = async (client: Etcd3, cluster: string, count: number): Promise<Seeded> => {
  const started = performance.now();
  const kvs: { key: Buffer; value: Buffer }[] = [];
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const record = benchSubscription(cluster, `s${i}`, `bench.t${i}`);
    const kv = { key: Buffer.from(recordKey(record)), value: Buffer.from(encodeRecord(record)) };
    bytes += kv.key.length + kv.value.length;
    kvs.push(kv);
  }
  const encoded = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < kvs.length) {
      const batch = kvs.slice(next, next + OPS_PER_TXN);
      next += OPS_PER_TXN;
      await client.kv.txn({ success: batch.map((kv) => ({ request_put: kv })) });
    }
  };
  await Promise.all(Array.from({ length: TXNS_IN_FLIGHT }, worker));
  return {
    encodeSeconds: (encoded - started) / 1000,
    putSeconds: (performance.now() - encoded) / 1000,
    bytes,
  };
};
