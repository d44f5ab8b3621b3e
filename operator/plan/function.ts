// Function → its registry record: the delivery URLs of its ready endpoints in this cluster (from
// the Service's EndpointSlices) or its target URL, its external URL, timeout, concurrency and
// resolved headers. Pure: everything comes from the World.
import type { V1EndpointSlice, V1Service, V1ServicePort } from "@kubernetes/client-node";
import { parseDuration } from "../../common/duration.ts";
import { createEgressPolicy, type EgressPolicy } from "../../common/egress/policy.ts";
import type { FunctionSpec, SwitchboardFunction } from "../../crds/types.ts";
import { type FunctionRecord, SCHEMA_VERSION } from "../../registry/types.ts";
import { type ConditionInput, isFalse, isTrue } from "./conditions.ts";
import { egressCondition } from "./egress.ts";
import { notMemberReason } from "./membership.ts";
import { ownerOf, type Plan, readyFrom } from "./plan.ts";
import type { World } from "./world.ts";

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_CONCURRENCY = 100;

export interface FunctionStatusFields {
  endpoints: number;
  target: string;
}

type ServiceTarget = NonNullable<FunctionSpec["target"]["service"]>;

const describeTarget = (spec: FunctionSpec): string => {
  const svc = spec.target.service;
  if (svc) return `svc/${svc.name}:${svc.port}${svc.path ?? "/"}`;
  return spec.target.url ?? "";
};

const hostPort = (address: string, port: number): string =>
  address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;

const findServicePort = (service: V1Service, port: number | string): V1ServicePort | undefined =>
  (service.spec?.ports ?? []).find((p) => (typeof port === "number" ? p.port === port : p.name === port));

/** Delivery URLs of the ready endpoints behind `target`, sorted and unique. */
export const endpointUrls = (
  servicePort: V1ServicePort,
  slices: readonly V1EndpointSlice[],
  path: string,
): string[] => {
  const urls = new Set<string>();
  const wantName = servicePort.name ?? "";
  for (const slice of slices) {
    const port = (slice.ports ?? []).find((p) => (p.name ?? "") === wantName);
    if (port?.port === undefined) continue;
    for (const endpoint of slice.endpoints ?? []) {
      // A nil `ready` means ready (EndpointSlice API); terminating endpoints are never ready.
      if (endpoint.conditions?.ready === false) continue;
      for (const address of endpoint.addresses ?? [])
        urls.add(`http://${hostPort(address, port.port)}${path}`);
    }
  }
  return [...urls].sort();
};

const resolveService = (
  fn: SwitchboardFunction,
  svc: ServiceTarget,
  world: World,
): { urls: string[]; condition: ConditionInput } => {
  const namespace = fn.metadata.namespace ?? "";
  const service = world.service(namespace, svc.name);
  if (!service)
    return {
      urls: [],
      condition: isFalse(
        "EndpointsResolved",
        "ServiceNotFound",
        `Service ${namespace}/${svc.name} not found`,
      ),
    };
  const servicePort = findServicePort(service, svc.port);
  if (!servicePort) {
    return {
      urls: [],
      condition: isFalse(
        "EndpointsResolved",
        "PortNotFound",
        `Service ${namespace}/${svc.name} has no port ${svc.port}`,
      ),
    };
  }
  const urls = endpointUrls(servicePort, world.endpointSlices(namespace, svc.name), svc.path ?? "/");
  return urls.length > 0
    ? { urls, condition: isTrue("EndpointsResolved", "EndpointsReady", `${urls.length} ready endpoint(s)`) }
    : {
        urls,
        condition: isFalse(
          "EndpointsResolved",
          "NoReadyEndpoints",
          `Service ${namespace}/${svc.name} has no ready endpoints`,
        ),
      };
};

const resolveHeaders = (
  fn: SwitchboardFunction,
  world: World,
): { headers: Record<string, string>; problems: string[] } => {
  const headers: Record<string, string> = {};
  const problems: string[] = [];
  const namespace = fn.metadata.namespace ?? "";
  for (const h of fn.spec.headers ?? []) {
    if (h.value !== undefined) headers[h.name] = h.value;
    const ref = h.valueFrom?.secretKeyRef;
    if (!ref) continue;
    const encoded = world.secret(namespace, ref.name)?.data?.[ref.key];
    if (encoded === undefined)
      problems.push(`header ${h.name}: Secret ${namespace}/${ref.name} key ${ref.key} not found`);
    else headers[h.name] = Buffer.from(encoded, "base64").toString("utf8").trim();
  }
  return { headers, problems };
};

const DEFAULT_EGRESS = createEgressPolicy();

/**
 * Plans a Function's record and conditions (VPNMember, EndpointsResolved, HeadersResolved,
 * EgressAllowed, Ready). A refused delivery address keeps the record (the gateways refuse it and
 * tell callers why) but makes the Function not Ready.
 */
export const planFunction = (
  fn: SwitchboardFunction,
  world: World,
  cluster: string,
  egress: EgressPolicy = DEFAULT_EGRESS,
): Plan<FunctionRecord, FunctionStatusFields> => {
  const namespace = fn.metadata.namespace ?? "";
  const target = describeTarget(fn.spec);
  const notMember = notMemberReason(fn.spec.vpn, namespace, world);
  if (notMember) {
    const conditions = [isFalse("VPNMember", notMember.reason, notMember.message)];
    return {
      record: undefined,
      conditions: [...conditions, readyFrom(conditions, "", "")],
      status: { endpoints: 0, target },
    };
  }
  const resolved = fn.spec.target.service
    ? resolveService(fn, fn.spec.target.service, world)
    : {
        urls: [fn.spec.target.url ?? ""],
        condition: isTrue("EndpointsResolved", "URL", "the target is a URL"),
      };
  const { headers, problems } = resolveHeaders(fn, world);
  const conditions: ConditionInput[] = [
    isTrue("VPNMember", "Member", `namespace ${namespace} belongs to VPN ${fn.spec.vpn}`),
    resolved.condition,
    problems.length > 0
      ? isFalse("HeadersResolved", "SecretNotFound", problems.join("; "))
      : isTrue("HeadersResolved", "Resolved"),
    egressCondition(
      [
        ...resolved.urls.map((url) => ({ field: fn.spec.target.url ? "target.url" : "endpoint", url })),
        ...(fn.spec.external ? [{ field: "external.url", url: fn.spec.external.url }] : []),
      ],
      egress,
      world.vpn(fn.spec.vpn)?.spec.egress?.allow ?? [],
    ),
  ];
  conditions.push(readyFrom(conditions, "Registered", "the function is in the registry"));
  if (problems.length > 0) return { record: undefined, conditions, status: { endpoints: 0, target } };
  const record: FunctionRecord = {
    schema: SCHEMA_VERSION,
    kind: "function",
    vpn: fn.spec.vpn,
    owner: ownerOf(fn, cluster),
    spec: {
      endpoints: resolved.urls,
      ...(fn.spec.external ? { externalUrl: fn.spec.external.url } : {}),
      timeoutMs: fn.spec.timeout ? parseDuration(fn.spec.timeout) : DEFAULT_TIMEOUT_MS,
      concurrency: fn.spec.concurrency ?? DEFAULT_CONCURRENCY,
      headers,
    },
  };
  return { record, conditions, status: { endpoints: resolved.urls.length, target } };
};
