// A radix tree from prefixes to buckets: collects, for one string, the bucket of every stored
// prefix of it in O(length of the string), without allocating. Built once per routing table.

interface PrefixNode<B> {
  /** The edge label from the parent (empty at the root). */
  label: string;
  children: Map<number, PrefixNode<B>> | undefined;
  bucket: B | undefined;
}

export interface PrefixTree<B> {
  /** The bucket of `prefix`, made with `make` on first use (the empty prefix matches every string). */
  bucket(prefix: string, make: () => B): B;
  /** Pushes onto `out` the bucket of every stored prefix of `text`, shortest first. */
  collect(text: string, out: B[]): void;
}

const node = <B>(label: string): PrefixNode<B> => ({ label, children: undefined, bucket: undefined });

const commonLength = (label: string, text: string, from: number): number => {
  let i = 0;
  while (i < label.length && from + i < text.length && label.charCodeAt(i) === text.charCodeAt(from + i)) i++;
  return i;
};

/** Splits `child` (an edge of `parent`) after `at` characters; returns the new middle node. */
const split = <B>(parent: PrefixNode<B>, child: PrefixNode<B>, at: number): PrefixNode<B> => {
  const middle = node<B>(child.label.slice(0, at));
  child.label = child.label.slice(at);
  middle.children = new Map([[child.label.charCodeAt(0), child]]);
  parent.children?.set(middle.label.charCodeAt(0), middle);
  return middle;
};

/** The node of `prefix`, created (splitting edges) when absent. */
const nodeAt = <B>(root: PrefixNode<B>, prefix: string): PrefixNode<B> => {
  let current = root;
  let at = 0;
  while (at < prefix.length) {
    const first = prefix.charCodeAt(at);
    const child = current.children?.get(first);
    if (child === undefined) {
      const leaf = node<B>(prefix.slice(at));
      current.children ??= new Map();
      current.children.set(first, leaf);
      return leaf;
    }
    const common = commonLength(child.label, prefix, at);
    current = common === child.label.length ? child : split(current, child, common);
    at += common;
  }
  return current;
};

/** An empty prefix tree. */
export const prefixTree = <B>(): PrefixTree<B> => {
  const root = node<B>("");
  return {
    bucket(prefix, make) {
      const found = nodeAt(root, prefix);
      found.bucket ??= make();
      return found.bucket;
    },
    collect(text, out) {
      let current: PrefixNode<B> | undefined = root;
      let at = 0;
      while (current !== undefined) {
        if (current.bucket !== undefined) out.push(current.bucket);
        if (at >= text.length || current.children === undefined) return;
        const child: PrefixNode<B> | undefined = current.children.get(text.charCodeAt(at));
        if (child === undefined || !text.startsWith(child.label, at)) return;
        at += child.label.length;
        current = child;
      }
    },
  };
};
