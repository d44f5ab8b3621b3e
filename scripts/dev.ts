// Dev mode, like the Serverless Event Gateway's --dev: point it at a directory of manifests
// (VPNs, Functions, Subscriptions, Services, Secrets, Namespaces) and it runs everything — no
// cluster to install. The manifests are validated by the same CRD schemas and CEL rules as in a
// cluster (a throwaway local control plane serves as validator and store), the operator writes
// the registry into its etcd, a gateway routes, and every change to the directory is applied
// again; Switchboard objects whose files are gone are deleted. After each pass it prints, per
// object, Ready or the failing condition (or the API server's refusal), and curl commands that work.
// Each Service a Function targets gets a local echo function (scripts/dev/local-functions.ts;
// needs root) unless `--service NS/NAME=URL` names a function the user runs. Egress: see
// scripts/dev/egress.ts (docs/architecture.md, "Egress policy").
//   node scripts/dev.ts -f DIR [--port 8080] [--metrics-port 9090] [--service NS/NAME=URL ...] [--work DIR]
import { existsSync, mkdirSync, rmSync, watch } from "node:fs";
import { errorMessage } from "../common/errors.ts";
import { installCrds } from "../crds/install.ts";
import { type Cluster, startCluster } from "../e2e/cluster.ts";
import { type GatewayProcess, startGateway } from "../e2e/gateway.ts";
import { startOperator } from "../e2e/operator.ts";
import { repoRoot } from "../e2e/tools.ts";
import { devEgressAllow } from "./dev/egress.ts";
import { type DevConfig, DevUsageError, parseDevFlags } from "./dev/flags.ts";
import { type LocalFunctions, localFunctions } from "./dev/local-functions.ts";
import { checkPorts, portMessage, type WantedPort } from "./dev/ports.ts";
import { sync } from "./dev/sync.ts";

const print = (line: string): void => console.log(line);
const stops: (() => Promise<void>)[] = [];
const stopAll = async (): Promise<void> => {
  for (const stop of stops.reverse()) await stop().catch(() => {});
};

/** The gateway on the user's ports; a port taken since the check is the same one line as before. */
const gatewayOn = async (
  config: DevConfig,
  ports: readonly WantedPort[],
  allow: readonly string[],
  cluster: Cluster,
): Promise<GatewayProcess> => {
  try {
    return await startGateway({
      etcd: cluster.etcd,
      clusterName: "dev",
      dir: config.work,
      name: "dev",
      listenPort: config.port,
      metricsPort: config.metricsPort,
      egressAllow: allow,
    });
  } catch (err) {
    const busy = ports.find(
      (p) =>
        p.port !== 0 && errorMessage(err).includes(`EADDRINUSE`) && errorMessage(err).includes(`:${p.port}`),
    );
    throw busy ? new DevUsageError(portMessage(busy, "EADDRINUSE")) : err;
  }
};

const start = async (config: DevConfig): Promise<void> => {
  const ports: WantedPort[] = [
    { port: config.port, what: "the gateway's ingress", flag: "--port" },
    { port: config.metricsPort, what: "the gateway's admin and metrics", flag: "--metrics-port" },
  ];
  await checkPorts(ports);
  if (existsSync(config.work)) rmSync(config.work, { recursive: true, force: true });
  mkdirSync(config.work, { recursive: true });
  const allow = devEgressAllow(config.services.values());
  print("dev: starting (etcd, kube-apiserver, kube-controller-manager, operator, gateway)…");
  const cluster = await startCluster({ dir: config.work, name: "dev" });
  stops.push(() => cluster.stop());
  await installCrds(cluster);
  const operator = await startOperator(cluster, {
    clusterName: "dev",
    id: "dev-operator",
    etcd: cluster.etcd,
    leaseNamespace: "default",
    egressAllow: allow,
  });
  stops.push(() => operator.proc.stop());
  const gateway = await gatewayOn(config, ports, allow, cluster);
  stops.push(() => gateway.proc.stop());
  const functions: LocalFunctions = localFunctions({
    cluster,
    onRequest: (service, line) => print(`  [${service}] ${line}`),
  });
  stops.push(() => functions.stop());
  print(
    `dev: gateway ${gateway.url} (admin ${gateway.adminUrl}); egress allowed to ${allow.join(", ")} (functions on this machine); ` +
      "local functions run at 10.213.x.y, which no egress rule refuses; logs in " +
      config.work,
  );
  const run = { cluster, config, functions, gateway, print };
  const pass = async (): Promise<void> => {
    await sync(run);
    print(`dev: watching ${config.source} — Ctrl-C stops`);
  };
  await pass();
  let timer: NodeJS.Timeout | undefined;
  let running = Promise.resolve();
  watch(config.source, () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      running = running.then(pass);
    }, 200);
  });
};

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    void stopAll().then(() => {
      print("dev: stopped; everything it started is gone");
      process.exit(0);
    });
  });
}

try {
  // npm runs scripts from the package root; INIT_CWD is where the user typed the command.
  await start(parseDevFlags(process.argv.slice(2), process.env.INIT_CWD ?? process.cwd(), repoRoot));
} catch (err) {
  await stopAll();
  if (err instanceof DevUsageError) {
    console.error(`dev: ${err.message}`);
    process.exit(2);
  }
  console.error(`dev: could not start: ${errorMessage(err)}`);
  process.exit(1);
}
