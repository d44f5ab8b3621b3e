// Field schemas shared by the three CRDs: Kubernetes names, Secret keys, URLs and Go durations,
// each with the CEL rules that refuse bad values with a message saying what is expected.
import { cel, rule, type Schema, str } from "./openapi.ts";

export const DNS_LABEL = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
export const DNS_SUBDOMAIN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
const DNS_1035_LABEL = "^[a-z]([-a-z0-9]*[a-z0-9])?$";
const SECRET_KEY = "^[-._a-zA-Z0-9]+$";
/** Go's time.ParseDuration syntax, bounded (at most 4 parts of at most 5 integer digits) so it never overflows. */
export const GO_DURATION = "^([0-9]{1,5}([.][0-9]{1,9})?(ns|us|µs|μs|ms|s|m|h)){1,4}$";

/** A DNS-1123 label (namespace, VPN, publisher names): at most 63 characters. */
export const dnsLabel = (description: string, what: string): Schema =>
  str(
    description,
    63,
    rule(
      `self.matches(${cel(DNS_LABEL)})`,
      `${what} must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit`,
    ),
  );

/** A DNS-1123 subdomain (Secret names): at most 253 characters. */
export const dnsSubdomain = (description: string, what: string): Schema =>
  str(
    description,
    253,
    rule(
      `self.matches(${cel(DNS_SUBDOMAIN)})`,
      `${what} must be a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit`,
    ),
  );

/** A DNS-1035 label (Service names). */
export const dns1035Label = (description: string, what: string): Schema =>
  str(
    description,
    63,
    rule(
      `self.matches(${cel(DNS_1035_LABEL)})`,
      `${what} must be a DNS-1035 label: lowercase letters, digits and '-', starting with a letter and ending with a letter or digit`,
    ),
  );

/** A key in a Secret's data. */
export const secretKey = (description: string): Schema =>
  str(
    description,
    253,
    rule(
      `self.matches(${cel(SECRET_KEY)})`,
      "key must be a Secret data key: letters, digits, '-', '_' and '.'",
    ),
  );

/** An absolute http(s) URL with a host. */
export const httpUrl = (description: string, what: string): Schema =>
  str(
    description,
    2048,
    rule(
      "isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHostname() != ''",
      `${what} must be an absolute http:// or https:// URL with a host`,
    ),
  );

/**
 * A Go duration ("10s", "1m30s", "250ms") in (0, max]. Two rules: the syntax, then the range,
 * which only runs on well-formed values so `duration()` never fails at evaluation time.
 */
export const duration = (description: string, what: string, max: string): Schema =>
  str(
    description,
    64,
    rule(`self.matches(${cel(GO_DURATION)})`, `${what} must be a Go duration such as 500ms, 10s or 1m30s`),
    rule(
      `!self.matches(${cel(GO_DURATION)}) || (duration(self) > duration('0s') && duration(self) <= duration(${cel(max)}))`,
      `${what} must be more than 0s and at most ${max}`,
    ),
  );

/** A rule on the parent of duration fields `a` and `b`: true unless both are set, well-formed and a < b. */
export const durationAtLeast = (a: string, b: string): string =>
  `!has(self.${a}) || !has(self.${b}) || !self.${a}.matches(${cel(GO_DURATION)}) || ` +
  `!self.${b}.matches(${cel(GO_DURATION)}) || duration(self.${a}) >= duration(self.${b})`;
