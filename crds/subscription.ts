// The Subscription CRD (namespaced): which events go to which function, and how. See
// SubscriptionSpec in types.ts.
import { type Crd, crd } from "./crd.ts";
import { FILTER_ITEMS, filter } from "./filter.ts";
import { DNS_LABEL, DNS_SUBDOMAIN, dnsLabel, duration, durationAtLeast } from "./formats.ts";
import { status } from "./kube.ts";
import { cel, int, list, obj, oneOf, rule, type Schema, str } from "./openapi.ts";

/** "name" or "namespace/name": a DNS-1123 label, an optional "/", a DNS-1123 subdomain. */
const FUNCTION_REF = `^(${DNS_LABEL.slice(1, -1)}/)?${DNS_SUBDOMAIN.slice(1)}`;
const LITERAL = "[-A-Za-z0-9._~!$&()+,;=@%][-A-Za-z0-9._~!$&()+,;=@%:]*";
const PARAM = ":[A-Za-z_][A-Za-z0-9_]*";
/** "/", or segments that are literals or :params, optionally ending in a "/*" wildcard. */
const HTTP_PATH = `^(/|(/(${LITERAL}|${PARAM}))*(/[*])?)$`;

const functionRef = (description: string, what: string): Schema =>
  str(
    description,
    63 + 1 + 253,
    rule(
      `self.matches(${cel(FUNCTION_REF)})`,
      `${what} must be "name" or "namespace/name" of a Function (DNS-1123 names)`,
    ),
  );

const http = obj(
  "For sync subscriptions: raw HTTP requests on this route become http.request events.",
  {
    method: oneOf("The HTTP method.", ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]),
    path: str(
      "The route: literal segments, :params, and an optional final * wildcard, e.g. /orders/:id or /files/*.",
      1024,
      rule("self.startsWith('/')", "http.path must start with /"),
      rule(
        `!self.startsWith('/') || self.matches(${cel(HTTP_PATH)})`,
        "http.path segments must be literals (letters, digits, -._~!$&()+,;=@%:) or :params (e.g. :id)",
      ),
      rule(
        "!self.contains('*') || (self.endsWith('/*') && self.indexOf('*') == size(self) - 1)",
        "the * wildcard is only allowed as the whole last segment of http.path",
      ),
    ),
  },
  ["method", "path"],
);

const delivery = obj(
  "How events are delivered: retries, backoff, timeout, dead letter.",
  {
    retry: int(
      "Retries after the first attempt. Default 20 for async (with the default backoff, 7.5 to 15 minutes of retrying), 0 for sync.",
      "retry",
      0,
      100,
    ),
    backoffPolicy: oneOf("How the delay grows between retries. Default exponential.", [
      "exponential",
      "linear",
    ]),
    backoffDelay: duration('The first retry delay, a Go duration. Default "1s".', "backoffDelay", "1h"),
    maxBackoff: duration('The largest retry delay, a Go duration. Default "1m".', "maxBackoff", "24h"),
    timeout: duration("Per-attempt timeout, a Go duration. Default: the function's.", "timeout", "15m"),
    deadLetter: obj(
      "Where events go when retries run out.",
      { function: functionRef('A Function: "name" or "namespace/name".', "deadLetter.function") },
      ["function"],
    ),
  },
  [],
  rule(durationAtLeast("maxBackoff", "backoffDelay"), "maxBackoff must be at least backoffDelay", {
    fieldPath: ".maxBackoff",
  }),
);

const spec = obj(
  "The desired state of the Subscription.",
  {
    vpn: dnsLabel("The VPN this subscription belongs to.", "vpn"),
    function: functionRef(
      'The Function events go to: "name" in this namespace or "namespace/name" in the same VPN.',
      "function",
    ),
    mode: oneOf(
      "async (accepted, then delivered) or sync (the function's response is returned).",
      ["async", "sync"],
      "async",
    ),
    filters: list(
      "Filters that must all match (AND). Empty: every event of the VPN.",
      filter(),
      FILTER_ITEMS,
    ),
    cel: str("A CEL expression over event (attributes) and data, compiled by the operator.", 4096),
    http,
    delivery,
    rateLimit: obj(
      "A rate limit on deliveries to the function.",
      {
        eventsPerSecond: int("Sustained deliveries per second.", "rateLimit.eventsPerSecond", 1, 1_000_000),
        burst: int(
          "Deliveries allowed in a burst above the sustained rate.",
          "rateLimit.burst",
          1,
          10_000_000,
        ),
      },
      ["eventsPerSecond"],
    ),
  },
  ["vpn", "function", "mode"],
  rule("!has(self.http) || self.mode == 'sync'", "http is only allowed with mode sync", {
    fieldPath: ".http",
    reason: "FieldValueForbidden",
  }),
  rule(
    // "function" is a CEL reserved word: Kubernetes exposes the property as __function__.
    "!has(self.delivery) || !has(self.delivery.deadLetter) || self.delivery.deadLetter.__function__ != self.__function__",
    "deadLetter.function must differ from function",
    { fieldPath: ".delivery.deadLetter.function" },
  ),
);

/** The Subscription CustomResourceDefinition. */
export const subscriptionCrd = (): Crd =>
  crd({
    kind: "Subscription",
    plural: "subscriptions",
    shortNames: ["sub", "sbsub"],
    scope: "Namespaced",
    description: "A Switchboard subscription: which events of a VPN go to which function, and how.",
    spec,
    status: status("The observed state of the Subscription.", {
      registryKey: str("The registry key of this subscription's route, once written.", 1024),
    }),
    columns: [
      { name: "VPN", type: "string", jsonPath: ".spec.vpn", description: "The VPN." },
      { name: "Function", type: "string", jsonPath: ".spec.function", description: "Where events go." },
      { name: "Mode", type: "string", jsonPath: ".spec.mode", description: "async or sync." },
    ],
    selectableFields: ["spec.vpn", "spec.function"],
  });
