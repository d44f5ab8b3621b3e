// The Function CRD (namespaced): where events are delivered. See FunctionSpec in types.ts.
import { type Crd, crd } from "./crd.ts";
import { dns1035Label, dnsLabel, duration, httpUrl } from "./formats.ts";
import { secretKeyRef, status } from "./kube.ts";
import { cel, int, list, obj, rule, type Schema, str } from "./openapi.ts";

/** RFC 9110 token characters. */
const HTTP_TOKEN = "^[-!#$%&'*+.^_`|~0-9A-Za-z]+$";
/** Headers the gateway sets itself or that are hop-by-hop (compared lowercase). */
export const RESERVED_HEADERS = [
  "host",
  "content-length",
  "content-type",
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
];
const IANA_SERVICE_NAME = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

const port: Schema = {
  description: "The Service port: a number, or the name of one of its ports (an IANA service name).",
  anyOf: [{ type: "integer" }, { type: "string" }],
  "x-kubernetes-int-or-string": true,
  "x-kubernetes-validations": [
    rule(
      `type(self) == int ? self >= 1 && self <= 65535 : size(self) <= 15 && self.matches(${cel(IANA_SERVICE_NAME)}) && self.matches('[a-z]') && !self.contains('--')`,
      "port must be a number from 1 to 65535 or an IANA service name (at most 15 lowercase letters, digits and '-', with a letter)",
    ),
  ],
};

const service = obj(
  "A Service in this namespace; its ready endpoints (from EndpointSlices) receive the events.",
  {
    name: dns1035Label("The Service's name.", "service name"),
    port,
    path: str(
      'The HTTP path events are posted to. Default "/".',
      1024,
      rule("self.startsWith('/')", "path must start with /"),
      rule("!self.matches('[[:space:]?#]')", "path must not contain whitespace, ? or #"),
    ),
  },
  ["name", "port"],
);

const header = obj(
  "A request header added to every delivery.",
  {
    name: str(
      "The header name.",
      256,
      rule(
        `self.matches(${cel(HTTP_TOKEN)})`,
        "header names must be HTTP tokens (letters, digits and !#$%&'*+-.^_`|~)",
      ),
      rule(
        `!(self.lowerAscii() in [${RESERVED_HEADERS.map(cel).join(", ")}]) && !self.lowerAscii().startsWith('ce-')`,
        "header is reserved: Host, Content-Length, Content-Type, hop-by-hop headers (Connection, Keep-Alive, Proxy-*, TE, Trailer, Transfer-Encoding, Upgrade) and ce-* are set by the gateway",
        { reason: "FieldValueForbidden" },
      ),
    ),
    value: str(
      "A literal value.",
      4096,
      rule(
        `!self.matches(${cel("[\\x00-\\x08\\x0a-\\x1f\\x7f]")})`,
        "header values must not contain control characters other than tab",
      ),
    ),
    valueFrom: obj(
      "The value from a Secret in this namespace.",
      { secretKeyRef: secretKeyRef("The Secret key holding the value.") },
      ["secretKeyRef"],
    ),
  },
  ["name"],
  rule("has(self.value) != has(self.valueFrom)", "a header must set exactly one of value or valueFrom"),
);

const headers = list("Request headers added to every delivery.", header, 32, {
  "x-kubernetes-list-type": "map",
  "x-kubernetes-list-map-keys": ["name"],
  "x-kubernetes-validations": [
    rule(
      "self.all(h, self.exists_one(o, o.name.lowerAscii() == h.name.lowerAscii()))",
      "header names must be unique, ignoring case",
    ),
  ],
});

const spec = obj(
  "The desired state of the Function.",
  {
    vpn: dnsLabel("The VPN this function belongs to.", "vpn"),
    target: obj(
      "Where events are delivered: exactly one of service or url.",
      {
        service,
        url: httpUrl("A URL events are posted to.", "url"),
      },
      [],
      rule("has(self.service) != has(self.url)", "target must set exactly one of service or url"),
    ),
    external: obj(
      "How gateways in other clusters reach this function.",
      { url: httpUrl("The URL other clusters post events to.", "external.url") },
      ["url"],
    ),
    timeout: duration('Per-attempt timeout, a Go duration. Default "30s".', "timeout", "15m"),
    concurrency: int("Max in-flight requests per gateway. Default 100.", "concurrency", 1, 10_000),
    headers,
  },
  ["vpn", "target"],
);

/** The Function CustomResourceDefinition. */
export const functionCrd = (): Crd =>
  crd({
    kind: "Function",
    plural: "functions",
    shortNames: ["fn", "sbfn"],
    scope: "Namespaced",
    description: "A Switchboard function: a Service or URL that events are delivered to.",
    spec,
    status: status("The observed state of the Function.", {
      endpoints: { type: "integer", format: "int32", description: "Ready endpoints in this cluster." },
      target: str('The target as one string ("svc/NAME:PORT/PATH" or the URL).', 2048),
    }),
    columns: [
      { name: "VPN", type: "string", jsonPath: ".spec.vpn", description: "The VPN." },
      { name: "Target", type: "string", jsonPath: ".status.target", description: "Where events go." },
      { name: "Endpoints", type: "integer", jsonPath: ".status.endpoints", description: "Ready endpoints." },
    ],
    selectableFields: ["spec.vpn"],
  });
