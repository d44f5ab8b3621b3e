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

const IP_PORT = "^[0-9./]+:[0-9]{1,5}$";
const IP6_PORT = "^\\[[0-9a-fA-F:./]+\\]:[0-9]{1,5}$";
const HOST_PATTERN =
  "^([*][.])?[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*(:[0-9]{1,5})?$";
const beforePort = "self.substring(0, self.lastIndexOf(':'))";
const inBrackets = "self.substring(1, self.lastIndexOf(']'))";

/** One allow entry: the forms of common/egress/rules.ts a VPN may use (not `*`). */
const egressEntry = str(
  "An address or CIDR (10.1.2.3, 10.0.0.0/8, fd00::/8), a host name or *.pattern (*.svc.cluster.local), optionally with :PORT ([fd00::1]:8080 for IPv6).",
  256,
  rule(
    `isIP(self) || isCIDR(self) || (self.matches(${cel(IP_PORT)}) && (isIP(${beforePort}) || isCIDR(${beforePort}))) || ` +
      `(self.matches(${cel(IP6_PORT)}) && (isIP(${inBrackets}) || isCIDR(${inBrackets}))) || ` +
      `(self.matches(${cel(HOST_PATTERN)}) && !self.matches(${cel("^[0-9.:]+$")}))`,
    "egress.allow entries must be an IP address or CIDR (10.0.0.0/8, fd00::/8), a lowercase host name or *.pattern (*.svc.cluster.local), optionally followed by :PORT ([fd00::1]:8080 for IPv6)",
  ),
  rule(
    `!self.matches(${cel("^([^:]*|\\[.*\\]):[0-9]+$")}) || (int(self.substring(self.lastIndexOf(':') + 1)) >= 1 && int(self.substring(self.lastIndexOf(':') + 1)) <= 65535)`,
    "an egress.allow port must be from 1 to 65535",
  ),
);

const egress = obj(
  "Egress policy additions for this VPN's deliveries. Gateways refuse loopback, link-local, cloud metadata and the cluster's protected endpoints by default (docs/gateway.md, \"Egress policy\").",
  {
    allow: list(
      "Destinations this VPN's functions may be delivered to although a default or --egress-deny rule refuses them. An entry lifts a rule only when it names an address inside the refused range (a host name lifts only --egress-deny rules); the registry etcd, the API server and the gateways' own ports stay refused whatever a VPN says.",
      egressEntry,
      64,
      { "x-kubernetes-list-type": "set" },
    ),
  },
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
        egress,
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
