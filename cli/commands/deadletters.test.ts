import assert from "node:assert/strict";
import { test } from "node:test";
import { deadLetterRows, deadLettersText } from "./deadletters.ts";
import { runCli } from "./index.ts";

const answer = {
  vpn: "shop",
  subscription: "shop/orders",
  deadLetters: [
    {
      seq: 4,
      id: "o-1",
      source: "/shop",
      type: "com.example.order.created",
      subscription: "shop/orders",
      function: "shop/orders",
      status: "503",
      attempts: 6,
      acceptedAt: "2026-11-30T08:00:00.000Z",
      firstFailureAt: "2026-11-30T08:00:00.010Z",
      lastFailureAt: "2026-11-30T08:00:31.000Z",
    },
    {
      seq: 9,
      id: "o-2",
      source: "/shop",
      type: "com.example.order.created",
      status: "timeout",
      attempts: 6,
      acceptedAt: "2026-11-30T08:01:00.000Z",
      lastFailureAt: "2026-11-30T08:01:31.000Z",
    },
  ],
};

test("the gateway's dead letters read as rows, a missing first failure stays missing, and print oldest first", () => {
  const rows = deadLetterRows(answer);
  assert.equal(rows.length, 2);
  assert.equal(rows[0]?.firstFailureAt, "2026-11-30T08:00:00.010Z");
  assert.equal(rows[1] && "firstFailureAt" in rows[1], false);
  assert.equal(
    deadLettersText(rows, "shop/orders"),
    `2 dead letters for subscription shop/orders
ID   TYPE                       STATUS   ATTEMPTS  LAST FAILURE
o-1  com.example.order.created  503      6         2026-11-30T08:00:31.000Z
o-2  com.example.order.created  timeout  6         2026-11-30T08:01:31.000Z
`,
  );
  assert.equal(deadLettersText([], "shop/orders"), "no dead letters for subscription shop/orders\n");
  assert.throws(() => deadLetterRows({ vpn: "shop" }), /has no deadLetters list/);
});

const io = () => {
  let err = "";
  return {
    io: {
      out: () => {},
      err: (s: string) => {
        err += s;
      },
      env: { HOME: "/nonexistent" },
      signal: new AbortController().signal,
    },
    err: () => err,
  };
};

test("redrive asks which dead letters, and refuses a time it cannot read, before reading the cluster", async () => {
  for (const [args, message] of [
    [["redrive", "orders"], "redrive needs one of: --id ID (repeatable), --from/--to TIME, or --all"],
    [
      ["redrive", "orders", "--all", "--id", "x"],
      "redrive needs one of: --id ID (repeatable), --from/--to TIME, or --all",
    ],
    [
      ["redrive", "orders", "--from", "yesterday"],
      "--from must be an RFC 3339 time, e.g. 2026-11-30T08:00:00Z, not yesterday",
    ],
    [["list", "orders", "--limit", "0"], "--limit must be a whole number from 1 to 10000, not 0"],
    [["list", "a", "b"], "deadletters list takes one SUBSCRIPTION"],
  ] as const) {
    const r = io();
    assert.equal(await runCli(["deadletters", ...args], r.io), 2, args.join(" "));
    assert.equal(r.err(), `kubectl switchboard deadletters: ${message}\n`);
  }
});
