// How the plugin reaches a gateway: the URLs given (--url for publishing, --admin-url for /explain
// and /deliveries), or `kubectl port-forward` to the gateway Service the chart installs (labels
// app.kubernetes.io/name=switchboard, app.kubernetes.io/component=gateway; ports `http` and
// `metrics`) as a child process, stopped when the command ends.
import { type ChildProcess, spawn } from "node:child_process";
import { CliError } from "../types.ts";
import type { FlagSpec } from "./args.ts";
import type { Kube, KubeOptions } from "./kube.ts";

export const GATEWAY_SELECTOR = "app.kubernetes.io/name=switchboard,app.kubernetes.io/component=gateway";

export const GATEWAY_FLAGS: readonly FlagSpec[] = [
  {
    name: "url",
    value: "URL",
    help: "the gateway's ingress (default: a port-forward to the gateway Service)",
  },
  {
    name: "admin-url",
    value: "URL",
    help: "the gateway's admin port, for explain and tail (default: a port-forward to the gateway Service)",
  },
  {
    name: "gateway",
    value: "NAMESPACE/SERVICE",
    help: "the gateway Service to port-forward to (default: the one labelled app.kubernetes.io/component=gateway)",
  },
  {
    name: "token",
    value: "TOKEN",
    help: "the publisher token (default: read from the VPN's publisher Secret)",
  },
  {
    name: "publisher",
    value: "NAME",
    help: "which publisher of the VPN to read the token of (default: the first)",
  },
];

export type Port = "http" | "metrics";

export interface Forward {
  /** http://127.0.0.1:PORT per forwarded Service port. */
  readonly urls: Readonly<Partial<Record<Port, string>>>;
  close(): void;
}

/** The local ports in kubectl port-forward's output (`Forwarding from 127.0.0.1:PORT -> REMOTE`), in order. */
export const forwardedPorts = (output: string): number[] =>
  [...output.matchAll(/^Forwarding from 127\.0\.0\.1:(\d+) -> \d+$/gm)].map((m) => Number(m[1]));

/** The gateway Service to forward to: `--gateway NS/NAME`, or the only Service with the gateway labels. */
export const findGatewayService = async (
  kube: Kube,
  chosen: string | undefined,
): Promise<{ namespace: string; name: string; ports: { name: string; port: number }[] }> => {
  const all = await kube.services(GATEWAY_SELECTOR);
  if (chosen !== undefined) {
    const [namespace = "", name = ""] = chosen.split("/");
    const found = all.find((s) => s.namespace === namespace && s.name === name);
    if (found) return found;
    throw new CliError(
      `no gateway Service ${chosen} (with labels ${GATEWAY_SELECTOR}); kubectl get svc -A -l ${GATEWAY_SELECTOR} lists them`,
    );
  }
  const [first, second] = all;
  if (first === undefined)
    throw new CliError(
      `no gateway Service found (labels ${GATEWAY_SELECTOR}): install the chart with gateway.enabled, or pass --url (and --admin-url) of a gateway you can reach`,
    );
  if (second !== undefined)
    throw new CliError(
      `several gateway Services (${all.map((s) => `${s.namespace}/${s.name}`).join(", ")}): choose one with --gateway NAMESPACE/SERVICE`,
    );
  return first;
};

/** Forwards `ports` of the gateway Service with `kubectl port-forward`; resolves once kubectl says it forwards, throws CliError if it cannot. */
export const portForward = async (
  kube: Kube,
  opts: KubeOptions & { gateway?: string | undefined; kubectl?: string | undefined },
  ports: readonly Port[],
  signal: AbortSignal,
): Promise<Forward> => {
  const svc = await findGatewayService(kube, opts.gateway);
  const remote = ports.map((p) => {
    const port = svc.ports.find((sp) => sp.name === p);
    if (port === undefined)
      throw new CliError(`gateway Service ${svc.namespace}/${svc.name} has no port named ${p}`);
    return port.port;
  });
  const args = [
    ...(opts.kubeconfig ? ["--kubeconfig", opts.kubeconfig] : []),
    ...(opts.context ? ["--context", opts.context] : []),
    "port-forward",
    "--address",
    "127.0.0.1",
    "-n",
    svc.namespace,
    `svc/${svc.name}`,
    ...remote.map((p) => `:${p}`),
  ];
  const child: ChildProcess = spawn(opts.kubectl ?? "kubectl", args, { stdio: ["ignore", "pipe", "pipe"] });
  const close = (): void => {
    if (child.exitCode === null) child.kill("SIGTERM");
  };
  signal.addEventListener("abort", close, { once: true });
  let out = "";
  const local = await new Promise<number[]>((resolve, reject) => {
    const fail = (why: string): void =>
      reject(
        new CliError(
          `cannot port-forward to gateway Service ${svc.namespace}/${svc.name}: ${why.trim()}; check its pods (kubectl -n ${svc.namespace} get pods -l ${GATEWAY_SELECTOR}) or pass --url/--admin-url`,
        ),
      );
    child.on("error", (err) => fail(`kubectl could not be started (${err.message}): is kubectl on PATH?`));
    child.stdout?.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      const found = forwardedPorts(out);
      if (found.length >= remote.length) resolve(found);
    });
    let err = "";
    child.stderr?.setEncoding("utf8").on("data", (d: string) => {
      err += d;
    });
    child.on("exit", (code) => fail(err || `kubectl port-forward exited with code ${code}`));
  });
  const urls: Partial<Record<Port, string>> = {};
  ports.forEach((p, i) => {
    urls[p] = `http://127.0.0.1:${local[i]}`;
  });
  return { urls, close };
};
