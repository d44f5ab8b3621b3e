import assert from "node:assert/strict";
import { test } from "node:test";
import { parseGatewayConfig } from "./config.ts";

const base = ["--etcd", "http://127.0.0.1:2379", "--listen", "127.0.0.1:8080", "--cluster-name", "east"];

test("flags and env twins parse into a frozen config with defaults", () => {
  const c = parseGatewayConfig([...base, "--namespace", "shop"], { SWITCHBOARD_MAX_BATCH: "7" });
  assert.deepEqual(
    [c.listenHost, c.listenPort, c.namespace, c.maxBatch, c.maxBodyBytes, c.metricsPort],
    ["127.0.0.1", 8080, "shop", 7, 1048576, 9090],
  );
  assert.ok(Object.isFrozen(c));
  assert.equal(c.deliveryClient, "undici", "deliveries use undici unless told otherwise");
  assert.equal(parseGatewayConfig(base, { SWITCHBOARD_DELIVERY_CLIENT: "node" }).deliveryClient, "node");
});

test("ingress budgets default to 1024 connections, 32 MiB of bodies in progress and a quarter of it per VPN", () => {
  const c = parseGatewayConfig(base, {});
  assert.deepEqual(
    [c.maxConnections, c.maxInflightBytes, c.maxInflightBytesPerVpn],
    [1024, 32 * 2 ** 20, 8 * 2 ** 20],
  );
  const big = parseGatewayConfig([...base, "--max-body-bytes", String(16 * 2 ** 20)], {});
  assert.deepEqual(
    [big.maxInflightBytes, big.maxInflightBytesPerVpn],
    [64 * 2 ** 20, 16 * 2 ** 20 + 4096],
    "each budget fits at least one body of --max-body-bytes, in whole pages with malloc's header",
  );
});

test("requests are shed at 85 % of the memory limit unless told otherwise; 0 never sheds", () => {
  assert.equal(parseGatewayConfig(base, {}).memoryShedAt, 0.85);
  assert.equal(parseGatewayConfig([...base, "--memory-shed-at", "60"], {}).memoryShedAt, 0.6);
  assert.equal(parseGatewayConfig(base, { SWITCHBOARD_MEMORY_SHED_AT: "0" }).memoryShedAt, 0);
});

test("glibc is asked to give memory back every 5 s with activity unless told otherwise; 0 never", () => {
  assert.equal(parseGatewayConfig(base, {}).mallocTrimMs, 5000);
  assert.equal(parseGatewayConfig([...base, "--malloc-trim", "1s"], {}).mallocTrimMs, 1000);
  assert.equal(parseGatewayConfig(base, { SWITCHBOARD_MALLOC_TRIM: "0" }).mallocTrimMs, 0);
  assert.throws(
    () => parseGatewayConfig([...base, "--malloc-trim", "500ms"], {}),
    /--malloc-trim must be 0 or from 1s to 1h, got "500ms"/,
  );
});

test("bad or missing flags give one clear line", () => {
  const cases: [string[], RegExp][] = [
    [["--etcd", "http://x:1", "--cluster-name", "a"], /--listen \(or SWITCHBOARD_LISTEN\) is required/],
    [[...base, "--namespace", "Not_A_Label"], /--namespace: "Not_A_Label" is not a DNS-1123 label/],
    [[...base, "--max-batch", "0"], /--max-batch must be an integer from 1 to 10000/],
    [[...base, "--drain-timeout", "later"], /--drain-timeout: invalid duration "later"/],
    [[...base, "--listen", "8080"], /--listen must be HOST:PORT/],
    [[...base, "--max-connections", "0"], /--max-connections must be an integer from 1/],
    [
      [...base, "--memory-shed-at", "100"],
      /--memory-shed-at must be a percentage from 1 to 99, or 0 \(never\), got "100"/,
    ],
    [
      [...base, "--memory-shed-at", "85%"],
      /--memory-shed-at must be a percentage from 1 to 99, or 0 \(never\), got "85%"/,
    ],
    [
      [
        ...base,
        "--max-body-bytes",
        "500",
        "--max-event-bytes",
        "500",
        "--max-inflight-bytes",
        "1000",
        "--max-inflight-bytes-per-vpn",
        "2000",
      ],
      /--max-inflight-bytes-per-vpn must be an integer from 1 to 1000/,
    ],
    [
      [...base, "--max-inflight-bytes", "1048576"],
      /--max-inflight-bytes \(1048576\) must hold one body of --max-body-bytes \(1048576\), 1052672 bytes in memory/,
    ],
    [
      [...base, "--max-inflight-bytes-per-vpn", "1000"],
      /--max-inflight-bytes-per-vpn \(1000\) must hold one body of --max-body-bytes \(1048576\), \d+ bytes in memory/,
    ],
    [
      [...base, "--egress-allow", "127.0.0.1,10.0.0.0/40"],
      /--egress-allow: egress rule "10.0.0.0\/40": "10.0.0.0\/40" is not a valid IP address or CIDR/,
    ],
    [[...base, "--egress-deny", "*:0"], /--egress-deny: egress rule "\*:0": port must be from 1 to 65535/],
    [[...base, "--api-server", "10.96.0.1"], /--api-server must be HOST:PORT/],
    [[...base, "--delivery-client", "fetch"], /--delivery-client must be undici or node, got "fetch"/],
  ];
  for (const [argv, message] of cases) {
    assert.throws(
      () => parseGatewayConfig(argv, {}),
      (err: Error) => err.name === "ConfigError" && message.test(err.message),
    );
  }
});

test("egress: rule lists parse; the API server comes from --api-server, else the in-cluster environment", () => {
  const c = parseGatewayConfig(
    [...base, "--egress-allow", "127.0.0.1, *.svc.cluster.local:8080", "--egress-deny", "*:9090"],
    {
      KUBERNETES_SERVICE_HOST: "10.96.0.1",
      KUBERNETES_SERVICE_PORT: "443",
    },
  );
  assert.deepEqual(
    c.egressAllow.map((e) => e.text),
    ["127.0.0.1", "*.svc.cluster.local:8080"],
  );
  assert.deepEqual(
    c.egressDeny.map((e) => e.text),
    ["*:9090"],
  );
  assert.deepEqual(c.apiServer, { host: "10.96.0.1", port: 443 });
  assert.deepEqual(
    parseGatewayConfig(base, { KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "6443" })
      .apiServer,
    {
      host: "fd00::1",
      port: 6443,
    },
  );
  assert.deepEqual(parseGatewayConfig([...base, "--api-server", "[::1]:6443"], {}).apiServer, {
    host: "::1",
    port: 6443,
  });
  assert.equal(
    parseGatewayConfig([...base, "--api-server", "none"], { KUBERNETES_SERVICE_HOST: "10.96.0.1" }).apiServer,
    undefined,
  );
  assert.equal(parseGatewayConfig(base, {}).apiServer, undefined);
  assert.deepEqual(parseGatewayConfig(base, {}).egressAllow, []);
});

test("--durability jetstream takes the NATS servers and stream limits, and refuses what does not fit", () => {
  const c = parseGatewayConfig(
    [...base, "--durability=jetstream", "--nats=nats://10.0.0.1:4222,tls://nats.x:4222"],
    {},
  );
  assert.deepEqual(c.nats, {
    urls: ["nats://10.0.0.1:4222", "tls://nats.x:4222"],
    credsFile: undefined,
    user: undefined,
    tls: {},
    replicas: 3,
    maxBytes: 256 * 2 ** 20,
    deadLetterMaxAgeMs: 168 * 3_600_000,
    ackWaitMs: 30_000,
  });
  assert.equal(parseGatewayConfig(base, {}).nats, undefined, "no NATS without --durability jetstream");
  const cases: [string[], RegExp][] = [
    [["--durability=jetstream"], /--durability jetstream needs --nats/],
    [
      ["--durability=jetstream", "--nats=http://x:4222"],
      /--nats: "http:\/\/x:4222" is not nats:\/\/HOST:PORT/,
    ],
    [
      ["--durability=jetstream", "--nats=nats://x:4222", "--nats-replicas=2"],
      /--nats-replicas must be 1, 3 or 5/,
    ],
    [
      ["--durability=jetstream", "--nats=nats://x:4222", "--nats-cert=c.pem"],
      /--nats-cert and --nats-key go together/,
    ],
    [["--durability=jetstream", "--nats=nats://x:4222", "--data-dir=/d"], /drop --data-dir/],
    [
      ["--durability=jetstream", "--nats=nats://x:4222", "--nats-user=gw"],
      /--nats-user and --nats-password-file go together/,
    ],
    [
      [
        "--durability=jetstream",
        "--nats=nats://x:4222",
        "--nats-user=gw",
        "--nats-password-file=p",
        "--nats-creds=c",
      ],
      /--nats-creds and --nats-user exclude each other/,
    ],
    [["--durability=kafka"], /--durability must be fsync, none or jetstream/],
  ];
  for (const [args, error] of cases) assert.throws(() => parseGatewayConfig([...base, ...args], {}), error);
});
