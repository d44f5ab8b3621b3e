// Egress enforcement at connect time (docs/architecture.md, "Security model", "Egress policy"):
// every new delivery connection resolves the URL's host here, checks each address against the
// policy, and hands the client's connector the chosen address itself, so the address checked is
// the address connected to (no second lookup, no DNS rebinding between check and connect). Names
// `localhost` and `*.localhost` are loopback without asking DNS (RFC 6761). Connections are pooled
// per VPN allow-list, so a connection opened under one VPN's allow-list never carries another's.
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { networkInterfaces } from "node:os";
import {
  type Connection,
  createEgressPolicy,
  type EgressPolicy,
  type EgressPolicyInput,
  protectedEndpoint,
} from "../../common/egress/policy.ts";
import { type EgressEntry, normaliseHost, parseEgressEntry } from "../../common/egress/rules.ts";
import { errorMessage } from "../../common/errors.ts";
import type { Logger } from "../../common/log.ts";
import type { Admit, DeliveryPool, PoolFactory } from "./client.ts";

/** A connection the egress policy refused; permanent for that address (never retried). */
export class EgressDeniedError extends Error {
  override name = "EgressDeniedError";
  readonly connection: Connection;
  constructor(message: string, connection: Connection) {
    super(message);
    this.connection = connection;
  }
}

/** A protected endpoint as configured: host (name or address) and port, and what it is. */
export interface ProtectedEndpoint {
  readonly host: string;
  readonly port: number;
  readonly reason: string;
}

type Resolve = (host: string) => Promise<readonly { address: string }[]>;

const isLoopbackName = (host: string): boolean => host === "localhost" || host.endsWith(".localhost");

/** The addresses `host` stands for: itself when an IP literal, loopback for *.localhost, else DNS (all families). */
export const resolveHost: Resolve = async (host) => {
  if (isIP(host) !== 0) return [{ address: host }];
  if (isLoopbackName(host)) return [{ address: "127.0.0.1" }, { address: "::1" }];
  return lookup(host, { all: true, verbatim: true });
};

const UNSPECIFIED = new Set(["0.0.0.0", "::", ""]);

/** The addresses a server bound to `host` is reachable on: all of this machine's when unspecified. */
export const boundAddresses = (host: string): string[] =>
  UNSPECIFIED.has(host)
    ? Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address))
    : [host];

/**
 * Where a connection to `host`:`port` may go: resolve, keep the first address `decide` allows;
 * an EgressDeniedError when it allows none.
 */
export const admitBy =
  (decide: (c: Connection) => ReturnType<EgressPolicy["decide"]>, resolve: Resolve = resolveHost): Admit =>
  async (host, port) => {
    const addresses = await resolve(host);
    let refusal: EgressDeniedError | undefined;
    for (const { address } of addresses) {
      const connection = { host, address, port };
      const decision = decide(connection);
      if (decision.allowed) return { address };
      refusal ??= new EgressDeniedError(decision.message, connection);
    }
    throw refusal ?? new Error(`${host} resolved to no address`);
  };

export interface EgressOptions {
  readonly allow: readonly EgressEntry[];
  readonly deny: readonly EgressEntry[];
  /** The registry etcd, the API server, this gateway's own ports. */
  readonly protect: readonly ProtectedEndpoint[];
  /** The HTTP client's pools (./node-client.ts nodePools, or ./undici-client.ts undiciPools). */
  readonly pools: PoolFactory;
  readonly resolve?: Resolve;
  /** Where a protected name that does not resolve is reported. */
  readonly log?: Logger;
}

export interface Egress {
  /** The connection pool for deliveries of a VPN with these allow entries (as in its record). */
  pool(vpnAllow: readonly string[]): DeliveryPool;
  /** Adds protected endpoints (the gateway's own ports once they are bound). */
  protect(endpoints: readonly ProtectedEndpoint[]): void;
  /** Re-resolves protected host names (their addresses are refused too); never throws. */
  refresh(): Promise<void>;
  /** Closes the pools of allow-lists no longer named by any VPN. */
  retain(lists: Iterable<readonly string[]>): void;
  close(): Promise<void>;
}

const keyOf = (allow: readonly string[]): string => allow.join(",");

/** Creates the egress guard and its connection pools; the policy applies to every connection they open. */
export const createEgress = ({
  allow,
  deny,
  protect: initial,
  pools: factory,
  resolve = resolveHost,
  log,
}: EgressOptions): Egress => {
  let endpoints = [...initial];
  let resolved: readonly ProtectedEndpoint[] = [];
  const build = (): EgressPolicy => {
    const protect: EgressPolicyInput["protect"] = [...endpoints, ...resolved].map((e) =>
      protectedEndpoint(e.host, e.port, e.reason),
    );
    return createEgressPolicy({ allow, deny, protect });
  };
  let policy = build();
  const pools = new Map<string, DeliveryPool>();
  // The hot path asks with the same array (the routing table's) every time: no join per attempt.
  const byList = new WeakMap<readonly string[], DeliveryPool>();
  const pool = (vpnAllow: readonly string[]): DeliveryPool => {
    const known = byList.get(vpnAllow);
    if (known && !known.closed) return known;
    const key = keyOf(vpnAllow);
    let found = pools.get(key);
    if (!found) {
      const entries = vpnAllow.map(parseEgressEntry);
      found = factory(admitBy((c) => policy.decide(c, entries), resolve));
      pools.set(key, found);
    }
    byList.set(vpnAllow, found);
    return found;
  };
  return {
    pool,
    protect: (more) => {
      endpoints = [...endpoints, ...more];
      policy = build();
    },
    refresh: async () => {
      const names = endpoints.filter((e) => isIP(e.host) === 0);
      const found = await Promise.all(
        names.map(async (e) => {
          const addresses = await resolve(normaliseHost(e.host)).catch((err: unknown) => {
            log?.warn(
              { host: e.host, what: e.reason, err: errorMessage(err) },
              "a protected endpoint's name did not resolve: the name stays refused, its addresses are unknown until it does",
            );
            return [];
          });
          return addresses.map(({ address }) => ({ ...e, host: address }));
        }),
      );
      resolved = found.flat();
      policy = build();
    },
    retain: (lists) => {
      const keep = new Set([""]);
      for (const list of lists) keep.add(keyOf(list));
      for (const [key, open] of pools)
        if (!keep.has(key)) {
          pools.delete(key);
          // In-flight requests finish first; a pool that fails to close holds nothing more.
          open.close().catch(() => undefined);
        }
    },
    close: async () => {
      await Promise.all([...pools.values()].map((p) => p.close()));
      pools.clear();
    },
  };
};
