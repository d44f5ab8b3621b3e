// The objects the scenarios add to a cluster running the chart, as YAML for `kubectl apply`: the
// function pods behind examples/ (orders and audit, the echo image), a load VPN with a slow and a
// hanging function, an injected application (busybox publishing on localhost) and an injected
// load generator. Every pod meets Pod Security "restricted", like the chart's.
import { stringify } from "yaml";

/** The examples' namespace and the load scenarios' namespace (a VPN of its own, high limits). */
export const SHOP = "shop";
export const LOAD = "load";
export const LOAD_TOKEN = "load-token-for-tests-only";
/** The event types the load subscriptions route: to the slow, the hanging and the counting function. */
export const SLOW_TYPE = "com.example.load.slow";
export const HANG_TYPE = "com.example.load.hang";
export const COUNT_TYPE = "com.example.load.count";
/** How long the slow function takes to answer, and the hanging function's timeout. */
export const SLOW_MS = 50;
export const HANG_TIMEOUT = "2s";
/** The injected gateway's port (the chart's injector.sidecar.port default). */
export const SIDECAR_PORT = 3580;

const restrictedPod = { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: "RuntimeDefault" } };
const restrictedContainer = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
};

const yaml = (docs: readonly object[]): string =>
  docs.map((d) => stringify(d, { lineWidth: 0 })).join("---\n");

export interface EchoDeployment {
  readonly namespace: string;
  readonly name: string;
  readonly image: string;
  readonly replicas?: number;
  /** DELAY_MS of the echo server: a slow function, or (longer than its timeout) a hanging one. */
  readonly delayMs?: number;
  /** false: no line per request (load tests). */
  readonly logRequests?: boolean;
  /** Also a Service `name` on port `servicePort` (8080 by default) in front of the pods. */
  readonly servicePort?: number;
}

/** A Deployment of the echo function (label app=<name>, port 8080, ready once it listens), and its Service. */
export const echoDeployment = ({
  namespace,
  name,
  image,
  replicas = 1,
  delayMs = 0,
  logRequests = true,
  servicePort,
}: EchoDeployment): string => {
  const labels = { app: name };
  const deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          securityContext: restrictedPod,
          terminationGracePeriodSeconds: 5,
          containers: [
            {
              name: "function",
              image,
              imagePullPolicy: "IfNotPresent",
              env: [
                { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                { name: "DELAY_MS", value: String(delayMs) },
                { name: "LOG_REQUESTS", value: String(logRequests) },
              ],
              ports: [{ name: "http", containerPort: 8080 }],
              readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
              resources: { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "256Mi" } },
              securityContext: restrictedContainer,
            },
          ],
        },
      },
    },
  };
  const service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace },
    spec: { selector: labels, ports: [{ name: "http", port: servicePort ?? 8080, targetPort: 8080 }] },
  };
  return yaml(servicePort === undefined ? [deployment] : [deployment, service]);
};

/**
 * The pods examples/ expects: `orders` (2 replicas behind the examples' Service shop/orders) and
 * `audit` (the dead-letter function, whose URL is http://audit.shop.svc.cluster.local:8080/events).
 */
export const exampleFunctions = (echoImage: string): string =>
  [
    echoDeployment({ namespace: SHOP, name: "orders", image: echoImage, replicas: 2 }),
    echoDeployment({ namespace: SHOP, name: "audit", image: echoImage, servicePort: 8080 }),
  ].join("---\n");

interface LoadFunction {
  readonly name: string;
  readonly type: string;
  readonly timeout: string;
  readonly delayMs: number;
  readonly logRequests: boolean;
  readonly replicas: number;
}

const LOAD_FUNCTIONS: readonly LoadFunction[] = [
  { name: "slow", type: SLOW_TYPE, timeout: "10s", delayMs: SLOW_MS, logRequests: false, replicas: 2 },
  {
    name: "hang",
    type: HANG_TYPE,
    timeout: HANG_TIMEOUT,
    delayMs: 3_600_000,
    logRequests: false,
    replicas: 1,
  },
  { name: "count", type: COUNT_TYPE, timeout: "10s", delayMs: 0, logRequests: true, replicas: 2 },
];

/**
 * The load VPN: namespace `load`, a publisher token, limits above the load, and three functions
 * with an async Subscription each: `slow` (answers in SLOW_MS), `hang` (never answers within
 * HANG_TIMEOUT) and `count` (logs every event id, so a test can count deliveries exactly).
 */
export const loadVpn = (echoImage: string): string =>
  [
    yaml([
      { apiVersion: "v1", kind: "Namespace", metadata: { name: LOAD } },
      {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "publisher", namespace: LOAD },
        stringData: { token: LOAD_TOKEN },
      },
      {
        apiVersion: "switchboard.dev/v1alpha1",
        kind: "VPN",
        metadata: { name: LOAD },
        spec: {
          namespaces: { names: [LOAD] },
          publishers: [
            { name: "load", tokenSecretRef: { namespace: LOAD, name: "publisher", key: "token" } },
          ],
          limits: { eventsPerSecond: 20_000, burst: 40_000, maxInFlight: 5_000 },
        },
      },
      ...LOAD_FUNCTIONS.flatMap((f) => [
        {
          apiVersion: "switchboard.dev/v1alpha1",
          kind: "Function",
          metadata: { name: f.name, namespace: LOAD },
          spec: {
            vpn: LOAD,
            target: { service: { name: f.name, port: 8080, path: "/events" } },
            timeout: f.timeout,
            concurrency: 1000,
          },
        },
        {
          apiVersion: "switchboard.dev/v1alpha1",
          kind: "Subscription",
          metadata: { name: f.name, namespace: LOAD },
          spec: {
            vpn: LOAD,
            function: f.name,
            mode: "async",
            filters: [{ exact: { type: f.type } }],
            delivery: { retry: 3, backoffPolicy: "linear", backoffDelay: "200ms" },
          },
        },
      ]),
    ]),
    ...LOAD_FUNCTIONS.map((f) =>
      echoDeployment({ namespace: LOAD, image: echoImage, servicePort: 8080, ...f }),
    ),
  ].join("---\n");

const injected = (name: string, namespace: string, containers: readonly object[], extra: object = {}) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name, namespace },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name }, annotations: { "switchboard.dev/inject": "true" } },
      spec: {
        securityContext: restrictedPod,
        terminationGracePeriodSeconds: 15,
        containers: containers.map((c) => ({ securityContext: restrictedContainer, ...c })),
        ...extra,
      },
    },
  },
});

/** An application with an injected gateway: busybox that sleeps until SIGTERM (it publishes through `kubectl exec`). */
export const injectedApp = (namespace: string, name: string, busybox: string): string =>
  yaml([
    injected(name, namespace, [
      {
        name: "app",
        image: busybox,
        imagePullPolicy: "IfNotPresent",
        command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
      },
    ]),
  ]);

/**
 * The load generator (e2e/scenarios/loadgen.ts, from a ConfigMap) as the application of a pod
 * with an injected gateway: it waits for `kubectl exec` to run it against 127.0.0.1.
 */
export const injectedLoader = (name: string, echoImage: string, loadgenSource: string): string =>
  yaml([
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: `${name}-loadgen`, namespace: LOAD },
      data: { "loadgen.ts": loadgenSource },
    },
    injected(
      name,
      LOAD,
      [
        {
          name: "app",
          image: echoImage,
          imagePullPolicy: "IfNotPresent",
          // The echo server keeps the container up; the load runs through `kubectl exec`.
          env: [{ name: "PORT", value: "8081" }],
          volumeMounts: [{ name: "loadgen", mountPath: "/loadgen", readOnly: true }],
        },
      ],
      { volumes: [{ name: "loadgen", configMap: { name: `${name}-loadgen` } }] },
    ),
  ]);
