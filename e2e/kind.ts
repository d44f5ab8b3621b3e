// Switchboard on a kind cluster (needs Docker, kind, kubectl and helm): creates the cluster (or
// reuses one of that name), builds the image from the Dockerfile and the echo function image
// (`npm run image -- --function`), loads both into the cluster, then runs the scenarios the local
// node's test runs (e2e/scenarios/index.ts) except those that need the node's cgroups: the chart
// installed with the bundled etcd under Pod Security "restricted", examples/ with real function
// pods and an event and a sync request through the gateway Service (kubectl port-forward), sidecar
// injection. kubectl and helm always name the context kind-<name>, never the current one.
//
//   bash scripts/node24.sh e2e/kind.ts [--dry-run] [--name switchboard] [--tag TAG] [--port 18080] [--delete]
//
// --dry-run prints the commands (runnable as a shell script) and the scenarios, and runs nothing.
// The cluster stays up afterwards unless --delete is given.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { $, type ProcessPromise, quote, which } from "zx";
import { errorMessage } from "../common/errors.ts";
import { buildImage } from "../scripts/image/image.ts";
import { type Command, type KindOptions, kindPlan } from "./kind-plan.ts";
import { GiveUp, waitFor } from "./proc.ts";
import type { ScenarioEnv } from "./scenarios/env.ts";
import { toolsBinDir } from "./tools.ts";

const usage = "usage: e2e/kind.ts [--dry-run] [--name NAME] [--tag TAG] [--port PORT] [--delete]";

/** kubectl or helm from PATH, else the bootstrap's build, else the bare name (the preflight then fails). */
const tool = (name: "kubectl" | "helm"): string => {
  const onPath = which.sync(name, { nothrow: true });
  if (onPath) return onPath;
  const built = join(toolsBinDir(), name);
  return existsSync(built) ? built : name;
};

/** The shell form of a command: its quoted words, and its stdin as a here-document. */
const shell = ({ argv, input }: Command): string =>
  `$ ${argv.map((a) => quote(a)).join(" ")}${input === undefined ? "" : ` <<'EOF'\n${input.trimEnd()}\nEOF`}`;

/** Runs a command to completion with its output on the terminal; throws when it fails. */
const run = async (command: Command): Promise<void> => {
  console.log(shell(command));
  await $({
    input: command.input ?? "",
    stdio: ["pipe", "inherit", "inherit"],
    verbose: false,
  })`${command.argv}`;
};

/** Throws a message naming what to install when Docker, kind, kubectl or helm cannot be used. */
const preflight = async (o: Pick<KindOptions, "kubectl" | "helm">): Promise<void> => {
  for (const [name, hint] of [
    ["docker", "install Docker"],
    ["kind", "install kind (go install sigs.k8s.io/kind@latest)"],
    [o.kubectl, "install kubectl, or run npm run bootstrap"],
    [o.helm, "install helm 3, or run npm run bootstrap"],
  ] as const) {
    if (!which.sync(name, { nothrow: true })) throw new Error(`${name} not found: ${hint}`);
  }
  const info = await $({ nothrow: true, quiet: true })`docker info`;
  if (info.exitCode !== 0) throw new Error(`no Docker engine answers (docker info: ${info.stderr.trim()})`);
};

const clusterExists = async (name: string): Promise<boolean> =>
  (await $({ quiet: true })`kind get clusters`).stdout.split("\n").includes(name);

/** A port-forward to the gateway Service, started by the first scenario that publishes. */
const portForwarder = (o: KindOptions, command: Command) => {
  let forward: ProcessPromise | undefined;
  const url = `http://127.0.0.1:${o.port}/`;
  return {
    url: async (): Promise<string> => {
      if (forward?.stage === "running") return url;
      console.log(`${shell(command)} &`);
      const started: ProcessPromise = $({ nothrow: true, quiet: true })`${command.argv}`;
      forward = started;
      await waitFor(
        "the port-forward to the gateway",
        async () => {
          if (started.stage !== "running")
            throw new GiveUp(`kubectl port-forward ended: ${started.output?.stderr ?? ""}`);
          const res = await fetch(url, { method: "POST" }).catch(() => undefined);
          return res === undefined ? undefined : url;
        },
        { timeoutMs: 30_000, intervalMs: 500 },
      );
      return url;
    },
    stop: async (): Promise<void> => {
      if (forward?.stage === "running") await forward.kill();
      await forward;
    },
  };
};

const main = async (): Promise<void> => {
  const { values } = parseArgs({
    options: {
      "dry-run": { type: "boolean", default: false },
      delete: { type: "boolean", default: false },
      name: { type: "string", default: "switchboard" },
      tag: { type: "string", default: `kind-${Math.floor(Date.now() / 1000)}` },
      port: { type: "string", default: "18080" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    return;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`--port: not a port: ${values.port}`);
  const dryRun = values["dry-run"];
  const tools = { kubectl: tool("kubectl"), helm: tool("helm") };
  if (!dryRun) await preflight(tools);
  // The echo image's name is its content's digest: known once built (a dry run builds nothing).
  const echo = dryRun
    ? { image: "switchboard-echo:<TAG>", archive: ".work/images/switchboard-echo-<TAG>.oci.tar" }
    : await buildImage({ kind: "echo" }).then((b) => ({ image: b.name, archive: b.file }));
  const o: KindOptions = {
    cluster: values.name,
    repository: "switchboard",
    tag: values.tag,
    echo,
    port,
    ...tools,
  };
  const plan = kindPlan(o);
  if (dryRun) {
    console.log(shell(plan.create));
    console.log("$ npm run image -- --function   # the echo function image: switchboard-echo:<TAG>");
    for (const command of plan.load) console.log(shell(command));
    for (const scenario of plan.scenarios) {
      console.log(`# scenario ${scenario.name}: ${scenario.summary}`);
      if (scenario.name === "install") console.log(shell(plan.install));
      if (scenario.name === "examples") console.log(`${shell(plan.portForward)} &`);
    }
    if (values.delete) console.log(shell(plan.deleteCluster));
    return;
  }
  const forward = portForwarder(o, plan.portForward);
  try {
    if (await clusterExists(o.cluster)) console.log(`# kind cluster ${o.cluster} exists: reusing it`);
    else await run(plan.create);
    for (const command of plan.load) await run(command);
    const env: ScenarioEnv = {
      where: "kind",
      clusterName: o.cluster,
      images: plan.images,
      kubectlArgv: plan.kubectlArgv,
      helmArgv: plan.helmArgv,
      load: { rate: 200, seconds: 10 },
      gatewayUrl: forward.url,
      note: (line) => console.log(`#   ${line}`),
    };
    for (const scenario of plan.scenarios) {
      console.log(`# scenario ${scenario.name}: ${scenario.summary}`);
      await scenario.run(env);
      console.log(`# ok: ${scenario.name}`);
    }
    console.log(`# ok: Switchboard works on kind cluster ${o.cluster}`);
  } finally {
    await forward.stop();
    if (values.delete) await run(plan.deleteCluster);
    else console.log(`# the cluster stays up; remove it with: kind delete cluster --name ${o.cluster}`);
  }
};

main().catch((err: unknown) => {
  console.error(`kind: ${errorMessage(err)}`);
  process.exitCode = 1;
});
