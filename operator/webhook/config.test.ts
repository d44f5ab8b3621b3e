import assert from "node:assert/strict";
import { test } from "node:test";
import { parseOperatorConfig } from "../config.ts";

const base = ["--etcd", "https://etcd:2379", "--cluster-name", "east"];
const webhook = [
  "--webhook-addr=0.0.0.0:9443",
  "--webhook-cert-file=/etc/switchboard/webhook/tls.crt",
  "--webhook-key-file=/etc/switchboard/webhook/tls.key",
  "--injector-image=registry.example/switchboard:0.1.0",
];

test("the webhook is off without --webhook-addr", () => {
  assert.equal(parseOperatorConfig(base, {}).webhook, undefined);
});

test("webhook flags parse with the injector's defaults: the operator's etcd and cluster name", () => {
  const c = parseOperatorConfig([...base, ...webhook], {}).webhook;
  assert.deepEqual(c, {
    host: "0.0.0.0",
    port: 9443,
    certFile: "/etc/switchboard/webhook/tls.crt",
    keyFile: "/etc/switchboard/webhook/tls.key",
    certReloadMs: 10_000,
    injector: {
      image: "registry.example/switchboard:0.1.0",
      clusterName: "east",
      etcd: ["https://etcd:2379"],
      etcdSecret: undefined,
      vpnKeys: false,
      port: 3580,
      metricsPort: 9580,
      cpu: "50m",
      memory: "192Mi",
    },
  });
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c?.injector));
});

test("injector flags and their environment twins", () => {
  const c = parseOperatorConfig(
    [...base, ...webhook, "--injector-etcd=https://a:2379,https://b:2379", "--injector-port=4000"],
    {
      SWITCHBOARD_INJECTOR_ETCD_SECRET: "gateway-etcd",
      SWITCHBOARD_INJECTOR_MEMORY: "256Mi",
      SWITCHBOARD_INJECTOR_PORT: "5000",
      SWITCHBOARD_WEBHOOK_CERT_RELOAD: "1s",
    },
  ).webhook;
  assert.deepEqual(
    [c?.injector.etcd, c?.injector.etcdSecret, c?.injector.memory, c?.injector.port, c?.certReloadMs],
    [["https://a:2379", "https://b:2379"], "gateway-etcd", "256Mi", 4000, 1000],
  );
});

test("bad or missing webhook flags give one clear line", () => {
  const cases: [string[], RegExp][] = [
    [["--injector-image=x"], /--injector-image needs --webhook-addr/],
    [
      ["--webhook-addr=0.0.0.0:9443", "--injector-image=x"],
      /needs --webhook-cert-file and --webhook-key-file/,
    ],
    [webhook.slice(0, 3), /--webhook-addr needs --injector-image/],
    [["--webhook-addr=9443", ...webhook.slice(1)], /--webhook-addr must be HOST:PORT/],
    [[...webhook, "--injector-port=0"], /--injector-port must be an integer from 1 to 65535/],
    [[...webhook, "--injector-port=9580"], /--injector-port and --injector-metrics-port must differ/],
    [
      [...webhook, "--injector-memory=16Mi"],
      /--injector-memory: "16Mi" is below the gateway's minimum of 64Mi/,
    ],
    [[...webhook, "--injector-cpu=fast"], /--injector-cpu: "fast" is not a positive CPU quantity/],
    [
      [...webhook, "--injector-etcd-secret=Bad_Name"],
      /--injector-etcd-secret: "Bad_Name" is not a Secret name/,
    ],
    [[...webhook, "--injector-etcd=etcd:2379"], /not an http\(s\):\/\/host:port URL/],
    [[...webhook, "--webhook-cert-reload=never"], /--webhook-cert-reload: invalid duration/],
  ];
  for (const [argv, message] of cases)
    assert.throws(() => parseOperatorConfig([...base, ...argv], {}), message, argv.join(" "));
});
