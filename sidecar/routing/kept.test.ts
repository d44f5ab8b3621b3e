// A table built with the routes of unchanged VPNs kept (vpnRoutesKept) answers as a table built
// from nothing, over random sequences of registry changes in several VPNs and clusters: every
// match, HTTP route, route lookup and function view alike; and a VPN whose records did not change
// keeps its routes (the same objects), while one whose did gets new ones.
import assert from "node:assert/strict";
import { test } from "node:test";
import { recordKey } from "../../registry/keys.ts";
import type { RegistryRecord } from "../../registry/types.ts";
import { eventOf, functionRecord, subscriptionRecord, vpnRecord } from "../testing/routing.ts";
import type { RegistrySnapshot } from "../types.ts";
import { buildRoutingTable, type RoutingTable, vpnRoutesKept } from "./index.ts";
import { celPrograms } from "./match/cel.ts";

const VPNS = ["blue", "green", "red"];
const CLUSTERS = ["east", "west"];
const TYPES = ["a", "b", "c"];
const NAMES = ["s1", "s2", "s3", "s4"];
const FUNCTIONS = ["f1", "f2"];

/** A seeded generator (mulberry32), so that a failure can be replayed. */
const generator = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return (t ^ (t >>> 14)) >>> 0;
};

const pick = <T>(random: () => number, from: readonly T[]): T => from[random() % from.length] as T;

/** A random record of one of the VPNs: a function or a subscription (filters, CEL, an HTTP route, a dead-letter function). */
const randomRecord = (random: () => number): RegistryRecord => {
  const vpn = pick(random, VPNS);
  const cluster = pick(random, CLUSTERS);
  const namespace = "team";
  if (random() % 3 === 0) {
    const name = pick(random, FUNCTIONS);
    return functionRecord(
      { vpn, namespace, name, cluster },
      { endpoints: [`http://10.0.0.${random() % 9}:8080/${name}`], concurrency: 1 + (random() % 4) },
    );
  }
  const name = pick(random, NAMES);
  const sync = random() % 2 === 0;
  const http = sync && random() % 2 === 0;
  return subscriptionRecord(
    { vpn, namespace, name, cluster },
    {
      mode: sync ? "sync" : "async",
      function: { namespace, name: pick(random, FUNCTIONS) },
      filters: random() % 4 === 0 ? [] : [{ exact: { type: pick(random, TYPES) } }],
      ...(random() % 3 === 0 ? { cel: `event.type != "${pick(random, TYPES)}"` } : {}),
      ...(http ? { http: { method: "GET", path: `/items/:id/${name}` } } : {}),
      ...(random() % 4 === 0
        ? {
            delivery: {
              retry: 1,
              backoffPolicy: "exponential" as const,
              backoffDelayMs: 10,
              maxBackoffMs: 100,
              deadLetter: { namespace, name: pick(random, FUNCTIONS) },
            },
          }
        : {}),
    },
  );
};

/** What a table answers, for every VPN and probe event, as plain data. */
const answers = (table: RoutingTable): unknown =>
  VPNS.map((vpn) => ({
    vpn,
    matches: TYPES.flatMap((type) =>
      (["async", "sync"] as const).map((mode) =>
        table.match(vpn, eventOf({ type }), mode).map((r) => [r.key, r.fn, r.deadLetter, r.subscription]),
      ),
    ),
    http: NAMES.map((name) => {
      const found = table.matchHttp(vpn, "GET", `/items/7/${name}`);
      return found && [found.route.key, found.params, found.route.fn];
    }),
    routes: NAMES.map((name) => table.route(vpn, "team", name)?.key),
    functions: FUNCTIONS.map((name) => table.fn(vpn, "team", name)),
    stats: table.stats(vpn),
  }));

test("a table built with kept routes answers as one built from nothing, over random changes", () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    const random = generator(seed);
    const records = new Map<string, RegistryRecord>();
    const kept = vpnRoutesKept();
    const cel = celPrograms();
    let previous: RoutingTable | undefined;
    let reused = 0;
    let rebuilt = 0;
    for (let step = 0; step < 60; step++) {
      // A change: a record written (new or replaced), or one deleted.
      const record = randomRecord(random);
      const key = recordKey(record);
      if (records.has(key) && random() % 4 === 0) records.delete(key);
      else records.set(key, record);
      for (const vpn of VPNS)
        records.set(
          recordKey(vpnRecord(vpn, "east")),
          records.get(recordKey(vpnRecord(vpn, "east"))) ?? vpnRecord(vpn, "east"),
        );
      const snapshot: RegistrySnapshot = {
        revision: step + 1,
        records: new Map(records),
        clusters: new Map(),
      };
      const table = buildRoutingTable(snapshot, { kept, celPrograms: cel });
      const fresh = buildRoutingTable(snapshot);
      assert.deepEqual(answers(table), answers(fresh), `seed ${seed}, step ${step}`);
      const changedVpn = record.vpn;
      if (previous !== undefined)
        for (const vpn of VPNS)
          for (const name of NAMES) {
            const now = table.route(vpn, "team", name);
            const then = previous.route(vpn, "team", name);
            if (vpn !== changedVpn && now !== undefined) {
              assert.equal(now, then, `seed ${seed}, step ${step}: ${vpn}'s routes kept`);
              reused++;
            } else if (now !== undefined && now !== then) rebuilt++;
          }
      previous = table;
    }
    assert.ok(reused > 0 && rebuilt > 0, `seed ${seed}: ${reused} kept, ${rebuilt} built again`);
  }
});
