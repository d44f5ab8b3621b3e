// How the plugin reaches a gateway: the URLs given (--url for publishing, --admin-url for /explain
// and /deliveries), or `kubectl port-forward` to the gateway Service the chart installs (labels
// app.kubernetes.io/name=switchboard, app.kubernetes.io/component=gateway; ports `http` and
// `metrics`) as a child process, stopped when the command ends.
import { type ChildProcess, spawn } from "node:child_process";
import { CliError } from "../types.ts";
import type { FlagSpec } from "./args.ts";
import type { Kube, KubeOptions, PodInfo, ServiceInfo } from "./kube.ts";

export const GATEWAY_SELECTOR = "app.kubernetes.io/name=switchboard,app.kubernetes.io/component=gateway";
/** The chart's operator Service (port `metrics`: /metrics, /healthz and /gateways). */
export const OPERATOR_SELECTOR = "app.kubernetes.io/name=switchboard,app.kubernetes.io/component=operator";

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

/** A gateway reached through a forward: what to call it in messages, and its local URL. */
export interface Target {
  readonly label: string;
  readonly url: string;
}

export interface Forwarded {
  readonly targets: readonly Target[];
  close(): void;
}

export interface ForwardOptions extends KubeOptions {
  gateway?: string | undefined;
  kubectl?: string | undefined;
}

/** The local ports in kubectl port-forward's output (`Forwarding from 127.0.0.1:PORT -> REMOTE`), in order. */
export const forwardedPorts = (output: string): number[] =>
  [...output.matchAll(/^Forwarding from 127\.0\.0\.1:(\d+) -> \d+$/gm)].map((m) => Number(m[1]));

/** The container port a Service's `targetPort` names on `pod` (a number is itself); undefined when the pod has no such named port. */
export const podPort = (targetPort: number | string, pod: PodInfo): number | undefined => {
  if (typeof targetPort === "number") return targetPort;
  if (/^\d+$/.test(targetPort)) return Number(targetPort);
  return pod.ports.find((p) => p.name === targetPort)?.port;
};

/** The gateway Service to forward to: `--gateway NS/NAME`, or the only Service with the gateway labels. */
export const findGatewayService = async (kube: Kube, chosen: string | undefined): Promise<ServiceInfo> => {
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

/** Runs `kubectl port-forward … TARGET :REMOTE`; resolves with the local port once kubectl forwards, throws CliError naming `what` if it cannot. */
const forward = async (
  opts: ForwardOptions,
  namespace: string,
  target: string,
  remote: number,
  what: string,
  signal: AbortSignal,
  hint = `check its pods (kubectl -n ${namespace} get pods -l ${GATEWAY_SELECTOR}) or pass --url/--admin-url`,
): Promise<{ port: number; close: () => void }> => {
  const args = [
    ...(opts.kubeconfig ? ["--kubeconfig", opts.kubeconfig] : []),
    ...(opts.context ? ["--context", opts.context] : []),
    "port-forward",
    "--address",
    "127.0.0.1",
    "-n",
    namespace,
    target,
    `:${remote}`,
  ];
  const child: ChildProcess = spawn(opts.kubectl ?? "kubectl", args, { stdio: ["ignore", "pipe", "pipe"] });
  const close = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  };
  signal.addEventListener("abort", close, { once: true });
  let out = "";
  let err = "";
  const port = await new Promise<number>((resolve, reject) => {
    const fail = (why: string): void =>
      reject(new CliError(`cannot port-forward to ${what}: ${why.trim()}; ${hint}`));
    child.on("error", (e) => fail(`kubectl could not be started (${e.message}): is kubectl on PATH?`));
    child.stdout?.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      const [found] = forwardedPorts(out);
      if (found !== undefined) resolve(found);
    });
    child.stderr?.setEncoding("utf8").on("data", (d: string) => {
      err += d;
    });
    child.on("exit", (code) => fail(err || `kubectl port-forward exited with code ${code}`));
  });
  return { port, close };
};

const servicePort = (svc: ServiceInfo, port: Port) => {
  const found = svc.ports.find((sp) => sp.name === port);
  if (found === undefined)
    throw new CliError(`gateway Service ${svc.namespace}/${svc.name} has no port named ${port}`);
  return found;
};

/** Forwards `port` of the gateway Service (kubectl picks one of its pods): for publish and explain. */
export const forwardService = async (
  kube: Kube,
  opts: ForwardOptions,
  port: Port,
  signal: AbortSignal,
): Promise<Forwarded> => {
  const svc = await findGatewayService(kube, opts.gateway);
  const what = `gateway Service ${svc.namespace}/${svc.name}`;
  const f = await forward(opts, svc.namespace, `svc/${svc.name}`, servicePort(svc, port).port, what, signal);
  return { targets: [{ label: what, url: `http://127.0.0.1:${f.port}` }], close: f.close };
};

/** Forwards `port` of every Ready pod behind the gateway Service (a gateway streams only its own deliveries): for tail. */
export const forwardPods = async (
  kube: Kube,
  opts: ForwardOptions,
  port: Port,
  signal: AbortSignal,
): Promise<Forwarded> => {
  const svc = await findGatewayService(kube, opts.gateway);
  const { targetPort } = servicePort(svc, port);
  if (Object.keys(svc.selector).length === 0)
    throw new CliError(
      `gateway Service ${svc.namespace}/${svc.name} has no pod selector: pass --admin-url per gateway`,
    );
  const pods = await kube.readyPods(svc.namespace, svc.selector);
  if (pods.length === 0)
    throw new CliError(
      `gateway Service ${svc.namespace}/${svc.name} has no Ready pod: kubectl -n ${svc.namespace} get pods -l ${GATEWAY_SELECTOR}`,
    );
  const closers: (() => void)[] = [];
  const close = (): void => {
    for (const c of closers) c();
  };
  try {
    const targets = await Promise.all(
      pods.map(async (pod) => {
        const what = `gateway pod ${svc.namespace}/${pod.name}`;
        const remote = podPort(targetPort, pod);
        if (remote === undefined)
          throw new CliError(`${what} has no container port named ${String(targetPort)}`);
        const f = await forward(opts, svc.namespace, `pod/${pod.name}`, remote, what, signal);
        closers.push(f.close);
        return { label: what, url: `http://127.0.0.1:${f.port}` };
      }),
    );
    return { targets, close };
  } catch (err) {
    close();
    throw err;
  }
};

/**
 * Forwards the `metrics` port of the operator Service (`chosen` NAMESPACE/SERVICE, or the only one
 * with the operator labels): what status reads /gateways from.
 */
export const forwardOperator = async (
  kube: Kube,
  opts: ForwardOptions,
  chosen: string | undefined,
  signal: AbortSignal,
): Promise<Forwarded> => {
  const all = await kube.services(OPERATOR_SELECTOR);
  const [namespace = "", name = ""] = chosen?.split("/") ?? [];
  const candidates =
    chosen === undefined ? all : all.filter((s) => s.namespace === namespace && s.name === name);
  const [svc, second] = candidates;
  if (svc === undefined)
    throw new CliError(
      chosen === undefined
        ? `no operator Service found (labels ${OPERATOR_SELECTOR}); pass --operator-url`
        : `no operator Service ${chosen} (with labels ${OPERATOR_SELECTOR})`,
    );
  if (second !== undefined)
    throw new CliError(
      `several operator Services (${candidates.map((s) => `${s.namespace}/${s.name}`).join(", ")}): choose one with --operator NAMESPACE/SERVICE`,
    );
  const port = svc.ports.find((p) => p.name === "metrics");
  if (port === undefined)
    throw new CliError(`operator Service ${svc.namespace}/${svc.name} has no port named metrics`);
  const what = `operator Service ${svc.namespace}/${svc.name}`;
  const f = await forward(
    opts,
    svc.namespace,
    `svc/${svc.name}`,
    port.port,
    what,
    signal,
    `check its pods (kubectl -n ${svc.namespace} get pods -l ${OPERATOR_SELECTOR}) or pass --operator-url`,
  );
  return { targets: [{ label: what, url: `http://127.0.0.1:${f.port}` }], close: f.close };
};
