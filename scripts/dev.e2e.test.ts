// Dev mode as a newcomer uses it: `npm run dev -- -f examples/`, the printed commands pasted as
// they are, edits (a CEL mistake, a schema mistake), a deleted file, a function of one's own
// (`--service`), and a busy port. Each run is the real program with its own control plane.
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { startFunction } from "../e2e/functions.ts";
import { waitFor } from "../e2e/proc.ts";
import { repoRoot } from "../e2e/tools.ts";

interface DevProcess {
  readonly child: ChildProcess;
  readonly dir: string;
  readonly work: string;
  out(): string;
  /** Resolves with the output printed after `from` once `pattern` appears in it. */
  until(what: string, pattern: RegExp, from?: number): Promise<string>;
  /** Ctrl-C; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** A copy of examples/ (edited freely by the test) and dev mode running on it. */
const startDev = (extraArgs: readonly string[] = []): DevProcess => {
  const dir = mkdtempSync(join(repoRoot, ".work", "dev-manifests-"));
  cpSync(join(repoRoot, "examples"), dir, { recursive: true });
  const work = mkdtempSync(join(repoRoot, ".work", "dev-work-"));
  const child = spawn(
    process.execPath,
    [
      join(repoRoot, "scripts/dev.ts"),
      "-f",
      dir,
      "--port",
      "0",
      "--metrics-port",
      "0",
      "--work",
      work,
      ...extraArgs,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  const collect = (d: string): void => {
    out += d;
  };
  child.stdout?.setEncoding("utf8").on("data", collect);
  child.stderr?.setEncoding("utf8").on("data", collect);
  const exited = once(child, "exit");
  return {
    child,
    dir,
    work,
    out: () => out,
    until: (what, pattern, from = 0) =>
      waitFor(
        what,
        async () => {
          if (child.exitCode !== null) throw new Error(`dev exited:\n${out}`);
          return pattern.test(out.slice(from)) ? out.slice(from) : undefined;
        },
        { timeoutMs: 240_000, intervalMs: 200 },
      ),
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGINT");
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
};

const bash = (cmd: string) => spawnSync("bash", ["-c", cmd], { encoding: "utf8", timeout: 30_000 });

/** The commands dev mode printed in its last "try it" block. */
const printedCommands = (out: string): string[] => {
  const block = out.slice(out.lastIndexOf("dev: try it"));
  return block
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.startsWith("curl "));
};

/** Asserts dev mode left no process or network namespace behind, then removes its directories. */
const assertNothingLeft = (dev: DevProcess): void => {
  const leftovers = spawnSync("pgrep", ["-af", dev.work], { encoding: "utf8" }).stdout.trim();
  assert.equal(leftovers, "", "no process of dev mode outlives it");
  // Each network namespace's slot (e2e/netns.ts) names its owner's pid until it is released; another
  // test process may claim the slot again afterwards.
  for (const m of dev.out().matchAll(/at http:\/\/10\.213\.(\d+)\.(\d+):/g)) {
    const slot = ((Number(m[1]) << 8) + Number(m[2]) - 2) / 4;
    const owner = join("/run/switchboard/netns", String(slot), "pid");
    const pid = existsSync(owner) ? readFileSync(owner, "utf8").trim() : "";
    assert.notEqual(pid, String(dev.child.pid), `network namespace sb-pod-${slot} is released`);
  }
  // Kept when an assertion above fails: the logs are in dev.work.
  rmSync(dev.dir, { recursive: true, force: true });
  rmSync(dev.work, { recursive: true, force: true });
};

test("dev mode runs examples/ as written: every object Ready, the printed commands work, edits and deletions are reported truthfully", async () => {
  const dev = startDev();
  try {
    const first = await dev.until("dev mode to finish its first pass", /dev: watching/);
    for (const object of [
      "VPN shop",
      "Function shop/orders",
      "Function shop/audit",
      "Subscription shop/orders-created",
      "Subscription shop/orders-api",
    ])
      assert.match(first, new RegExp(`^  ${object}: Ready`, "m"), first);
    assert.match(first, /^dev: ready — 5 of 5 VPNs, Functions and Subscriptions Ready$/m);
    assert.match(
      first,
      /local function for Service shop\/orders: pod shop\/orders-dev-echo at http:\/\/10\.213\./,
    );
    assert.match(
      first,
      /Function shop\/audit: Ready; host audit\.shop\.svc\.cluster\.local does not resolve/,
    );

    const [publish, route, ...rest] = printedCommands(first);
    assert.equal(rest.length, 0, first);
    const published = bash(publish ?? "");
    assert.match(published.stdout, /^HTTP\/1\.1 202/, published.stderr);
    await dev.until(
      "the local function to show the event it received",
      /\[shop\/orders\] POST \/events .*ce-type=com\.example\.order\.created .*body=\{"amount":1\}/,
    );
    const called = bash(route ?? "");
    assert.match(called.stdout, /^HTTP\/1\.1 200/, called.stderr);
    assert.match(called.stdout, /"pod":"orders-dev-echo"/);
    assert.match(called.stdout, /\\"params\\":\{\\"id\\":\\"1\\"\}/);

    const subscriptions = join(dev.dir, "50-subscriptions.yaml");
    const original = readFileSync(subscriptions, "utf8");
    let mark = dev.out().length;
    writeFileSync(subscriptions, original.replace("cel: data.amount > 0", "cel: data.amount >"));
    const celPass = await dev.until("the CEL mistake to be reported", /dev: watching/, mark);
    // Refused before it reaches the cluster, as the operator's webhook would, with where the error is;
    // the version applied before keeps serving.
    assert.match(
      celPass,
      /^ {2}Subscription shop\/orders-created: refused by the Subscription check — spec\.cel: Unexpected token: EOF at line 1, column 14 \(the version applied before stays in effect: Ready\)$/m,
      celPass,
    );
    assert.match(celPass, /1 object\(s\) refused/);
    assert.match(celPass, /^ {2}Subscription shop\/orders-api: Ready$/m);

    mark = dev.out().length;
    writeFileSync(subscriptions, original.replace("backoffDelay: 200ms", "backoffDelay: soon"));
    const refusedPass = await dev.until("the schema mistake to be reported", /dev: watching/, mark);
    assert.match(
      refusedPass,
      /^ {2}Subscription shop\/orders-created: refused by the API server — .*backoffDelay must be a Go duration.*, got "soon".*\(the version applied before stays in effect: Ready\)/m,
      refusedPass,
    );
    assert.match(refusedPass, /1 object\(s\) refused/);

    mark = dev.out().length;
    writeFileSync(subscriptions, original);
    const fixed = await dev.until("the fix to be applied", /dev: watching/, mark);
    assert.match(fixed, /^dev: ready — 5 of 5 /m, fixed);
    const again = bash(printedCommands(fixed)[0] ?? "");
    assert.match(again.stdout, /^HTTP\/1\.1 202/);

    mark = dev.out().length;
    rmSync(subscriptions);
    const deleted = await dev.until("the deletion to be reported", /dev: watching/, mark);
    assert.match(deleted, /^ {2}Subscription shop\/orders-created: deleted \(its file is gone\)$/m);
    assert.match(deleted, /^dev: ready — 3 of 3 /m);
    // Accepted all the same, and delivered nowhere: no subscription matches any more.
    const unrouted = bash(publish ?? "").stdout;
    assert.match(unrouted, /^HTTP\/1\.1 202/);
    assert.match(unrouted, /"deliveries":0/);
  } finally {
    assert.equal(await dev.stop(), 0, dev.out());
  }
  assert.match(dev.out(), /dev: stopped; everything it started is gone/);
  assertNothingLeft(dev);
});

test("--service maps a Service to a function one runs on this machine (loopback egress allowed for it)", async () => {
  const fn = await startFunction();
  const dev = startDev(["--service", `shop/orders=${fn.url}`]);
  try {
    const first = await dev.until("dev mode to finish its first pass", /dev: watching/);
    assert.match(
      first,
      new RegExp(
        `^  Function shop/orders: Ready; target Service shop/orders replaced by ${fn.url}/events \\(--service\\)$`,
        "m",
      ),
      first,
    );
    assert.match(first, /^dev: ready — 5 of 5 /m);
    assert.doesNotMatch(first, /local function for Service/);
    const published = bash(printedCommands(first)[0] ?? "");
    assert.match(published.stdout, /^HTTP\/1\.1 202/, published.stderr);
    const [received] = await fn.waitFor(1);
    assert.equal(received?.path, "/events");
    assert.equal(received?.headers["ce-type"], "com.example.order.created");
  } finally {
    assert.equal(await dev.stop(), 0, dev.out());
    await fn.close();
  }
  assertNothingLeft(dev);
});

test("a busy port is one line naming the port and the flag, exit code 2", async () => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
  const address = blocker.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  try {
    for (const [flag, what] of [
      ["--port", "the gateway's ingress"],
      ["--metrics-port", "the gateway's admin and metrics"],
    ] as const) {
      const other = flag === "--port" ? "--metrics-port" : "--port";
      const result = spawnSync(
        process.execPath,
        [join(repoRoot, "scripts/dev.ts"), "-f", join(repoRoot, "examples"), flag, String(port), other, "0"],
        { encoding: "utf8", timeout: 30_000 },
      );
      assert.equal(result.status, 2, result.stderr);
      assert.equal(result.stdout, "");
      assert.equal(
        result.stderr,
        `dev: port ${port} (${what}) is already in use on 127.0.0.1: choose another with ${flag} PORT (0 picks a free one)\n`,
      );
    }
  } finally {
    await new Promise<void>((r) => blocker.close(() => r()));
  }
});
