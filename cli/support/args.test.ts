import assert from "node:assert/strict";
import { test } from "node:test";
import { CliError } from "../types.ts";
import { type FlagSpec, helpText, parseArgs, value, values } from "./args.ts";

const SPECS: FlagSpec[] = [
  { name: "namespace", short: "n", value: "NS", help: "the namespace" },
  { name: "extension", value: "K=V", help: "an extension", repeat: true },
  { name: "output", short: "o", value: "FORMAT", help: "format", choices: ["text", "json"] },
  { name: "sync", help: "wait" },
];

test("flags take values spaced, with =, or after a short name; repeatable ones keep every value; -- ends flags", () => {
  const p = parseArgs(
    [
      "a",
      "--namespace",
      "x",
      "-n",
      "y",
      "--extension=a=1",
      "--extension",
      "b=2",
      "--sync",
      "-o",
      "json",
      "--",
      "--not-a-flag",
    ],
    SPECS,
  );
  assert.equal(value(p, "namespace"), "y");
  assert.deepEqual(values(p, "extension"), ["a=1", "b=2"]);
  assert.equal(value(p, "output"), "json");
  assert.ok(p.bools.has("sync"));
  assert.deepEqual(p.positionals, ["a", "--not-a-flag"]);
});

test("unknown flags, missing values, values of booleans and values outside the choices are usage errors (exit 2)", () => {
  const fails = (argv: string[], message: string) =>
    assert.throws(
      () => parseArgs(argv, SPECS),
      (err: unknown) => err instanceof CliError && err.code === 2 && err.message === message,
    );
  fails(["--nope"], "unknown flag --nope (--help lists the flags)");
  fails(["-x"], "unknown flag -x (--help lists the flags)");
  fails(["--namespace"], "--namespace needs a value: --namespace NS");
  fails(["--sync=yes"], "--sync takes no value");
  fails(["-o", "xml"], '-o must be one of text, json, not "xml"');
});

test("--help has one line per flag, with its placeholder, choices and repeatability", () => {
  const help = helpText("cmd [flags]", "does things", SPECS);
  const lines = help.split("\n");
  assert.equal(lines[0], "does things");
  assert.equal(lines[2], "usage: kubectl switchboard cmd [flags]");
  assert.deepEqual(lines.slice(5, -1), [
    "  -n, --namespace NS   the namespace",
    "      --extension K=V  an extension (repeatable)",
    "  -o, --output FORMAT  format (text|json)",
    "      --sync           wait",
  ]);
});
