// Sample requests for a Subscription, printed by dev mode as curl commands to paste: a CloudEvent
// whose attributes come from the Subscription's filters and whose data satisfies simple CEL
// comparisons (`data.amount > 0`), or a request on its HTTP route. Pure; dev mode checks each
// event sample against the gateway's /explain before it prints it.
import type { Filter, SubscriptionSpec } from "../../crds/types.ts";

/** A CloudEvent in binary mode: its `ce-` attributes and JSON data. */
export interface SampleEvent {
  readonly attributes: Readonly<Record<string, string>>;
  readonly data: Readonly<Record<string, unknown>>;
}

const attributesFrom = (filters: readonly Filter[], into: Record<string, string>): void => {
  for (const f of filters) {
    for (const [k, v] of Object.entries(f.exact ?? {})) into[k] ??= v;
    for (const [k, v] of Object.entries(f.prefix ?? {})) into[k] ??= `${v}sample`;
    for (const [k, v] of Object.entries(f.suffix ?? {})) into[k] ??= `sample${v}`;
    attributesFrom(f.all ?? [], into);
    attributesFrom((f.any ?? []).slice(0, 1), into);
  }
};

const LITERAL = /^(-?\d+(?:\.\d+)?|"[^"\\]*"|'[^'\\]*'|true|false)$/;
const COMPARISON = /^data((?:\.[A-Za-z_]\w*)+)\s*(==|!=|>=|<=|>|<)\s*(.+)$/;

const parseLiteral = (text: string): number | string | boolean | undefined => {
  if (!LITERAL.test(text)) return undefined;
  if (text === "true" || text === "false") return text === "true";
  if (/^['"]/.test(text)) return text.slice(1, -1);
  return Number(text);
};

/** A value `v` for which `v OP literal` holds, or undefined. */
const satisfying = (op: string, lit: number | string | boolean): unknown => {
  if (op === "==" || op === ">=" || op === "<=") return lit;
  if (typeof lit === "number") return op === "<" ? lit - 1 : lit + 1;
  if (op === "!=") return typeof lit === "boolean" ? !lit : `${lit}x`;
  return undefined;
};

const setPath = (data: Record<string, unknown>, path: readonly string[], value: unknown): void => {
  const [head, ...rest] = path;
  if (head === undefined) return;
  if (rest.length === 0) {
    data[head] = value;
    return;
  }
  const next = data[head];
  const child: Record<string, unknown> = typeof next === "object" && next !== null ? { ...next } : {};
  setPath(child, rest, value);
  data[head] = child;
};

/** Data satisfying the `&&`-joined `data.F OP literal` comparisons of `cel`; other clauses are left to /explain. */
export const dataFor = (cel: string | undefined): Record<string, unknown> => {
  const data: Record<string, unknown> = {};
  for (const clause of (cel ?? "").split("&&").map((c) => c.trim().replace(/^\((.*)\)$/, "$1"))) {
    const m = COMPARISON.exec(clause);
    const lit = m ? parseLiteral((m[3] ?? "").trim()) : undefined;
    if (!m || lit === undefined) continue;
    const value = satisfying(m[2] ?? "", lit);
    if (value !== undefined) setPath(data, (m[1] ?? "").slice(1).split("."), value);
  }
  return data;
};

/** The sample CloudEvent for a Subscription without an HTTP route. */
export const sampleEvent = (spec: SubscriptionSpec, id: string): SampleEvent => {
  const attributes: Record<string, string> = {};
  attributesFrom(spec.filters ?? [], attributes);
  attributes.type ??= "dev.sample";
  attributes.source ??= "/dev";
  return {
    attributes: { specversion: "1.0", id, ...attributes },
    data: dataFor(spec.cel),
  };
};

/** The request path for an HTTP route: `:param` → 1, a final `*` → sample. */
export const routePath = (path: string): string =>
  path
    .split("/")
    .map((seg) => (seg.startsWith(":") ? "1" : seg === "*" ? "sample" : seg))
    .join("/");

/** `text` as one bash word: bare when it has only safe characters, else single-quoted. */
export const shellQuote = (text: string): string =>
  /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;

/** The HTTP headers that carry `event` in binary mode, with the bearer token. */
export const eventHeaders = (event: SampleEvent, token: string): Record<string, string> => ({
  authorization: `Bearer ${token}`,
  ...Object.fromEntries(Object.entries(event.attributes).map(([k, v]) => [`ce-${k}`, v])),
  "content-type": "application/json",
});

const headerArgs = (headers: Record<string, string>): string =>
  Object.entries(headers)
    .map(([k, v]) => `-H ${shellQuote(`${k}: ${v}`)}`)
    .join(" ");

/** `curl -i` publishing `event` to the gateway at `gatewayUrl`. */
export const eventCurl = (gatewayUrl: string, event: SampleEvent, token: string): string =>
  `curl -i ${gatewayUrl}/ ${headerArgs(eventHeaders(event, token))} -d ${shellQuote(JSON.stringify(event.data))}`;

/** `curl -i` calling the HTTP route `http` on the gateway at `gatewayUrl`. */
export const routeCurl = (
  gatewayUrl: string,
  http: NonNullable<SubscriptionSpec["http"]>,
  token: string,
): string => {
  const method = http.method.toUpperCase();
  const url = shellQuote(`${gatewayUrl}${routePath(http.path)}`);
  const auth = headerArgs({ authorization: `Bearer ${token}` });
  if (method === "GET") return `curl -i ${url} ${auth}`;
  if (method === "HEAD") return `curl -I ${url} ${auth}`;
  return `curl -i -X ${method} ${url} ${auth} ${headerArgs({ "content-type": "application/json" })} -d '{}'`;
};
