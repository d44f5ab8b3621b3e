// A gateway's presence record: which gateway it is, where it routes, and the registry revision it
// has applied. Each gateway keeps its own at presenceKey(cluster, id), bound to a lease it renews
// (sidecar/routing/presence.ts); when the gateway stops or is cut off for longer than the lease, the record
// goes. The operator reads its cluster's records to say whether an object has reached every
// gateway that should route it (operator/reconcile/propagation.ts). Records are reports, not configuration:
// one that does not parse is ignored and named in the operator's log.

/** What a gateway reports about itself. */
export interface GatewayPresence {
  /** The gateway's --id (a sidecar's pod name). */
  id: string;
  cluster: string;
  /** The program's version (package.json). */
  version: string;
  /** A sidecar's namespace (it routes that namespace's VPN); undefined for a shared gateway (it routes every VPN). */
  namespace?: string;
  /** Every registry change up to this etcd revision is in the gateway's routing table; 0 before the first load. */
  appliedRevision: number;
  /** When that revision was applied (RFC 3339). */
  appliedAt: string;
  /** Undefined while the gateway is ready, else why it is not (its /readyz answer). */
  notReady?: string;
  /** When the gateway started (RFC 3339). */
  startedAt: string;
}

/** The record's bytes: JSON with the fields in a fixed order. */
export const encodePresence = (p: GatewayPresence): Buffer =>
  Buffer.from(
    JSON.stringify({
      id: p.id,
      cluster: p.cluster,
      version: p.version,
      ...(p.namespace === undefined ? {} : { namespace: p.namespace }),
      appliedRevision: p.appliedRevision,
      appliedAt: p.appliedAt,
      ...(p.notReady === undefined ? {} : { notReady: p.notReady }),
      startedAt: p.startedAt,
    }),
  );

const text = (o: Record<string, unknown>, field: string, optional = false): string | undefined => {
  const value = o[field];
  if (value === undefined && optional) return undefined;
  if (typeof value !== "string" || value.length > 1024) throw new Error(`${field} is not a string`);
  return value;
};

/** The record at `key` of gateway `id`, or throws saying what is wrong with it. */
export const decodePresence = (value: Buffer | string, id: string): GatewayPresence => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString());
  } catch {
    throw new Error("not JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new Error("not an object");
  const o = parsed as Record<string, unknown>;
  if (o.id !== id) throw new Error(`id ${JSON.stringify(o.id)} is not the key's ${JSON.stringify(id)}`);
  const applied = o.appliedRevision;
  if (typeof applied !== "number" || !Number.isSafeInteger(applied) || applied < 0)
    throw new Error("appliedRevision is not a revision");
  const namespace = text(o, "namespace", true);
  const notReady = text(o, "notReady", true);
  return {
    id,
    cluster: text(o, "cluster") ?? "",
    version: text(o, "version") ?? "",
    ...(namespace === undefined ? {} : { namespace }),
    appliedRevision: applied,
    appliedAt: text(o, "appliedAt") ?? "",
    ...(notReady === undefined ? {} : { notReady }),
    startedAt: text(o, "startedAt") ?? "",
  };
};
