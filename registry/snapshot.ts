// What the registry watcher (./watcher/index.ts) publishes: the registry's decoded contents at one
// etcd revision. The gateway's routing reads only this, never etcd.
import type { HeartbeatRecord, RegistryRecord } from "./types.ts";

/** Every valid record and cluster heartbeat under the watched prefix, as of etcd revision `revision`. Immutable. */
export interface RegistrySnapshot {
  readonly revision: number;
  /** Records by etcd key. */
  readonly records: ReadonlyMap<string, RegistryRecord>;
  /** The clusters whose heartbeat key exists (their operator is alive), by cluster name. */
  readonly clusters: ReadonlyMap<string, HeartbeatRecord>;
}
