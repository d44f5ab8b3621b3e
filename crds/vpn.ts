// The VPN CRD (cluster-scoped): a tenant's namespaces, publishers and limits. See VpnSpec in types.ts.
import { type Crd, crd } from "./crd.ts";
import { DNS_LABEL, dnsLabel } from "./formats.ts";
import { labelSelector, namespacedSecretKeyRef, status } from "./kube.ts";
import { cel, int, list, mapList, obj, rule, str } from "./openapi.ts";

const namespaces = obj(
  "The namespaces whose objects and pods belong to this VPN: exactly one of names or selector.",
  {
    names: list("Namespace names.", dnsLabel("A namespace name.", "namespace names"), 256, {
      minItems: 1,
      "x-kubernetes-list-type": "set",
    }),
    selector: labelSelector("A label selector over namespaces."),
  },
  [],
  rule("has(self.names) != has(self.selector)", "namespaces must set exactly one of names or selector"),
);

const publisher = obj(
  "A publisher: a name and the Secret key holding its bearer token.",
  {
    name: dnsLabel("The publisher's name, unique in this VPN.", "publisher names"),
    tokenSecretRef: namespacedSecretKeyRef(
      "The Secret key holding the bearer token. Only its SHA-256 hash reaches the registry.",
    ),
  },
  ["name", "tokenSecretRef"],
);

const limits = obj(
  "Limits applied by every gateway to this VPN's traffic.",
  {
    eventsPerSecond: int(
      "Sustained events per second accepted from publishers.",
      "eventsPerSecond",
      1,
      1_000_000,
    ),
    burst: int("Events accepted in a burst above the sustained rate.", "burst", 1, 10_000_000),
    maxEventBytes: int("The largest event accepted, in bytes.", "maxEventBytes", 1, 16 * 1024 * 1024),
    maxInFlight: int("Deliveries in flight per gateway for this VPN.", "maxInFlight", 1, 100_000),
  },
  [],
  rule(
    "!has(self.eventsPerSecond) || !has(self.burst) || self.burst >= self.eventsPerSecond",
    "burst must be at least eventsPerSecond",
    { fieldPath: ".burst" },
  ),
);

/** The VPN CustomResourceDefinition. */
export const vpnCrd = (): Crd =>
  crd({
    kind: "VPN",
    plural: "vpns",
    shortNames: ["sbvpn"],
    scope: "Cluster",
    description: "A Switchboard tenant: member namespaces, publishers and limits. Nothing crosses VPNs.",
    spec: obj(
      "The desired state of the VPN.",
      {
        namespaces,
        publishers: mapList("Publishers and their bearer tokens.", publisher, "name", 64),
        limits,
      },
      ["namespaces"],
    ),
    status: status("The observed state of the VPN.", {
      namespaces: list(
        "Member namespaces as resolved (conflicting ones excluded).",
        str("A namespace name.", 63),
        4096,
      ),
      publishers: { type: "integer", format: "int32", description: "Publishers with a usable token." },
    }),
    columns: [
      {
        name: "Namespaces",
        type: "string",
        jsonPath: ".status.namespaces",
        description: "Member namespaces.",
      },
      {
        name: "Publishers",
        type: "integer",
        jsonPath: ".status.publishers",
        description: "Usable publishers.",
      },
    ],
    rules: [
      rule(
        `self.metadata.name.matches(${cel(DNS_LABEL)}) && size(self.metadata.name) <= 63`,
        "metadata.name of a VPN must be a DNS-1123 label of at most 63 characters: spec.vpn of Functions and Subscriptions refers to it",
      ),
    ],
  });
