import assert from "node:assert/strict";
import { test } from "node:test";
import type { Io } from "../types.ts";
import { COMMANDS, mainHelp, runCli } from "./index.ts";

const io = (env: Record<string, string | undefined> = {}) => {
  const out: string[] = [];
  const err: string[] = [];
  const value: Io = {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    env,
    signal: new AbortController().signal,
  };
  return { io: value, out: () => out.join(""), err: () => err.join("") };
};

test("without a command: the list of commands and exit 2; --help: the same and exit 0", async () => {
  const none = io();
  assert.equal(await runCli([], none.io), 2);
  assert.equal(none.out(), mainHelp());
  const help = io();
  assert.equal(await runCli(["--help"], help.io), 0);
  for (const c of COMMANDS)
    assert.match(help.out(), new RegExp(`^  ${c.name}\\s+${c.summary.slice(0, 20)}`, "m"));
});

test("--version: one line with the package version and this Node", async () => {
  const r = io();
  assert.equal(await runCli(["--version"], r.io), 0);
  assert.match(
    r.out(),
    new RegExp(`^kubectl-switchboard \\d+\\.\\d+\\.\\d+ \\(\\w+, node ${process.version}\\)\\n$`),
  );
});

test("every command's --help has one line per flag", async () => {
  for (const c of COMMANDS) {
    const h = io();
    assert.equal(await runCli([c.name, "--help"], h.io), 0);
    const flagLines = h.out().split("flags:\n")[1]?.trimEnd().split("\n") ?? [];
    assert.equal(flagLines.length, c.flags.length, c.name);
    for (const f of c.flags)
      assert.ok(
        flagLines.some((l) => l.includes(`--${f.name}`)),
        `${c.name} --${f.name}`,
      );
  }
});

test("usage errors exit 2 with one line naming the command", async () => {
  const unknown = io();
  assert.equal(await runCli(["frobnicate"], unknown.io), 2);
  assert.equal(
    unknown.err(),
    "kubectl switchboard: unknown command frobnicate; commands: status, publish, explain, tail, deadletters, completion\n",
  );
  const badFlag = io();
  assert.equal(await runCli(["status", "--colour"], badFlag.io), 2);
  assert.equal(badFlag.err(), "kubectl switchboard status: unknown flag --colour (--help lists the flags)\n");
  const shell = io();
  assert.equal(await runCli(["completion", "fish"], shell.io), 2);
  assert.equal(shell.err(), "kubectl switchboard completion: completion takes one shell: bash or zsh\n");
  const dl = io();
  assert.equal(await runCli(["deadletters"], dl.io), 2);
  assert.equal(
    dl.err(),
    "kubectl switchboard deadletters: deadletters needs a subcommand: list or redrive\n",
  );
});

test("no kubeconfig anywhere: one line saying how to give one", async () => {
  const r = io({ HOME: "/nonexistent" });
  assert.equal(await runCli(["status"], r.io), 1);
  assert.equal(
    r.err(),
    "kubectl switchboard status: no kubeconfig: set KUBECONFIG, pass --kubeconfig FILE, or write ~/.kube/config (kubectl config view shows what kubectl uses)\n",
  );
  const missing = io({ HOME: "/nonexistent" });
  assert.equal(await runCli(["status", "--kubeconfig", "/nonexistent/config"], missing.io), 1);
  assert.equal(missing.err(), "kubectl switchboard status: kubeconfig /nonexistent/config does not exist\n");
});

test("__complete answers in kubectl's plugin completion format", async () => {
  const r = io();
  assert.equal(await runCli(["__complete", "deadletters", ""], r.io), 0);
  assert.equal(r.out(), "list\nredrive\n:4\n");
});
