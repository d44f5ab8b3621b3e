import assert from "node:assert/strict";
import { test } from "node:test";
import { parse } from "yaml";
import { render, table, toYaml } from "./output.ts";

test("toYaml writes plain JSON data that a YAML parser reads back unchanged", () => {
  const value = {
    objects: [
      { kind: "VPN", name: "shop", ready: "True", reason: "Ready", message: "3 namespaces: a, b" },
      {
        kind: "Subscription",
        namespace: "s",
        name: "x",
        ready: "False",
        message: "key: value # not a comment",
      },
    ],
    empty: [],
    nothing: {},
    nested: {
      list: [
        [1, 2],
        [true, null],
      ],
      text: "yes",
      number: "42",
      spaced: " x ",
      unicode: "é\n",
    },
    count: 3,
  };
  assert.deepEqual(parse(toYaml(value)), value);
  assert.equal(toYaml({ a: "plain/text", b: "true" }), 'a: plain/text\nb: "true"\n');
});

test("table pads every column but the last, and render picks the format", () => {
  assert.equal(
    table(
      ["KIND", "NAME", "WHY"],
      [
        ["VPN", "shop", "ok"],
        ["Subscription", "a", "no function"],
      ],
    ),
    "KIND          NAME  WHY\nVPN           shop  ok\nSubscription  a     no function\n",
  );
  assert.equal(
    render("json", { a: 1 }, () => "text"),
    '{\n  "a": 1\n}\n',
  );
  assert.equal(
    render("yaml", { a: 1 }, () => "text"),
    "a: 1\n",
  );
  assert.equal(
    render("text", { a: 1 }, () => "text"),
    "text",
  );
});
