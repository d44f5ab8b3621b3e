// Switchboard on a kind cluster (needs Docker, kind, kubectl and helm): creates the cluster (or
// reuses one of that name), builds the image from the Dockerfile, loads it into the cluster,
// installs the chart with the bundled etcd, applies examples/ plus a small orders function, waits
// until everything is Ready, then publishes an event through the gateway Service (kubectl
// port-forward) and checks that the function received it, that the sync HTTP route answers, and
// that the gateway counted the delivery. kubectl and helm always name the context
// kind-<name>, never the current one.
//
//   bash scripts/node24.sh e2e/kind.ts [--dry-run] [--name switchboard] [--tag TAG] [--port 18080] [--delete]
//
// --dry-run prints the commands (runnable as a shell script) and the checks, and runs nothing.
// The cluster stays up afterwards unless --delete is given.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { $, type ProcessPromise, quote, which } from "zx";
import { errorMessage } from "../common/errors.ts";
import { type Command, EVENT_TYPE, exampleToken, type KindOptions, kindPlan } from "./kind-plan.ts";
import { GiveUp, waitFor } from "./proc.ts";
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
const preflight = async (o: KindOptions): Promise<void> => {
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

const CHECKS = (o: KindOptions, id: string): string[] => [
  `# check: POST a ${EVENT_TYPE} CloudEvent (id ${id}) with the example publisher's token to http://127.0.0.1:${o.port}/ until it is accepted (202), at most 60 s`,
  `# check: the orders function's log shows the event ${id}, at most 60 s`,
  `# check: GET http://127.0.0.1:${o.port}/orders/42 (sync HTTP route) answers 200 from the orders function`,
  `# check: http://127.0.0.1:${o.port + 1}/metrics counts the delivery (switchboard_gateway_deliveries_total{mode="async",outcome="delivered"} >= 1)`,
];

/** Publishes one event, retrying while the route propagates (404) or the gateway is busy (429/503). */
const publish = (o: KindOptions, id: string): Promise<true> =>
  waitFor(`the gateway to accept event ${id}`, async () => {
    const res = await fetch(`http://127.0.0.1:${o.port}/`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${exampleToken()}`,
        "ce-specversion": "1.0",
        "ce-id": id,
        "ce-source": "/kind",
        "ce-type": EVENT_TYPE,
        "content-type": "application/json",
      },
      body: JSON.stringify({ amount: 3 }),
    });
    const body = await res.text();
    if (res.status === 202) return true;
    if ([404, 429, 503].includes(res.status)) return undefined;
    throw new GiveUp(`publishing answered ${res.status}: ${body}`);
  });

const checks = async (o: KindOptions, plan: ReturnType<typeof kindPlan>, id: string): Promise<void> => {
  const [publishCheck, logCheck, syncCheck, metricsCheck] = CHECKS(o, id);
  console.log(publishCheck);
  await publish(o, id);
  console.log(logCheck);
  await waitFor(`the orders function to log ${id}`, async () => {
    const log = await $({ quiet: true })`${plan.functionLog.argv}`;
    return log.stdout.includes(`"id":"${id}"`) ? true : undefined;
  });
  console.log(syncCheck);
  const sync = await fetch(`http://127.0.0.1:${o.port}/orders/42`, {
    headers: { authorization: `Bearer ${exampleToken()}` },
  });
  if (sync.status !== 200) throw new Error(`GET /orders/42 answered ${sync.status}: ${await sync.text()}`);
  console.log(metricsCheck);
  const metrics = await (await fetch(`http://127.0.0.1:${o.port + 1}/metrics`)).text();
  const line = metrics
    .split("\n")
    .find((l) => l.startsWith('switchboard_gateway_deliveries_total{mode="async",outcome="delivered"} '));
  if (!line || Number(line.split(" ").at(-1)) < 1) throw new Error("the gateway counted no delivered event");
};

/** Runs the port-forward in the background until the checks end; throws when it dies or never forwards. */
const withPortForward = async (
  o: KindOptions,
  command: Command,
  body: () => Promise<void>,
): Promise<void> => {
  console.log(`${shell(command)} &`);
  const forward: ProcessPromise = $({ nothrow: true, quiet: true })`${command.argv}`;
  try {
    await waitFor(
      "the port-forward to the gateway",
      async () => {
        if (forward.stage !== "running")
          throw new GiveUp(`kubectl port-forward ended: ${forward.output?.stderr ?? ""}`);
        return (await fetch(`http://127.0.0.1:${o.port + 1}/readyz`)).ok ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    await body();
  } finally {
    if (forward.stage === "running") await forward.kill();
    await forward;
  }
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
  if (!Number.isInteger(port) || port < 1 || port > 65534)
    throw new Error(`--port: not a port: ${values.port}`);
  const o: KindOptions = {
    cluster: values.name,
    repository: "switchboard",
    tag: values.tag,
    port,
    kubectl: tool("kubectl"),
    helm: tool("helm"),
  };
  const plan = kindPlan(o);
  const id = `order-${o.tag}`;
  if (values["dry-run"]) {
    for (const command of [plan.create, ...plan.install]) console.log(shell(command));
    console.log(`${shell(plan.portForward)} &`);
    for (const check of CHECKS(o, id)) console.log(check);
    if (values.delete) console.log(shell(plan.deleteCluster));
    return;
  }
  await preflight(o);
  try {
    if (await clusterExists(o.cluster)) console.log(`# kind cluster ${o.cluster} exists: reusing it`);
    else await run(plan.create);
    for (const command of plan.install) await run(command);
    await withPortForward(o, plan.portForward, () => checks(o, plan, id));
    console.log(`# ok: Switchboard works on kind cluster ${o.cluster} (image ${plan.image})`);
  } finally {
    if (values.delete) await run(plan.deleteCluster);
    else console.log(`# the cluster stays up; remove it with: kind delete cluster --name ${o.cluster}`);
  }
};

main().catch((err: unknown) => {
  console.error(`kind: ${errorMessage(err)}`);
  process.exitCode = 1;
});
