// Invalid objects for crds.int.test.ts: each is a valid object of testdata.ts with one JSON merge
// patch applied (RFC 7386: objects merge, null deletes, anything else replaces), and the error
// the API server must answer with: the field and a distinctive part of the message.

export type Kind = "VPN" | "Function" | "Subscription";

export interface InvalidCase {
  kind: Kind;
  name: string;
  patch: Record<string, unknown>;
  field: string;
  message: string;
}

const c = (
  kind: Kind,
  name: string,
  spec: Record<string, unknown>,
  field: string,
  message: string,
): InvalidCase => ({
  kind,
  name,
  patch: { spec },
  field: `spec.${field}`,
  message,
});

const ref = (namespace: string | null, name: string | null, key: string | null) => ({
  publishers: [{ name: "checkout", tokenSecretRef: { namespace, name, key } }],
});
const DNS = "must be a DNS-1123 label";

// biome-ignore format: one case per line reads as a table
const vpn: InvalidCase[] = [
  c("VPN", "names and selector", { namespaces: { selector: { matchLabels: { a: "b" } } } }, "namespaces", "namespaces must set exactly one of names or selector"),
  c("VPN", "neither names nor selector", { namespaces: { names: null } }, "namespaces", "namespaces must set exactly one of names or selector"),
  c("VPN", "a namespace name that is no DNS label", { namespaces: { names: ["Shop_1"] } }, "namespaces.names[0]", `namespace names ${DNS}`),
  c("VPN", "a namespace listed twice", { namespaces: { names: ["a", "a"] } }, "namespaces.names[1]", 'Duplicate value: "a"'),
  c("VPN", "an empty selector", { namespaces: { names: null, selector: {} } }, "namespaces.selector", "an empty selector would select every namespace"),
  c("VPN", "In without values", { namespaces: { names: null, selector: { matchExpressions: [{ key: "tier", operator: "In" }] } } }, "namespaces.selector.matchExpressions[0].values", "values must be non-empty for In and NotIn"),
  c("VPN", "Exists with values", { namespaces: { names: null, selector: { matchExpressions: [{ key: "tier", operator: "Exists", values: ["a"] }] } } }, "namespaces.selector.matchExpressions[0].values", "empty for Exists and DoesNotExist"),
  c("VPN", "an unknown selector operator", { namespaces: { names: null, selector: { matchExpressions: [{ key: "tier", operator: "Has" }] } } }, "namespaces.selector.matchExpressions[0].operator", 'Unsupported value: "Has"'),
  c("VPN", "a bad label key", { namespaces: { names: null, selector: { matchLabels: { "bad key": "x" } } } }, "namespaces.selector.matchLabels", "label keys are an optional DNS subdomain"),
  c("VPN", "a bad label value", { namespaces: { names: null, selector: { matchLabels: { tier: "-x" } } } }, "namespaces.selector.matchLabels[tier]", "label values must be empty or alphanumeric"),
  c("VPN", "two publishers with one name", { publishers: [{ name: "p", tokenSecretRef: { namespace: "a", name: "s", key: "k" } }, { name: "p", tokenSecretRef: { namespace: "a", name: "t", key: "k" } }] }, "publishers[1]", 'Duplicate value: {"name":"p"}'),
  c("VPN", "a publisher name that is no DNS label", { publishers: [{ name: "Checkout", tokenSecretRef: { namespace: "a", name: "s", key: "k" } }] }, "publishers[0].name", `publisher names ${DNS}`),
  c("VPN", "a token without namespace", ref(null, "s", "k"), "publishers[0].tokenSecretRef.namespace", "Required value"),
  c("VPN", "a token without name", ref("a", null, "k"), "publishers[0].tokenSecretRef.name", "Required value"),
  c("VPN", "a token without key", ref("a", "s", null), "publishers[0].tokenSecretRef.key", "Required value"),
  c("VPN", "a token namespace that is no DNS label", ref("A", "s", "k"), "publishers[0].tokenSecretRef.namespace", `namespace ${DNS}`),
  c("VPN", "a token Secret name that is no DNS subdomain", ref("a", "bad_name", "k"), "publishers[0].tokenSecretRef.name", "name must be a DNS-1123 subdomain"),
  c("VPN", "a token key with a slash", ref("a", "s", "a/b"), "publishers[0].tokenSecretRef.key", "key must be a Secret data key"),
  c("VPN", "eventsPerSecond 0", { limits: { eventsPerSecond: 0 } }, "limits.eventsPerSecond", "eventsPerSecond must be between 1 and 1000000"),
  c("VPN", "burst too large", { limits: { burst: 20_000_000 } }, "limits.burst", "burst must be between 1 and 10000000"),
  c("VPN", "maxEventBytes 0", { limits: { maxEventBytes: 0 } }, "limits.maxEventBytes", "maxEventBytes must be between 1 and 16777216"),
  c("VPN", "maxInFlight negative", { limits: { maxInFlight: -1 } }, "limits.maxInFlight", "maxInFlight must be between 1 and 100000"),
  c("VPN", "burst below eventsPerSecond", { limits: { eventsPerSecond: 100, burst: 10 } }, "limits.burst", "burst must be at least eventsPerSecond"),
  c("VPN", "an egress entry that is no address or host", { egress: { allow: ["10.0.0.0/40"] } }, "egress.allow[0]", "egress.allow entries must be an IP address or CIDR"),
  c("VPN", "an egress entry with an upper-case host", { egress: { allow: ["Fn.Example.com"] } }, "egress.allow[0]", "a lowercase host name or *.pattern"),
  c("VPN", "an egress entry that is *", { egress: { allow: ["*"] } }, "egress.allow[0]", "egress.allow entries must be an IP address or CIDR"),
  c("VPN", "an egress entry with a bad port", { egress: { allow: ["10.1.2.3:70000"] } }, "egress.allow[0]", "an egress.allow port must be from 1 to 65535"),
  c("VPN", "an egress entry with port 0", { egress: { allow: ["fn.example.com:0"] } }, "egress.allow[0]", "an egress.allow port must be from 1 to 65535"),
  c("VPN", "an IPv6 egress entry with a port but no brackets", { egress: { allow: ["fd00::1:99999"] } }, "egress.allow[0]", "egress.allow entries must be an IP address or CIDR"),
  c("VPN", "an egress entry listed twice", { egress: { allow: ["10.0.0.0/8", "10.0.0.0/8"] } }, "egress.allow[1]", 'Duplicate value: "10.0.0.0/8"'),
  { kind: "VPN", name: "a name that is no DNS label", patch: { metadata: { name: "shop.eu" } }, field: "<nil>", message: "metadata.name of a VPN must be a DNS-1123 label" },
];

const header = (h: Record<string, unknown>) => ({ headers: [h] });

// biome-ignore format: one case per line reads as a table
const fn: InvalidCase[] = [
  c("Function", "no vpn", { vpn: null }, "vpn", "Required value"),
  c("Function", "a vpn that is no DNS label", { vpn: "Shop" }, "vpn", `vpn ${DNS}`),
  c("Function", "a vpn longer than 63 characters", { vpn: "a".repeat(64) }, "vpn", "Too long: may not be more than 63"),
  c("Function", "both service and url", { target: { url: "http://a.example" } }, "target", "target must set exactly one of service or url"),
  c("Function", "neither service nor url", { target: { service: null } }, "target", "target must set exactly one of service or url"),
  c("Function", "port 0", { target: { service: { port: 0 } } }, "target.service.port", "port must be a number from 1 to 65535 or an IANA service name"),
  c("Function", "port 65536", { target: { service: { port: 65536 } } }, "target.service.port", "port must be a number from 1 to 65535"),
  c("Function", "a port number as a string", { target: { service: { port: "80" } } }, "target.service.port", "or an IANA service name"),
  c("Function", "a port name longer than 15", { target: { service: { port: "http-alternative" } } }, "target.service.port", "or an IANA service name"),
  c("Function", "a port name with --", { target: { service: { port: "http--x" } } }, "target.service.port", "or an IANA service name"),
  c("Function", "a Service name that is no DNS-1035 label", { target: { service: { name: "1orders" } } }, "target.service.name", "service name must be a DNS-1035 label"),
  c("Function", "a service without port", { target: { service: { port: null } } }, "target.service.port", "Required value"),
  c("Function", "a path without /", { target: { service: { path: "events" } } }, "target.service.path", "path must start with /"),
  c("Function", "a path with a query", { target: { service: { path: "/events?x=1" } } }, "target.service.path", "path must not contain whitespace, ? or #"),
  c("Function", "a relative url", { target: { service: null, url: "/events" } }, "target.url", "url must be an absolute http:// or https:// URL"),
  c("Function", "an ftp url", { target: { service: null, url: "ftp://files.example/x" } }, "target.url", "url must be an absolute http:// or https:// URL"),
  c("Function", "a url that is no URL", { target: { service: null, url: "orders events" } }, "target.url", "url must be an absolute http:// or https:// URL"),
  c("Function", "an external url without scheme", { external: { url: "orders.example.com/events" } }, "external.url", "external.url must be an absolute http:// or https:// URL"),
  c("Function", "a timeout without unit", { timeout: "10" }, "timeout", "timeout must be a Go duration such as 500ms, 10s or 1m30s, got \"10\""),
  c("Function", "a timeout of 0s", { timeout: "0s" }, "timeout", "timeout must be more than 0s and at most 15m"),
  c("Function", "a timeout of 16m", { timeout: "16m" }, "timeout", "timeout must be more than 0s and at most 15m"),
  c("Function", "concurrency 0", { concurrency: 0 }, "concurrency", "concurrency must be between 1 and 10000"),
  c("Function", "concurrency 10001", { concurrency: 10_001 }, "concurrency", "concurrency must be between 1 and 10000"),
  c("Function", "a header name with a space", header({ name: "X Tenant", value: "a" }), "headers[0].name", "header names must be HTTP tokens"),
  c("Function", "a Host header", header({ name: "Host", value: "a" }), "headers[0].name", "header is reserved"),
  c("Function", "a Content-Length header", header({ name: "content-length", value: "1" }), "headers[0].name", "header is reserved"),
  c("Function", "a Content-Type header", header({ name: "Content-Type", value: "a" }), "headers[0].name", "header is reserved"),
  c("Function", "a Transfer-Encoding header", header({ name: "Transfer-Encoding", value: "a" }), "headers[0].name", "header is reserved"),
  c("Function", "a Connection header", header({ name: "Connection", value: "close" }), "headers[0].name", "header is reserved"),
  c("Function", "a ce- header", header({ name: "CE-Type", value: "a" }), "headers[0].name", "header is reserved"),
  c("Function", "a header with value and valueFrom", header({ name: "X-A", value: "a", valueFrom: { secretKeyRef: { name: "s", key: "k" } } }), "headers[0]", "a header must set exactly one of value or valueFrom"),
  c("Function", "a header with neither value nor valueFrom", header({ name: "X-A" }), "headers[0]", "a header must set exactly one of value or valueFrom"),
  c("Function", "a header value with a newline", header({ name: "X-A", value: "a\r\nX-B: b" }), "headers[0].value", "header values must not contain control characters"),
  c("Function", "a header Secret without key", header({ name: "X-A", valueFrom: { secretKeyRef: { name: "s" } } }), "headers[0].valueFrom.secretKeyRef.key", "Required value"),
  c("Function", "a header twice", { headers: [{ name: "X-A", value: "a" }, { name: "X-A", value: "b" }] }, "headers[1]", 'Duplicate value: {"name":"X-A"}'),
  c("Function", "a header twice in another case", { headers: [{ name: "X-A", value: "a" }, { name: "x-a", value: "b" }] }, "headers", "header names must be unique, ignoring case"),
];

const depth4 = { all: [{ any: [{ not: { all: [{ exact: { type: "a" } }] } }] }] };

// biome-ignore format: one case per line reads as a table
const sub: InvalidCase[] = [
  c("Subscription", "no vpn", { vpn: null }, "vpn", "Required value"),
  c("Subscription", "a vpn that is no DNS label", { vpn: "shop_eu" }, "vpn", `vpn ${DNS}`),
  c("Subscription", "no function", { function: null }, "function", "Required value"),
  c("Subscription", "a function with capitals", { function: "Orders" }, "function", 'function must be "name" or "namespace/name"'),
  c("Subscription", "a function with two slashes", { function: "a/b/c" }, "function", 'function must be "name" or "namespace/name"'),
  c("Subscription", "an unknown mode", { mode: "fast" }, "mode", 'Unsupported value: "fast": supported values: "async", "sync"'),
  c("Subscription", "a filter with two dialects", { filters: [{ exact: { type: "a" }, prefix: { source: "b" } }] }, "filters[0]", "a filter must use exactly one of exact, prefix, suffix, all, any or not"),
  c("Subscription", "an empty filter", { filters: [{}] }, "filters[0]", "a filter must use exactly one of exact"),
  c("Subscription", "a nested filter with two dialects", { filters: [{ any: [{ exact: { type: "a" }, not: { exact: { type: "b" } } }] }] }, "filters[0].any[0]", "a filter must use exactly one of exact"),
  c("Subscription", "an attribute name with capitals", { filters: [{ exact: { Type: "a" } }] }, "filters[0].exact", "CloudEvents attribute names are 1 to 20 lowercase letters or digits"),
  c("Subscription", "an attribute name of 21 characters", { filters: [{ prefix: { abcdefghijklmnopqrstu: "a" } }] }, "filters[0].prefix", "CloudEvents attribute names are 1 to 20"),
  c("Subscription", "a nested bad attribute name", { filters: [{ not: { suffix: { "data-schema": "a" } } }] }, "filters[0].not.suffix", "CloudEvents attribute names are 1 to 20"),
  c("Subscription", "an empty exact map", { filters: [{ exact: {} }] }, "filters[0].exact", "should have at least 1 properties"),
  c("Subscription", "an empty all list", { filters: [{ all: [] }] }, "filters[0].all", "should have at least 1 items"),
  c("Subscription", "filters nested 4 levels deep", { filters: [depth4] }, "filters[0].all[0].any[0].not", "filters nest at most 3 levels of all, any and not"),
  c("Subscription", "a CEL expression over 4096 bytes", { cel: "a".repeat(4097) }, "cel", "Too long: may not be more than 4096"),
  c("Subscription", "http with mode async", { http: { method: "GET", path: "/orders" } }, "http", "http is only allowed with mode sync"),
  c("Subscription", "an unknown http method", { mode: "sync", http: { method: "FETCH", path: "/" } }, "http.method", 'Unsupported value: "FETCH"'),
  c("Subscription", "http without path", { mode: "sync", http: { method: "GET" } }, "http.path", "Required value"),
  c("Subscription", "http without method", { mode: "sync", http: { path: "/" } }, "http.method", "Required value"),
  c("Subscription", "an http path without /", { mode: "sync", http: { method: "GET", path: "orders" } }, "http.path", "http.path must start with /"),
  c("Subscription", "a wildcard in the middle", { mode: "sync", http: { method: "GET", path: "/files/*/raw" } }, "http.path", "the * wildcard is only allowed as the whole last segment"),
  c("Subscription", "a wildcard inside a segment", { mode: "sync", http: { method: "GET", path: "/files/a*" } }, "http.path", "the * wildcard is only allowed as the whole last segment"),
  c("Subscription", "an empty path segment", { mode: "sync", http: { method: "GET", path: "/orders//items" } }, "http.path", "http.path segments must be literals"),
  c("Subscription", "a param starting with a digit", { mode: "sync", http: { method: "GET", path: "/orders/:1d" } }, "http.path", "http.path segments must be literals"),
  c("Subscription", "retry 101", { delivery: { retry: 101 } }, "delivery.retry", "retry must be between 0 and 100"),
  c("Subscription", "retry -1", { delivery: { retry: -1 } }, "delivery.retry", "retry must be between 0 and 100"),
  c("Subscription", "an unknown backoffPolicy", { delivery: { backoffPolicy: "random" } }, "delivery.backoffPolicy", 'Unsupported value: "random"'),
  c("Subscription", "a backoffDelay that is no duration", { delivery: { backoffDelay: "fast" } }, "delivery.backoffDelay", "backoffDelay must be a Go duration such as 500ms, 10s or 1m30s, got \"fast\""),
  c("Subscription", "a backoffDelay over 1h", { delivery: { backoffDelay: "61m", maxBackoff: "2h" } }, "delivery.backoffDelay", "backoffDelay must be more than 0s and at most 1h"),
  c("Subscription", "a maxBackoff of 0s", { delivery: { maxBackoff: "0s" } }, "delivery.maxBackoff", "maxBackoff must be more than 0s and at most 24h"),
  c("Subscription", "a maxBackoff over 24h", { delivery: { maxBackoff: "25h" } }, "delivery.maxBackoff", "maxBackoff must be more than 0s and at most 24h"),
  c("Subscription", "maxBackoff below backoffDelay", { delivery: { backoffDelay: "2s", maxBackoff: "1500ms" } }, "delivery.maxBackoff", "maxBackoff must be at least backoffDelay"),
  c("Subscription", "a delivery timeout over 15m", { delivery: { timeout: "1h" } }, "delivery.timeout", "timeout must be more than 0s and at most 15m"),
  c("Subscription", "a negative delivery timeout", { delivery: { timeout: "-1s" } }, "delivery.timeout", "timeout must be a Go duration"),
  c("Subscription", "the function as its own dead letter", { delivery: { deadLetter: { function: "orders" } } }, "delivery.deadLetter.function", "deadLetter.function must differ from function"),
  c("Subscription", "a dead letter that is no function reference", { delivery: { deadLetter: { function: "Audit" } } }, "delivery.deadLetter.function", 'deadLetter.function must be "name" or "namespace/name"'),
  c("Subscription", "rateLimit eventsPerSecond 0", { rateLimit: { eventsPerSecond: 0 } }, "rateLimit.eventsPerSecond", "rateLimit.eventsPerSecond must be between 1 and 1000000"),
  c("Subscription", "rateLimit burst 0", { rateLimit: { burst: 0 } }, "rateLimit.burst", "rateLimit.burst must be between 1 and 10000000"),
  c("Subscription", "rateLimit without eventsPerSecond", { rateLimit: { eventsPerSecond: null } }, "rateLimit.eventsPerSecond", "Required value"),
];

/** Every invalid case, VPN first. */
export const INVALID_CASES: readonly InvalidCase[] = [...vpn, ...fn, ...sub];
