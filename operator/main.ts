// node operator/main.ts --kubeconfig PATH --etcd URL --cluster-name NAME [--metrics-addr HOST:PORT] [--webhook-addr HOST:PORT ...]
import { KubeConfig } from "@kubernetes/client-node";
import { Registry } from "prom-client";
import { json, serveAdmin } from "../common/admin.ts";
import { versionLine } from "../common/build-info.ts";
import { errorMessage } from "../common/errors.ts";
import { etcdClient } from "../common/etcd.ts";
import { runAll } from "../common/lifecycle.ts";
import { createLogger } from "../common/log.ts";
import { collectProcessMetrics } from "../common/metrics.ts";
import { readMasterKey } from "../registry/seal/files.ts";
import { ConfigError, type OperatorConfig, parseOperatorConfig, USAGE } from "./config.ts";
import { pooledKubeConfig } from "./kube/pooled.ts";
import { createOperatorMetrics } from "./metrics.ts";
import { createOperator } from "./operator.ts";
import { operatorEgressPolicy } from "./plan/egress.ts";
import { serveWebhook, type WebhookServer } from "./webhook/server.ts";

const main = async (): Promise<number> => {
  let config: OperatorConfig;
  if (process.argv.includes("--version")) {
    console.log(versionLine("switchboard-operator"));
    return 0;
  }
  if (process.argv.includes("--help")) {
    console.log(USAGE);
    return 0;
  }
  try {
    config = parseOperatorConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`switchboard-operator: ${err.message} (--help for usage)`);
    return 2;
  }
  const log = createLogger("switchboard-operator", config.logLevel);
  // One connection pool per cluster and user (client-node opens a connection per request: pooled.ts).
  const kc = pooledKubeConfig(new KubeConfig());
  if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
  else kc.loadFromCluster();
  const registry = new Registry();
  collectProcessMetrics(registry);
  const metrics = createOperatorMetrics(registry);
  let masterKey: Buffer | undefined;
  try {
    masterKey = config.registryKeyFile === undefined ? undefined : readMasterKey(config.registryKeyFile);
  } catch (err) {
    console.error(`switchboard-operator: ${errorMessage(err)}`);
    return 2;
  }
  if (masterKey === undefined)
    log.warn(
      "registry records are written in clear (no --registry-key-file): any holder of an etcd read credential reads every VPN's functions, headers and routes",
    );
  const etcd = etcdClient(config);
  const operator = createOperator({
    masterKey,
    kc,
    etcd,
    cluster: config.clusterName,
    identity: config.id,
    leaseNamespace: config.leaderElectionNamespace,
    leaseDurationMs: config.leaseDurationMs,
    renewDeadlineMs: config.renewDeadlineMs,
    retryPeriodMs: config.retryPeriodMs,
    heartbeatTtlSeconds: config.heartbeatTtlSeconds,
    resyncPeriodMs: config.resyncPeriodMs,
    workers: config.workers,
    kubeWrites: { qps: config.kubeWriteQps, burst: config.kubeWriteBurst },
    etcdEndpoints: config.etcd,
    metrics,
    log,
    egress: operatorEgressPolicy({
      etcd: config.etcd,
      apiServer: kc.getCurrentCluster()?.server,
      allow: config.egressAllow,
      deny: config.egressDeny,
    }),
  });
  let webhook: WebhookServer | undefined;
  if (config.webhook) {
    const { host, port, certFile, keyFile, certReloadMs, injector } = config.webhook;
    try {
      webhook = await serveWebhook({
        host,
        port,
        certFile,
        keyFile,
        reloadMs: certReloadMs,
        settings: injector,
        claims: operator.view,
        registry,
        log,
      });
    } catch (err) {
      log.error({ err: errorMessage(err) }, "the injection webhook could not start");
      etcd.close();
      return 1;
    }
  }
  const admin = await serveAdmin({
    host: config.metricsHost,
    port: config.metricsPort,
    registry,
    notReady: operator.notReady,
    // What the gateways of this cluster report (kubectl switchboard status): ids, placement,
    // applied revisions; no routing or tenant data.
    extend: (app) => {
      app.get("/gateways", () => json({ cluster: config.clusterName, gateways: operator.gateways() }));
    },
  });
  log.info(
    {
      cluster: config.clusterName,
      id: config.id,
      metrics: `${config.metricsHost}:${admin.port}`,
      ...(webhook && config.webhook ? { webhook: `${config.webhook.host}:${webhook.port}` } : {}),
    },
    "operator started",
  );
  const code = await runAll(
    {
      operator: (signal) => operator.run(signal),
      admin: async (signal) => {
        await new Promise((r) => signal.addEventListener("abort", r, { once: true }));
        await admin.close();
      },
      ...(webhook ? { webhook: webhook.run } : {}),
    },
    log,
  );
  etcd.close();
  return code;
};

// Exit explicitly: client libraries may keep sockets open after shutdown.
process.exit(await main());
