// What e2e/kind.ts does, as data: the commands that build the image, load it into a kind
// cluster, install the chart with the bundled etcd and apply examples/, plus the manifest of a
// small "orders" function (the Switchboard image running a tiny Node HTTP server that logs every
// request). Pure: nothing here runs a command, so the plan can be printed (--dry-run) and tested.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { get } from "../helm/chart-kit.ts";
import { repoRoot } from "./tools.ts";

export interface KindOptions {
  /** The kind cluster's name; kubectl and helm use its context `kind-<cluster>`. */
  cluster: string;
  /** The image built from the repository's Dockerfile, as repository and tag. */
  repository: string;
  tag: string;
  /** The local port forwarded to the gateway Service's publishers' port; `port + 1` to its metrics port. */
  port: number;
  kubectl: string;
  helm: string;
}

/** One command line; `input` goes to its stdin. */
export interface Command {
  argv: string[];
  input?: string;
}

export interface KindPlan {
  readonly image: string;
  /** Creates the cluster (skipped when a cluster of that name exists). */
  readonly create: Command;
  /** Builds, loads and installs everything, then waits until it is Ready. */
  readonly install: Command[];
  /** Runs in the background while the checks publish through it. */
  readonly portForward: Command;
  /** Prints the function's log (the checks look for the published event's id in it). */
  readonly functionLog: Command;
  readonly deleteCluster: Command;
}

export const RELEASE = "switchboard";
export const NAMESPACE = "switchboard-system";
/** The examples' namespace, VPN publisher token and event type (examples/*.yaml). */
export const SHOP = "shop";
export const EVENT_TYPE = "com.example.order.created";

/** The example publisher's bearer token, read from examples/10-publisher-secret.yaml; throws when it has none. */
export const exampleToken = (): string => {
  const secret: unknown = parse(readFileSync(join(repoRoot, "examples/10-publisher-secret.yaml"), "utf8"));
  const token = get(secret, "stringData", "token");
  if (typeof token !== "string") throw new Error("examples/10-publisher-secret.yaml has no stringData.token");
  return token;
};

// The orders function: logs one JSON line per request (not probes) and answers 200 with JSON.
const ORDERS_JS = `import("node:http").then(({ createServer }) => createServer((req, res) => {
  let body = "";
  req.on("data", (chunk) => { body += chunk; });
  req.on("end", () => {
    if (req.url !== "/healthz") console.log(JSON.stringify({ method: req.method, path: req.url, id: req.headers["ce-id"], type: req.headers["ce-type"], body }));
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ ok: true, id: req.headers["ce-id"] ?? null }));
  });
}).listen(8080));`;

/** The Namespace of the release, enforcing Pod Security "restricted" as docs/install.md asks. */
const namespaceManifest = (): string =>
  stringify({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name: NAMESPACE,
      labels: { "pod-security.kubernetes.io/enforce": "restricted" },
    },
  });

/** A Deployment of the orders function (the pods behind examples/30-service.yaml) in the image `image`. */
export const ordersManifest = (image: string): string =>
  stringify(
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "orders", namespace: SHOP },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "orders" } },
        template: {
          metadata: { labels: { app: "orders" } },
          spec: {
            securityContext: {
              runAsNonRoot: true,
              runAsUser: 10001,
              seccompProfile: { type: "RuntimeDefault" },
            },
            containers: [
              {
                name: "orders",
                image,
                args: ["-e", ORDERS_JS],
                ports: [{ name: "http", containerPort: 8080 }],
                readinessProbe: { httpGet: { path: "/healthz", port: 8080 }, periodSeconds: 2 },
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ["ALL"] },
                },
              },
            ],
          },
        },
      },
    },
    { lineWidth: 0 },
  );

/** The whole run for `options`. */
export const kindPlan = (o: KindOptions): KindPlan => {
  const image = `${o.repository}:${o.tag}`;
  const context = `kind-${o.cluster}`;
  const kubectl = (...args: string[]): string[] => [o.kubectl, "--context", context, ...args];
  const wait = (...what: string[]): Command => ({
    argv: kubectl("wait", "--for=condition=Ready", "--timeout=120s", ...what),
  });
  return {
    image,
    create: { argv: ["kind", "create", "cluster", "--name", o.cluster, "--wait", "120s"] },
    install: [
      { argv: ["docker", "build", "-t", image, repoRoot] },
      { argv: ["kind", "load", "docker-image", image, "--name", o.cluster] },
      { argv: kubectl("apply", "-f", "-"), input: namespaceManifest() },
      {
        argv: [
          ...[o.helm, "upgrade", "--install", RELEASE, join(repoRoot, "helm/switchboard")],
          ...["--kube-context", context, "--namespace", NAMESPACE, "--wait", "--timeout", "5m"],
          ...["--set-string", `clusterName=${o.cluster}`, "--set", "bundledEtcd.enabled=true"],
          ...["--set-string", `image.repository=${o.repository}`, "--set-string", `image.tag=${o.tag}`],
        ],
      },
      { argv: kubectl("apply", "-f", join(repoRoot, "examples")) },
      { argv: kubectl("apply", "-f", "-"), input: ordersManifest(image) },
      { argv: kubectl("-n", SHOP, "rollout", "status", "deployment/orders", "--timeout=120s") },
      wait(`vpn/${SHOP}`),
      wait("-n", SHOP, "functions.switchboard.dev", "--all"),
      wait("-n", SHOP, "subscriptions.switchboard.dev", "--all"),
    ],
    portForward: {
      argv: kubectl(
        ...["-n", NAMESPACE, "port-forward", `service/${RELEASE}-gateway`],
        ...[`${o.port}:80`, `${o.port + 1}:9090`],
      ),
    },
    functionLog: { argv: kubectl("-n", SHOP, "logs", "deployment/orders") },
    deleteCluster: { argv: ["kind", "delete", "cluster", "--name", o.cluster] },
  };
};
