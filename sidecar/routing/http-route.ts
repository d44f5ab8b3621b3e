// HTTP routes of sync subscriptions: per method, a tree of path segments. A pattern segment is a
// literal, a `:param` (one non-empty segment) or, last, `*` (zero or more remaining segments).
// The most specific route wins: segment by segment, literal before param before wildcard (a
// depth-first walk in that order, which visits each tree node at most once); routes with the same
// shape are ordered by key. HEAD falls back to GET routes. Request segments are percent-decoded
// before comparison (a malformed escape matches nothing); paths compare exactly, so "/a/" is
// not "/a"; a query string is ignored. `/files/*` matches "/files" with an empty wildcard.

export interface HttpMatch<V> {
  readonly value: V;
  readonly params: Record<string, string>;
  /** The decoded segments the wildcard consumed, joined by "/"; absent for routes without one. */
  readonly wildcard?: string;
}

export interface HttpRouter<V> {
  /** Adds a route; `key` orders routes of the same shape (smallest first). */
  add(method: string, pattern: string, key: string, value: V): void;
  /** The most specific route for the request, or undefined (also for a malformed escape). */
  match(method: string, path: string): HttpMatch<V> | undefined;
}

interface Leaf<V> {
  readonly key: string;
  readonly value: V;
  readonly params: readonly string[];
}

interface SegmentNode<V> {
  literals: Map<string, SegmentNode<V>> | undefined;
  param: SegmentNode<V> | undefined;
  /** Routes ending at this node, and wildcard routes whose `*` follows it; each sorted by key. */
  readonly ends: Leaf<V>[];
  readonly wildcards: Leaf<V>[];
}

const segmentNode = <V>(): SegmentNode<V> => ({
  literals: undefined,
  param: undefined,
  ends: [],
  wildcards: [],
});

const decode = (segment: string): string | undefined => {
  if (!segment.includes("%")) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
};

/** The decoded segments of a request path, or undefined when one holds a malformed escape. */
const requestSegments = (path: string): string[] | undefined => {
  const query = path.indexOf("?");
  const bare = (query === -1 ? path : path.slice(0, query)).replace(/^\//, "");
  if (bare === "") return [];
  const segments = bare.split("/");
  for (const [i, segment] of segments.entries()) {
    const decoded = decode(segment);
    if (decoded === undefined) return undefined;
    segments[i] = decoded;
  }
  return segments;
};

const insertSorted = <V>(leaves: Leaf<V>[], leaf: Leaf<V>): void => {
  const at = leaves.findIndex((other) => leaf.key < other.key);
  leaves.splice(at === -1 ? leaves.length : at, 0, leaf);
};

const addPattern = <V>(root: SegmentNode<V>, pattern: string, key: string, value: V): void => {
  const segments = pattern.replace(/^\//, "").split("/");
  if (segments.length === 1 && segments[0] === "") segments.length = 0;
  const params: string[] = [];
  let current = root;
  for (const [i, segment] of segments.entries()) {
    if (segment === "*" && i === segments.length - 1) {
      insertSorted(current.wildcards, { key, value, params });
      return;
    }
    if (segment.startsWith(":")) {
      params.push(segment.slice(1));
      current.param ??= segmentNode();
      current = current.param;
      continue;
    }
    const literal = decode(segment) ?? segment;
    current.literals ??= new Map();
    let next = current.literals.get(literal);
    if (next === undefined) {
      next = segmentNode();
      current.literals.set(literal, next);
    }
    current = next;
  }
  insertSorted(current.ends, { key, value, params });
};

interface Found<V> {
  readonly leaf: Leaf<V>;
  /** Index of the first segment the wildcard consumed, or -1. */
  readonly rest: number;
}

/** Depth-first, literal before param before wildcard; `captured` holds the param values on the way. */
const walk = <V>(
  node: SegmentNode<V>,
  segments: string[],
  at: number,
  captured: string[],
): Found<V> | undefined => {
  const segment = segments[at];
  if (segment === undefined) {
    const [end] = node.ends;
    if (end !== undefined) return { leaf: end, rest: -1 };
  } else {
    const literal = node.literals?.get(segment);
    const viaLiteral = literal === undefined ? undefined : walk(literal, segments, at + 1, captured);
    if (viaLiteral !== undefined) return viaLiteral;
    if (node.param !== undefined && segment !== "") {
      captured.push(segment);
      const viaParam = walk(node.param, segments, at + 1, captured);
      if (viaParam !== undefined) return viaParam;
      captured.pop();
    }
  }
  const [wildcard] = node.wildcards;
  return wildcard === undefined ? undefined : { leaf: wildcard, rest: at };
};

const result = <V>(found: Found<V>, segments: string[], captured: string[]): HttpMatch<V> => {
  const { leaf, rest } = found;
  const params = Object.fromEntries(leaf.params.map((name, i) => [name, captured[i] ?? ""]));
  if (rest === -1) return { value: leaf.value, params };
  return { value: leaf.value, params, wildcard: segments.slice(rest).join("/") };
};

/** An empty router. */
export const httpRouter = <V>(): HttpRouter<V> => {
  const methods = new Map<string, SegmentNode<V>>();
  const matchMethod = (method: string, segments: string[]): HttpMatch<V> | undefined => {
    const root = methods.get(method);
    if (root === undefined) return undefined;
    const captured: string[] = [];
    const found = walk(root, segments, 0, captured);
    return found === undefined ? undefined : result(found, segments, captured);
  };
  return {
    add(method, pattern, key, value) {
      let root = methods.get(method);
      if (root === undefined) {
        root = segmentNode();
        methods.set(method, root);
      }
      addPattern(root, pattern, key, value);
    },
    match(method, path) {
      const segments = requestSegments(path);
      if (segments === undefined) return undefined;
      const found = matchMethod(method, segments);
      return found ?? (method === "HEAD" ? matchMethod("GET", segments) : undefined);
    },
  };
};
