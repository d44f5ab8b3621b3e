// Go duration strings ("300ms", "1m30s", "1.5h"), the format Kubernetes CEL's duration() accepts,
// so what the API server admitted parses the same here. Small and exact rather than a library:
// the npm parsers accept other formats (e.g. "1 minute") that the schema would refuse.

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/** Milliseconds in a Go duration string; throws a RangeError naming the input when it is not one. */
export const parseDuration = (text: string): number => {
  let rest = text;
  let sign = 1;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    sign = rest.startsWith("-") ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === "0") return 0;
  if (rest === "") throw new RangeError(`invalid duration "${text}"`);
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < rest.length) {
    const start = PART.lastIndex;
    const m = PART.exec(rest);
    if (!m || m.index !== start)
      throw new RangeError(`invalid duration "${text}": expected a number and a unit (ns, us, ms, s, m, h)`);
    const [, value = "", unit = ""] = m;
    total += Number(value) * (UNIT_MS[unit] ?? Number.NaN);
  }
  if (!Number.isFinite(total)) throw new RangeError(`invalid duration "${text}"`);
  return sign * total;
};

/** A Go duration string for `ms` milliseconds ("1m30s", "250ms"), for status messages. */
export const formatDuration = (ms: number): string => {
  if (ms === 0) return "0s";
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return `${h ? `${h}h` : ""}${m ? `${m}m` : ""}${s ? `${s}s` : ""}`;
};
