// IP addresses and CIDR ranges as numbers, for the egress policy (docs/architecture.md, "Security
// model", "Egress policy"). An IPv4-mapped IPv6 address (::ffff:a.b.c.d, in any spelling) is the
// IPv4 address it maps: the kernel connects to that IPv4 address, so it is classified as one.
import { isIPv4, isIPv6 } from "node:net";

/** An address family and the address as an unsigned integer (32 or 128 bits). */
export interface Address {
  readonly family: 4 | 6;
  readonly value: bigint;
}

/** A CIDR range: the network address (host bits zero) and the prefix length. */
export interface Cidr {
  readonly family: 4 | 6;
  readonly base: bigint;
  readonly bits: number;
}

const width = (family: 4 | 6): number => (family === 4 ? 32 : 128);

const parseV4 = (text: string): bigint =>
  text.split(".").reduce((n, octet) => (n << 8n) | BigInt(Number(octet)), 0n);

const parseV6 = (text: string): bigint => {
  let s = text;
  // A trailing dotted quad stands for the last two groups.
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (quad?.[1]) {
    const v4 = parseV4(quad[1]);
    s = `${s.slice(0, -quad[1].length)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head = "", tail] = s.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups =
    tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill("0"), ...right];
  return groups.reduce((n, g) => (n << 16n) | BigInt(Number.parseInt(g, 16)), 0n);
};

/** The address `text` (IPv4, or IPv6 without brackets or zone), IPv4-mapped IPv6 as IPv4; undefined when it is not an IP literal. */
export const parseAddress = (text: string): Address | undefined => {
  if (isIPv4(text)) return { family: 4, value: parseV4(text) };
  if (!isIPv6(text) || text.includes("%")) return undefined;
  const value = parseV6(text);
  return value >> 32n === 0xffffn ? { family: 4, value: value & 0xffffffffn } : { family: 6, value };
};

/** The range `text` ("10.0.0.0/8", "fe80::/10", or one address meaning /32 or /128); undefined when malformed. Host bits are cleared. */
export const parseCidr = (text: string): Cidr | undefined => {
  const slash = text.indexOf("/");
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const bitsText = slash < 0 ? undefined : text.slice(slash + 1);
  if (!isIPv4(addressText) && !isIPv6(addressText)) return undefined;
  const family: 4 | 6 = isIPv4(addressText) ? 4 : 6;
  let bits = width(family);
  if (bitsText !== undefined) {
    if (!/^\d{1,3}$/.test(bitsText) || Number(bitsText) > bits) return undefined;
    bits = Number(bitsText);
  }
  let value = family === 4 ? parseV4(addressText) : parseV6(addressText);
  let fam = family;
  // A range inside ::ffff:0:0/96 is the IPv4 range it maps; a wider IPv6 range stays IPv6 (and
  // so never matches an IPv4 address: name IPv4 ranges as IPv4).
  if (family === 6 && bits >= 96 && value >> 32n === 0xffffn) {
    fam = 4;
    bits -= 96;
    value &= 0xffffffffn;
  }
  const host = width(fam) - bits;
  return { family: fam, base: (value >> BigInt(host)) << BigInt(host), bits };
};

/** Whether `cidr` contains `address` (families must agree; a mapped address is IPv4 already). */
export const cidrContains = (cidr: Cidr, address: Address): boolean => {
  if (cidr.family !== address.family) return false;
  const host = BigInt(width(cidr.family) - cidr.bits);
  return address.value >> host === cidr.base >> host;
};

/** Whether `inner` lies within `outer` (same family, at least as long a prefix, inside it). */
export const cidrWithin = (inner: Cidr, outer: Cidr): boolean =>
  inner.bits >= outer.bits && cidrContains(outer, { family: inner.family, value: inner.base });

/** Whether `cidr` is one single address (/32 or /128). */
export const isSingleAddress = (cidr: Cidr): boolean => cidr.bits === width(cidr.family);
