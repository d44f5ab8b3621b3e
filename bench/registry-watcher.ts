// A registry watcher alone in a process, for bench/registry-client.ts: loads only the client it
// is told to use (`etcd3` or `http`), lists and watches etcd at URL, prints one JSON line when the
// first snapshot is ready ({ readyMs: process start → snapshot, listMs: that listing's start →
// snapshot, records }), then watches until killed.
//   node bench/registry-watcher.ts etcd3|http URL
import { silentLogger } from "../common/log.ts";
import type { RegistryClient } from "../registry/watcher/client.ts";
import { createRegistryWatcher } from "../registry/watcher/index.ts";

const [kind, url = ""] = process.argv.slice(2);

/** The client of `kind`, importing only its own module (so the other's packages are never loaded). */
const clientOf = async (): Promise<RegistryClient> => {
  if (kind === "http") {
    const { httpRegistryClient } = await import("../registry/watcher/clients/http/index.ts");
    return httpRegistryClient({ endpoints: [url] });
  }
  if (kind !== "etcd3") throw new Error(`unknown client ${kind}: etcd3 or http`);
  const { Etcd3 } = await import("etcd3");
  const { etcd3RegistryClient } = await import("../registry/watcher/clients/etcd3.ts");
  return etcd3RegistryClient(new Etcd3({ hosts: url }));
};

let listedAt = 0;
const watcher = createRegistryWatcher({
  client: await clientOf(),
  log: silentLogger(),
  onListed: (startedAt) => {
    listedAt = startedAt;
  },
});
void watcher.run(new AbortController().signal);
await watcher.ready;
const now = performance.now();
console.log(
  JSON.stringify({ readyMs: now, listMs: now - listedAt, records: watcher.current()?.records.size ?? 0 }),
);
