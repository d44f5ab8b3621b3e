import assert from "node:assert/strict";
import { test } from "node:test";
import { candidates } from "./complete.ts";

const COMMANDS = [
  {
    name: "status",
    flags: [
      { name: "namespace", short: "n", value: "NS", help: "" },
      { name: "output", short: "o", value: "F", help: "", choices: ["text", "json", "yaml"] },
    ],
  },
  { name: "completion", flags: [{ name: "help", help: "" }], positionals: ["bash", "zsh"] },
];

test("completes commands, flags, flag choices and first positionals", () => {
  assert.deepEqual(candidates(COMMANDS, [""]), ["status", "completion"]);
  assert.deepEqual(candidates(COMMANDS, ["s"]), ["status"]);
  assert.deepEqual(candidates(COMMANDS, ["status", "--"]), ["--namespace", "--output"]);
  assert.deepEqual(candidates(COMMANDS, ["status", "-o", "j"]), ["json"]);
  assert.deepEqual(candidates(COMMANDS, ["status", "--output", ""]), ["text", "json", "yaml"]);
  assert.deepEqual(candidates(COMMANDS, ["status", "-n", ""]), []);
  assert.deepEqual(candidates(COMMANDS, ["completion", ""]), ["bash", "zsh"]);
  assert.deepEqual(candidates(COMMANDS, ["completion", "bash", ""]), []);
  assert.deepEqual(candidates(COMMANDS, ["nope", ""]), []);
});
