// Egress rule entries as written in --egress-allow, --egress-deny and a VPN's spec.egress.allow
// (docs/gateway.md, "Egress policy"): an address or CIDR, a host name or `*.` pattern, or `*`
// (any address), each optionally with `:PORT` (IPv6 in brackets when a port follows).
import { type Address, type Cidr, cidrContains, parseCidr } from "./address.ts";

/** One parsed entry; `text` is the entry as written (lower-cased, trimmed). */
export type EgressEntry =
  | { readonly kind: "address"; readonly cidr: Cidr; readonly port?: number; readonly text: string }
  | { readonly kind: "any"; readonly port?: number; readonly text: string }
  | {
      readonly kind: "host";
      /** The name, or for `*.example.com` the suffix "example.com". */
      readonly host: string;
      readonly wildcard: boolean;
      readonly port?: number;
      readonly text: string;
    };

/** An entry that cannot be parsed; the message says what the forms are. */
export class EgressRuleError extends Error {
  override name = "EgressRuleError";
}

const FORMS =
  "an IP address or CIDR (10.0.0.0/8, fd00::/8), a host name or *.pattern (*.svc.cluster.local), or * (any address), optionally followed by :PORT ([fd00::1]:8080 for IPv6)";
const LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const HOST = new RegExp(`^(\\*\\.)?${LABEL}(\\.${LABEL})*$`);

const parsePort = (text: string, entry: string): number => {
  const port = Number(text);
  if (!/^\d{1,5}$/.test(text) || port < 1 || port > 65535)
    throw new EgressRuleError(`egress rule "${entry}": port must be from 1 to 65535`);
  return port;
};

const withPort = (port: number | undefined): { port?: number } => (port === undefined ? {} : { port });

const addressOrHost = (target: string, port: number | undefined, text: string): EgressEntry => {
  if (target === "*") return { kind: "any", ...withPort(port), text };
  const cidr = parseCidr(target);
  if (cidr) return { kind: "address", cidr, ...withPort(port), text };
  if (/^[\d./]+$/.test(target) || target.includes("/"))
    throw new EgressRuleError(`egress rule "${text}": "${target}" is not a valid IP address or CIDR`);
  if (!HOST.test(target) || target.length > 253)
    throw new EgressRuleError(`egress rule "${text}" must be ${FORMS}`);
  const wildcard = target.startsWith("*.");
  return { kind: "host", host: wildcard ? target.slice(2) : target, wildcard, ...withPort(port), text };
};

/** Parses one entry; throws EgressRuleError saying what is wrong and which forms are accepted. */
export const parseEgressEntry = (raw: string): EgressEntry => {
  const text = raw.trim().toLowerCase();
  if (text === "") throw new EgressRuleError(`an egress rule must not be empty: ${FORMS}`);
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracketed) {
    const cidr = parseCidr(bracketed[1] ?? "");
    if (!cidr || !(bracketed[1] ?? "").includes(":"))
      throw new EgressRuleError(`egress rule "${text}": "${bracketed[1]}" is not an IPv6 address or CIDR`);
    const port = bracketed[2] === undefined ? undefined : parsePort(bracketed[2], text);
    return { kind: "address", cidr, ...withPort(port), text };
  }
  const colons = text.split(":").length - 1;
  if (colons > 1) {
    const cidr = parseCidr(text);
    if (!cidr) throw new EgressRuleError(`egress rule "${text}" must be ${FORMS}`);
    return { kind: "address", cidr, text };
  }
  if (colons === 1) {
    const at = text.indexOf(":");
    return addressOrHost(text.slice(0, at), parsePort(text.slice(at + 1), text), text);
  }
  return addressOrHost(text, undefined, text);
};

/** Parses a comma-separated list (a flag's value); throws EgressRuleError on the first bad entry. */
export const parseEgressList = (value: string | undefined): EgressEntry[] =>
  (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map(parseEgressEntry);

/** Normalises a URL host name: lower case, no brackets, no trailing dot. */
export const normaliseHost = (host: string): string =>
  host
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1")
    .replace(/\.$/, "");

/** Whether a host entry names `host` (a wildcard matches names with at least one more label). */
export const hostMatches = (entry: { host: string; wildcard: boolean }, host: string): boolean =>
  entry.wildcard ? host.endsWith(`.${entry.host}`) : host === entry.host;

/** Whether `entry` matches a connection to `host` (the URL's name), resolved to `address`, on `port`. */
export const entryMatches = (
  entry: EgressEntry,
  host: string,
  address: Address | undefined,
  port: number,
): boolean => {
  if (entry.port !== undefined && entry.port !== port) return false;
  switch (entry.kind) {
    case "any":
      return true;
    case "address":
      return address !== undefined && cidrContains(entry.cidr, address);
    case "host":
      return hostMatches(entry, host);
  }
};
