// e2e/kind.ts without Docker: its --dry-run plan (order of the commands, one image name from
// build to pods, the kind context everywhere) and its refusal to start without a Docker engine.
// Fake docker/kind/kubectl/helm first on PATH record any call, so the test also proves that a
// dry run runs nothing.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, test } from "node:test";
import { BUSYBOX } from "./kind-plan.ts";
import { SCENARIOS } from "./scenarios/index.ts";
import { installArgs, namespaceManifest } from "./scenarios/install.ts";
import { repoRoot } from "./tools.ts";

const fakes = mkdtempSync(join(tmpdir(), "kind-test-"));
after(() => rmSync(fakes, { recursive: true, force: true }));
const calls = join(fakes, "calls.log");
for (const name of ["docker", "kind", "kubectl", "helm"]) {
  const file = join(fakes, name);
  // `docker info` fails as it does on a machine without a Docker engine.
  writeFileSync(file, `#!/bin/sh\necho "${name} $*" >> ${calls}\n[ "$1" = info ] && exit 1\nexit 0\n`);
  chmodSync(file, 0o755);
}

interface Step {
  words: string[];
  input: string | undefined;
}

/** Runs e2e/kind.ts with `args`; returns its exit code, output and the commands it printed. */
const kind = (args: string[]) => {
  rmSync(calls, { force: true });
  const out = spawnSync(process.execPath, [join(repoRoot, "e2e/kind.ts"), ...args], {
    encoding: "utf8",
    env: { ...process.env, PATH: [fakes, dirname(process.execPath), "/usr/bin", "/bin"].join(":") },
    timeout: 60_000,
  });
  const steps: Step[] = [];
  const lines = out.stdout.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    if (!line.startsWith("$ ")) continue;
    const heredoc = line.endsWith(" <<'EOF'");
    const words = line
      .slice(2)
      .replace(/ <<'EOF'$/, "")
      .replace(/ &$/, "")
      .split(" ");
    let input: string | undefined;
    if (heredoc) {
      const end = lines.indexOf("EOF", i);
      input = lines.slice(i + 1, end).join("\n");
      i = end;
    }
    steps.push({ words, input });
  }
  const ran = existsSync(calls) ? readFileSync(calls, "utf8").trim().split("\n") : [];
  return { code: out.status, stdout: out.stdout, stderr: out.stderr, steps, ran };
};

/** The value of `--set`/`--set-string key=value` in a helm command. */
const helmValue = (words: string[], key: string): string | undefined =>
  words
    .filter((_, i) => words[i - 1] === "--set" || words[i - 1] === "--set-string")
    .find((w) => w.startsWith(`${key}=`))
    ?.slice(key.length + 1);

/** The images the plan gives the scenarios for the Switchboard image `image`. */
const plannedImages = (image: string) => ({
  switchboard: { repository: image.split(":")[0] ?? "", tag: image.split(":")[1] ?? "" },
  echo: "switchboard-echo:<TAG>",
  busybox: BUSYBOX,
});

const name = (step: Step): string => {
  const [command = "", ...rest] = step.words;
  const program = command.slice(command.lastIndexOf("/") + 1);
  const sub = rest.filter((w) => !w.startsWith("-") && !w.startsWith("kind-")).slice(0, 2);
  return [program, ...sub].join(" ");
};

test("--dry-run prints the whole run in order, the scenarios the local node runs, and runs nothing", () => {
  const run = kind(["--dry-run", "--name", "sbtest", "--tag", "t1", "--port", "28080", "--delete"]);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(run.ran, [], "a dry run calls no tool");
  assert.deepEqual(run.steps.map(name), [
    "kind create cluster",
    "npm run image",
    "docker build switchboard:t1",
    "kind load docker-image",
    "kind load image-archive",
    "helm upgrade switchboard",
    "kubectl switchboard-system port-forward",
    "kind delete cluster",
  ]);
  const scenarios = [...run.stdout.matchAll(/^# scenario ([^:]+):/gm)].map((m) => m[1]);
  assert.deepEqual(
    scenarios,
    SCENARIOS.filter((s) => s.needs !== "node").map((s) => s.name),
    "the shared list, minus what needs the local node",
  );
  assert.deepEqual(
    SCENARIOS.filter((s) => s.needs === "node").map((s) => s.name),
    ["memory limits", "helm upgrade and rollback", "rolling restart", "rolling restart on JetStream"],
  );
});

test("the image is the same in docker build, kind load and the helm values; the chart runs as the local node's", () => {
  for (const args of [["--dry-run", "--tag", "1.0"], ["--dry-run"]]) {
    const { code, steps, stderr } = kind(args);
    assert.equal(code, 0, stderr);
    const find = (n: string): Step => {
      const step = steps.find((s) => name(s).startsWith(n));
      assert.ok(step, `no ${n} step`);
      return step;
    };
    const build = find("docker build").words;
    const image = build[build.indexOf("-t") + 1] ?? "";
    assert.match(image, /^switchboard:\S+$/);
    assert.equal(build.at(-1), repoRoot, "built from the repository's Dockerfile");
    assert.equal(find("kind load docker-image").words[3], image);
    const helm = find("helm upgrade").words;
    assert.equal(`${helmValue(helm, "image.repository")}:${helmValue(helm, "image.tag")}`, image);
    assert.equal(helmValue(helm, "bundledEtcd.enabled"), "true");
    assert.equal(helmValue(helm, "injector.enabled"), "true");
    assert.deepEqual(
      helm.slice(helm.indexOf("upgrade")),
      installArgs("switchboard", plannedImages(image)),
      "the same install as the local node's scenario",
    );
  }
});

test("kubectl and helm always name the kind cluster's context, never the current one", () => {
  const { steps } = kind(["--dry-run", "--name", "ctx"]);
  const k8s = steps.filter((s) => /(^|\/)(kubectl|helm)$/.test(s.words[0] ?? ""));
  assert.ok(k8s.length >= 2);
  for (const step of k8s) {
    const flag = step.words.findIndex((w) => w === "--context" || w === "--kube-context");
    assert.equal(step.words[flag + 1], "kind-ctx", step.words.join(" "));
  }
  assert.match(namespaceManifest(), /pod-security\.kubernetes\.io\/enforce: restricted/);
});

test("without a Docker engine it stops before building or creating anything, saying why", () => {
  const run = kind(["--name", "nodocker"]);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /no Docker engine answers/);
  assert.deepEqual(run.ran, ["docker info"]);
});
