import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type PrefixTree, prefixTree } from "./prefix.ts";

type Bucket = string[];

const treeOf = (prefixes: readonly string[]): PrefixTree<Bucket> => {
  const tree = prefixTree<Bucket>();
  for (const prefix of prefixes) tree.bucket(prefix, () => []).push(prefix === "" ? "(empty)" : prefix);
  return tree;
};

const collect = (tree: PrefixTree<Bucket>, text: string): string[] => {
  const out: Bucket[] = [];
  tree.collect(text, out);
  return out.flat();
};

describe("prefix tree", () => {
  const tree = treeOf(["com.example.", "com.", "com.example.order", "com.exa", "org.", "", "com."]);

  it("collects the bucket of every stored prefix of a string, shortest first", () => {
    assert.deepEqual(collect(tree, "com.example.order.created"), [
      "(empty)",
      "com.",
      "com.",
      "com.exa",
      "com.example.",
      "com.example.order",
    ]);
    assert.deepEqual(collect(tree, "com.exb"), ["(empty)", "com.", "com."]);
    assert.deepEqual(collect(tree, "org."), ["(empty)", "org."]);
    assert.deepEqual(collect(tree, "or"), ["(empty)"]);
    assert.deepEqual(collect(tree, ""), ["(empty)"]);
  });

  it("returns one bucket per prefix and splits edges in any insertion order", () => {
    const other = treeOf(["abcd", "ab", "abce", "a", "abc"]);
    assert.deepEqual(collect(other, "abcdef"), ["a", "ab", "abc", "abcd"]);
    assert.deepEqual(collect(other, "abce"), ["a", "ab", "abc", "abce"]);
    assert.deepEqual(collect(other, "abx"), ["a", "ab"]);
    const first = other.bucket("abc", () => ["new"]);
    assert.equal(
      other.bucket("abc", () => ["newer"]),
      first,
    );
    assert.deepEqual(first, ["abc"]);
  });
});
