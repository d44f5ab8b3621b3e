import assert from "node:assert/strict";
import { test } from "node:test";
import { parseOperatorConfig } from "./config.ts";

const base = ["--etcd", "http://127.0.0.1:2379", "--cluster-name", "east"];

test("flags parse into a frozen config with defaults", () => {
  const c = parseOperatorConfig([...base, "--metrics-addr", "127.0.0.1:9100", "--lease-duration", "4s"], {});
  assert.deepEqual(
    [c.etcd, c.clusterName, c.metricsHost, c.metricsPort, c.leaseDurationMs],
    [["http://127.0.0.1:2379"], "east", "127.0.0.1", 9100, 4000],
  );
  assert.equal(c.kubeconfig, undefined, "in-cluster config when absent");
  assert.equal(c.leaderElectionNamespace, "switchboard-system");
  assert.equal(c.resyncPeriodMs, 300_000, "drift repair audits every 5 minutes by default");
  assert.equal(c.workers, 8, "8 reconcile workers per kind by default");
  assert.equal(parseOperatorConfig([...base, "--workers", "32"], {}).workers, 32);
  assert.deepEqual(
    [c.kubeWriteQps, c.kubeWriteBurst],
    [500, 1000],
    "API server writes: 500 a second, bursts of 1000",
  );
  const limited = parseOperatorConfig([...base, "--kube-write-qps", "20"], {});
  assert.deepEqual([limited.kubeWriteQps, limited.kubeWriteBurst], [20, 40], "the burst follows the rate");
  const unlimited = parseOperatorConfig([...base, "--kube-write-qps", "0", "--kube-write-burst", "5"], {});
  assert.deepEqual([unlimited.kubeWriteQps, unlimited.kubeWriteBurst], [0, 5]);
  assert.ok(Object.isFrozen(c));
});

test("environment twins fill in, flags win", () => {
  const env = {
    SWITCHBOARD_ETCD: "http://a:1,http://b:2",
    SWITCHBOARD_CLUSTER_NAME: "west",
    SWITCHBOARD_KUBECONFIG: "/k",
  };
  const c = parseOperatorConfig([], env);
  assert.deepEqual([c.etcd, c.clusterName, c.kubeconfig], [["http://a:1", "http://b:2"], "west", "/k"]);
  assert.equal(parseOperatorConfig(["--cluster-name", "north"], env).clusterName, "north");
  assert.equal(parseOperatorConfig([], { ...env, SWITCHBOARD_RESYNC_PERIOD: "30s" }).resyncPeriodMs, 30_000);
});

test("bad or missing flags give one clear line", () => {
  const cases: [string[], RegExp][] = [
    [[], /--etcd \(or SWITCHBOARD_ETCD\) is required/],
    [["--etcd", "http://x:1"], /--cluster-name \(or SWITCHBOARD_CLUSTER_NAME\) is required/],
    [["--etcd", "localhost:2379", "--cluster-name", "a"], /not an http\(s\):\/\/host:port URL/],
    [[...base.slice(0, 3), "East_1"], /not a DNS-1123 label/],
    [[...base, "--metrics-addr", "9100"], /--metrics-addr must be HOST:PORT/],
    [[...base, "--heartbeat-ttl", "1s"], /--heartbeat-ttl must be at least 2s, got "1s"/],
    [[...base, "--lease-duration", "soon"], /--lease-duration: invalid duration "soon"/],
    [[...base, "--resync-period", "0s"], /--resync-period: must be positive/],
    [[...base, "--bogus", "1"], /Unknown option '--bogus'/],
    [[...base, "--workers", "0"], /--workers must be an integer from 1 to 256, got "0"/],
    [
      [...base, "--kube-write-qps", "1.5"],
      /--kube-write-qps must be 0 \(no limit\) or an integer up to 100000, got "1.5"/,
    ],
    [[...base, "--kube-write-burst", "0"], /--kube-write-burst must be an integer from 1 to 200000, got "0"/],
    [[...base, "--etcd-cert", "c.pem"], /--etcd-cert and --etcd-key go together/],
  ];
  for (const [argv, message] of cases) {
    assert.throws(
      () => parseOperatorConfig(argv, {}),
      (err: Error) => err.name === "ConfigError" && message.test(err.message) && !err.message.includes("\n"),
    );
  }
});

test("the operator process exits 2 with one line on a bad flag", async () => {
  const { spawnSync } = await import("node:child_process");
  const { join } = await import("node:path");
  const { repoRoot } = await import("../e2e/tools.ts");
  const res = spawnSync(process.execPath, [join(repoRoot, "operator/main.ts"), "--cluster-name", "x"], {
    encoding: "utf8",
    env: {},
  });
  assert.equal(res.status, 2);
  assert.equal(res.stderr.trim().split("\n").length, 1, res.stderr);
  assert.match(res.stderr, /--etcd \(or SWITCHBOARD_ETCD\) is required/);
});
