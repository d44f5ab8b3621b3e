// node sidecar/main.ts --etcd URL --listen HOST:PORT --cluster-name NAME [--namespace NS] [--metrics-addr HOST:PORT]
import { Registry } from "prom-client";
import { serveAdmin } from "../common/admin.ts";
import { buildInfo, versionLine } from "../common/build-info.ts";
import { cgroupMemory } from "../common/cgroup-memory.ts";
import { errorMessage } from "../common/errors.ts";
import { ConfigError } from "../common/flags.ts";
import { lowerV8WorkersWhenWarm, WARM_REQUESTS } from "../common/helper-threads.ts";
import { createIdleReclaim, exposedGc } from "../common/idle-reclaim.ts";
import { runAll } from "../common/lifecycle.ts";
import { createLogger } from "../common/log.ts";
import { createMallocTrimmer, loadMallocTrim } from "../common/malloc-trim.ts";
import { maxSemiSpaceMib, memoryPressure, v8HeapUse } from "../common/memory-pressure.ts";
import { collectGatewayProcessMetrics } from "../common/metrics.ts";
import { periodic, QUIET_MS, whileBusy } from "../common/while-busy.ts";
import { presenceKey } from "../registry/keys.ts";
import { loadKeyring } from "../registry/seal/files.ts";
import type { Keyring } from "../registry/seal/index.ts";
import { type GrpcRegistryClient, grpcRegistryClient } from "../registry/watcher/clients/grpc/index.ts";
import { type GatewayConfig, parseGatewayConfig, USAGE } from "./config.ts";
import { openWal } from "./durable/wal.ts";
import { createGateway, type GatewayDeps } from "./gateway.ts";
import { adminTooLarge } from "./ingress/explain.ts";
import { serveIngress } from "./ingress/server.ts";
import { createGatewayMetrics } from "./metrics.ts";
import { createPresence } from "./routing/presence.ts";

/**
 * How often the memory cgroup is read for memory pressure: its usage, one small file, and only
 * near the threshold memory.stat too (both 44 µs with v1's). At 5000
 * requests/s of 25 KiB each held, 12 MiB can arrive between two reads: hence the default 85 %
 * (19 MiB of a 128 MiB limit left).
 */
const PRESSURE_CHECK_MS = 100;

const main = async (): Promise<number> => {
  if (process.argv.includes("--version")) {
    console.log(versionLine("switchboard-gateway"));
    return 0;
  }
  if (process.argv.includes("--help")) {
    console.log(USAGE);
    return 0;
  }
  let config: GatewayConfig;
  try {
    config = parseGatewayConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`switchboard-gateway: ${err.message} (--help for usage)`);
    return 2;
  }
  let ownKey: string;
  try {
    ownKey = presenceKey(config.clusterName, config.id);
  } catch (err) {
    console.error(`switchboard-gateway: --id: ${errorMessage(err)} (--help for usage)`);
    return 2;
  }
  const log = createLogger("switchboard-gateway", config.logLevel);
  const registry = new Registry();
  const lag = collectGatewayProcessMetrics(registry);
  const metrics = createGatewayMetrics(registry);
  let keyring: Keyring | undefined;
  try {
    keyring = loadKeyring(config);
  } catch (err) {
    console.error(`switchboard-gateway: ${errorMessage(err)}`);
    return 2;
  }
  // etcd's gRPC API on node:http2 with a few messages coded by hand: client certificates that etcd's
  // RBAC accepts (its HTTP gateway cannot authenticate them), without loading etcd3, gRPC and
  // protobufjs (docs/architecture.md, "The registry contract").
  let etcd: GrpcRegistryClient;
  try {
    etcd = grpcRegistryClient({ endpoints: config.etcd, tls: config.etcdTls });
  } catch (err) {
    console.error(`switchboard-gateway: ${errorMessage(err)}`);
    return 2;
  }
  const wal = config.dataDir
    ? await openWal({
        dir: config.dataDir,
        durability: config.durability === "fsync" ? "fsync" : "none",
        maxBytes: config.dataMaxBytes,
        log,
        onCorruption: () => metrics.logCorruptions.inc(),
      })
    : undefined;
  if (wal)
    log.info(
      { dataDir: config.dataDir, durability: config.durability, recovered: wal.recovered.length },
      "delivery log opened",
    );
  // JetStream's clients load only with --durability jetstream (the embedded queue needs none of them).
  let jetstream: GatewayDeps["jetstream"];
  let nats: { close(): Promise<void> } | undefined;
  if (config.nats) {
    const { openJetStream, createJetStreamEngine } = await import("./delivery/jetstream.ts");
    let backend: Awaited<ReturnType<typeof openJetStream>>;
    try {
      backend = await openJetStream(config.nats, `switchboard-gateway ${config.id}`, { log });
    } catch (err) {
      console.error(
        `switchboard-gateway: cannot connect to NATS (${config.nats.urls.join(",")}): ${errorMessage(err)}`,
      );
      return 1;
    }
    nats = backend.nc;
    jetstream = (parts) => createJetStreamEngine({ backend, ...parts });
    log.info({ nats: config.nats.urls, replicas: config.nats.replicas }, "async delivery on JetStream");
  }
  const gateway = createGateway({
    config,
    registry: etcd,
    metrics,
    log,
    keyring,
    ...(wal ? { wal } : {}),
    ...(jetstream ? { jetstream } : {}),
    // Only the chosen client is loaded (sidecar/delivery/client.ts has the trade-off).
    pools:
      config.deliveryClient === "node"
        ? (await import("./delivery/node-client.ts")).nodePools
        : (await import("./delivery/undici-client.ts")).undiciPools,
  });
  const gc = exposedGc();
  const cgroup = config.memoryShedAt > 0 ? cgroupMemory() : undefined;
  const youngReserve = 3 * maxSemiSpaceMib() * 2 ** 20;
  const heapUse = () => v8HeapUse(youngReserve);
  // Shedding watches V8's old generation against its limit always, and the working set against
  // the container's limit when there is one (common/memory-pressure.ts).
  const pressure =
    config.memoryShedAt > 0
      ? memoryPressure({
          ...(cgroup && {
            workingSetBytes: cgroup.workingSetBytes,
            usageBytes: cgroup.usageBytes,
            limitBytes: cgroup.limitBytes,
          }),
          heap: heapUse,
          shedAt: config.memoryShedAt,
          // Read once the ingress serves (the checks start below).
          inProgress: () => ingress.inProgress(),
          ...(gc && { collect: gc }),
          onChange: (pressed, workingSet, admitted, near) => {
            metrics.memoryPressure.set(pressed ? 1 : 0);
            const { used: heapUsed, limit: heapLimit } = heapUse();
            const memory = { workingSet, limit: cgroup?.limitBytes, heapUsed, heapLimit };
            if (pressed)
              log.warn(
                { ...memory, admitted },
                near === "heap"
                  ? "V8's heap near its limit: admitting fewer requests at once, refusing the others 503"
                  : "memory near the container's limit: admitting fewer requests at once, refusing the others 503",
              );
            else log.info(memory, "memory pressure over: admitting every request");
          },
        })
      : undefined;
  // Sampling the lag and checking the memory stop while the gateway is quiet (common/while-busy.ts).
  const busy = whileBusy([lag, ...(pressure ? [periodic(pressure.check, PRESSURE_CHECK_MS)] : [])]);
  const ingress = await serveIngress(gateway.ingress, {
    host: config.listenHost,
    port: config.listenPort,
    maxBodyBytes: config.maxBodyBytes,
    requestTimeoutMs: config.requestTimeoutMs,
    maxConnections: config.maxConnections,
    metrics,
    onRequest: busy.busy,
    ...(pressure && {
      admits: pressure.admits,
      refusalDetail: () =>
        pressure.near === "heap"
          ? "the gateway's memory is near V8's heap limit"
          : "the gateway's memory is near its container's limit",
    }),
  });
  const port = ingress.port;
  metrics.requestsInProgress.from(ingress.inProgress);
  const admin = await serveAdmin({
    host: config.metricsHost,
    port: config.metricsPort,
    registry,
    notReady: gateway.notReady,
    extend: gateway.admin,
    maxBodyBytes: config.maxBodyBytes,
    tooLarge: adminTooLarge,
  });
  const startedAt = new Date().toISOString();
  const { version } = buildInfo();
  const presence = createPresence({
    client: etcd,
    key: ownKey,
    ttlSeconds: config.presenceTtlSeconds,
    log,
    current: () => {
      const { revision, at } = gateway.applied();
      const notReady = gateway.notReady();
      return {
        id: config.id,
        cluster: config.clusterName,
        version,
        ...(config.namespace === undefined ? {} : { namespace: config.namespace }),
        appliedRevision: revision,
        appliedAt: at.toISOString(),
        ...(notReady === undefined ? {} : { notReady }),
        startedAt,
      };
    },
  });
  if (config.presenceTtlSeconds > 0) gateway.onApplied(presence.changed);
  gateway.protectOwnPorts({ host: config.listenHost, port }, { host: config.metricsHost, port: admin.port });
  /** Requests and delivery attempts so far: how busy the gateway has been. */
  const activity = (): number => ingress.requests() + gateway.deliveryAttempts();
  // glibc gives back the free memory in its arenas after each busy interval and after an idle
  // collection (common/malloc-trim.ts).
  const trimModule = config.mallocTrimMs > 0 ? loadMallocTrim() : undefined;
  const trimmer =
    trimModule && "module" in trimModule
      ? createMallocTrimmer({
          trim: trimModule.module.trim,
          // Probes and scrapes allocate too: a quiet gateway that is scraped trims after them.
          activity: () => activity() + admin.requests(),
          onTrim: (released, ms) => {
            metrics.mallocTrims.inc();
            metrics.mallocTrimReleased.inc(released);
            metrics.mallocTrimSeconds.inc(ms / 1000);
          },
          onError: (err) => log.warn({ err: errorMessage(err) }, "malloc_trim failed"),
        })
      : undefined;
  const stopTrimming = trimmer?.every(config.mallocTrimMs);
  const stopReclaim =
    config.idleReclaimMs > 0 && gc
      ? createIdleReclaim({
          activity,
          gc,
          onCollect: (before, after) => {
            metrics.idleCollections.inc();
            trimmer?.request();
            log.debug({ heapBefore: before, heapAfter: after }, "heap collected after a quiet interval");
          },
        }).every(config.idleReclaimMs)
      : undefined;
  // V8's helper threads run in the main thread's idle time once the hot path is compiled
  // (common/helper-threads.ts).
  const stopLowering = lowerV8WorkersWhenWarm(activity, (workers) =>
    log.info({ v8WorkersAtNice19: workers }, "V8 worker threads lowered to nice 19"),
  );
  // Requests in progress are work, and a memory pressure is watched until it ends (its metric and
  // alert would otherwise keep what the last check saw).
  const stopBusyJobs = busy.every(
    QUIET_MS,
    activity,
    () => ingress.inProgress() > 0 || pressure?.pressed === true,
  );
  log.info(
    {
      cluster: config.clusterName,
      id: config.id,
      listen: `${config.listenHost}:${port}`,
      metrics: `${config.metricsHost}:${admin.port}`,
      sealedRecords: keyring === undefined ? "unsealed only" : (keyring.onlyVpn ?? "every VPN"),
      idleReclaim: stopReclaim
        ? `after ${config.idleReclaimMs} ms quiet`
        : config.idleReclaimMs > 0
          ? "off: node runs without --expose-gc"
          : "off",
      mallocTrim: trimmer
        ? `every ${config.mallocTrimMs} ms with activity`
        : trimModule && "missing" in trimModule
          ? `off: ${trimModule.missing}`
          : "off",
      v8WorkersAtNice19: `after ${WARM_REQUESTS} requests`,
      memoryShedding:
        config.memoryShedAt > 0
          ? `at ${Math.round(config.memoryShedAt * 100)}% of ${cgroup ? `${cgroup.limitBytes} bytes (the container's limit) or ` : ""}V8's heap limit (${heapUse().limit} bytes)${cgroup ? "" : "; no container memory limit found"}`
          : "off",
    },
    "gateway started",
  );
  const code = await runAll(
    {
      registry: (signal) => gateway.watch(signal),
      ...(config.presenceTtlSeconds > 0 ? { presence: (signal: AbortSignal) => presence.run(signal) } : {}),
      ingress: async (signal) => {
        await new Promise((r) => signal.addEventListener("abort", r, { once: true }));
        const closed = ingress.close();
        const drainStarted = performance.now();
        const abandoned = await gateway.drain(config.drainTimeoutMs);
        const drainMs = Math.round(performance.now() - drainStarted);
        if (abandoned > 0)
          log.warn({ abandoned, drainMs }, "events still awaiting delivery were abandoned at shutdown");
        else log.info({ drainMs }, "drained: no accepted event awaits delivery; stopping");
        await closed;
        stopReclaim?.();
        stopTrimming?.();
        stopLowering();
        stopBusyJobs();
        await admin.close();
      },
    },
    log,
    config.drainTimeoutMs + 5_000,
  );
  await etcd.close();
  await nats?.close().catch(() => undefined);
  return code;
};

// Exit explicitly: client libraries may keep sockets open after shutdown.
process.exit(await main());
