// Unit tests of the chart's alert rules in promtool's format (`promtool test rules`): for each
// alert, series that must make it fire (and no other alert), and healthy series on which none
// fires. The series carry the labels the Prometheus Operator adds (namespace, pod) and the pod
// names of a release "sb" in namespace "switchboard-system", which the rules select on.

const NS = "switchboard-system";
const GATEWAY = `namespace="${NS}",pod="sb-switchboard-gateway-0"`;
const OPERATOR_A = `namespace="${NS}",pod="sb-switchboard-operator-a"`;
const OPERATOR_B = `namespace="${NS}",pod="sb-switchboard-operator-b"`;

interface Series {
  series: string;
  values: string;
}

interface Case {
  /** The alert expected to fire at `at`, with the labels it carries besides alertname/alertstate. */
  alert: string;
  labels: string;
  at: string;
  /** A time when the condition already holds but its `for` has not elapsed: nothing fires yet. */
  pendingAt?: string;
  input: Series[];
}

const FIRING: Case[] = [
  {
    alert: "SwitchboardDeliveriesFailing",
    labels: `severity="warning",namespace="${NS}",mode="async"`,
    at: "20m",
    pendingAt: "5m",
    input: [
      {
        series: `switchboard_gateway_deliveries_total{${GATEWAY},mode="async",outcome="failed"}`,
        values: "0+6x30",
      },
    ],
  },
  {
    alert: "SwitchboardDeadLetters",
    labels: `severity="warning",namespace="${NS}",outcome="dropped"`,
    at: "5m",
    input: [
      {
        series: `switchboard_gateway_dead_letters_total{${GATEWAY},outcome="dropped"}`,
        values: "0 0 1 1 1 1",
      },
    ],
  },
  {
    alert: "SwitchboardConfigStale",
    labels: `severity="critical",namespace="${NS}",pod="sb-switchboard-gateway-0"`,
    at: "5m",
    pendingAt: "2m",
    input: [{ series: `switchboard_gateway_config_staleness_seconds{${GATEWAY}}`, values: "0+60x10" }],
  },
  {
    // 0.8 × gateway.queue.maxEvents (10000) with the default values.
    alert: "SwitchboardQueueSaturated",
    labels: `severity="warning",namespace="${NS}",pod="sb-switchboard-gateway-0"`,
    at: "10m",
    pendingAt: "3m",
    input: [{ series: `switchboard_gateway_queue_events{${GATEWAY}}`, values: "9000x15" }],
  },
  {
    alert: "SwitchboardGatewayMemoryPressure",
    labels: `severity="warning",namespace="${NS}",pod="sb-switchboard-gateway-0"`,
    at: "10m",
    pendingAt: "3m",
    input: [{ series: `switchboard_gateway_memory_pressure{${GATEWAY}}`, values: "0 1x15" }],
  },
  {
    alert: "SwitchboardReconcileErrors",
    labels: `severity="warning",namespace="${NS}",kind="Subscription"`,
    at: "30m",
    pendingAt: "10m",
    input: [
      {
        series: `switchboard_operator_reconciles_total{${OPERATOR_A},kind="Subscription",result="error"}`,
        values: "0+1x40",
      },
    ],
  },
  {
    alert: "SwitchboardOperatorNoLeader",
    labels: `severity="critical",namespace="${NS}"`,
    at: "10m",
    pendingAt: "3m",
    input: [
      { series: `switchboard_operator_leader{${OPERATOR_A}}`, values: "0x15" },
      { series: `switchboard_operator_leader{${OPERATOR_B}}`, values: "0x15" },
    ],
  },
];

/** Every metric at a healthy value, plus an unhealthy gateway of another release that the rules must not select. */
const HEALTHY: Series[] = [
  {
    series: `switchboard_gateway_deliveries_total{${GATEWAY},mode="async",outcome="failed"}`,
    values: "0x40",
  },
  {
    series: `switchboard_gateway_deliveries_total{${GATEWAY},mode="async",outcome="delivered"}`,
    values: "0+50x40",
  },
  { series: `switchboard_gateway_dead_letters_total{${GATEWAY},outcome="dropped"}`, values: "0x40" },
  { series: `switchboard_gateway_config_staleness_seconds{${GATEWAY}}`, values: "0x40" },
  { series: `switchboard_gateway_queue_events{${GATEWAY}}`, values: "100x40" },
  // Pressure for a few minutes, shorter than the alert's 5: a burst the gateway shed and got over.
  { series: `switchboard_gateway_memory_pressure{${GATEWAY}}`, values: "0x10 1x3 0x26" },
  {
    series: `switchboard_gateway_queue_events{namespace="other",pod="sb-switchboard-gateway-0"}`,
    values: "9999x40",
  },
  {
    series: `switchboard_operator_reconciles_total{${OPERATOR_A},kind="VPN",result="error"}`,
    values: "0x40",
  },
  {
    series: `switchboard_operator_reconciles_total{${OPERATOR_A},kind="VPN",result="success"}`,
    values: "0+3x40",
  },
  { series: `switchboard_operator_leader{${OPERATOR_A}}`, values: "1x40" },
  { series: `switchboard_operator_leader{${OPERATOR_B}}`, values: "0x40" },
];

const firingAt = (at: string, samples: { labels: string; value: number }[]) => ({
  expr: 'ALERTS{alertstate="firing"}',
  eval_time: at,
  exp_samples: samples,
});

/** The `promtool test rules` file for the rule file at `rulesPath` (an absolute path). */
export const alertTests = (rulesPath: string) => ({
  rule_files: [rulesPath],
  evaluation_interval: "1m",
  tests: [
    ...FIRING.map((c) => ({
      interval: "1m",
      input_series: c.input,
      promql_expr_test: [
        ...(c.pendingAt === undefined ? [] : [firingAt(c.pendingAt, [])]),
        firingAt(c.at, [
          { labels: `ALERTS{alertname="${c.alert}",alertstate="firing",${c.labels}}`, value: 1 },
        ]),
      ],
    })),
    { interval: "1m", input_series: HEALTHY, promql_expr_test: [firingAt("30m", [])] },
  ],
});
