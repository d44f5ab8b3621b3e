// Flags and set-up that several commands share.
import { type FlagSpec, type Parsed, value, values } from "../support/args.ts";
import { type Forwarded, forwardPods, forwardService, type Port } from "../support/gateway.ts";
import { contextNamespace, createKube, type Kube, loadKubeConfig } from "../support/kube.ts";
import { FORMATS, type Format } from "../support/output.ts";
import { publisherToken } from "../support/token.ts";
import { CliError, type Io } from "../types.ts";

export const HELP_FLAG: FlagSpec = { name: "help", short: "h", help: "print this help" };
export const KUBE_FLAGS: readonly FlagSpec[] = [
  { name: "kubeconfig", value: "FILE", help: "the kubeconfig (default $KUBECONFIG, then ~/.kube/config)" },
  { name: "context", value: "NAME", help: "the kubeconfig context (default its current context)" },
];
export const OUTPUT_FLAG: FlagSpec = {
  name: "output",
  short: "o",
  value: "FORMAT",
  help: "output format (default text)",
  choices: FORMATS,
};

/** The --output format. */
export const formatOf = (args: Parsed): Format => {
  const f = value(args, "output");
  return f === "json" || f === "yaml" ? f : "text";
};

/** The Kubernetes client per --kubeconfig/--context, made on first use (a command given every URL and --token needs none). */
export const lazyKube = (args: Parsed, io: Io): (() => Kube) => {
  let kube: Kube | undefined;
  return () => {
    kube ??= createKube(
      loadKubeConfig({ kubeconfig: value(args, "kubeconfig"), context: value(args, "context") }, io.env),
    );
    return kube;
  };
};

/** --token, or the VPN's publisher token from its Secret. */
export const tokenFor = (args: Parsed, kube: () => Kube, vpn: string): Promise<string> => {
  const token = value(args, "token");
  return token !== undefined ? Promise.resolve(token) : publisherToken(kube(), vpn, value(args, "publisher"));
};

/**
 * The gateways to call on `port`: every --url (http) or --admin-url (metrics) given, else a
 * port-forward to the gateway Service, or with `everyPod` one to each of its Ready pods.
 */
export const gatewayTargets = async (
  args: Parsed,
  io: Io,
  kube: () => Kube,
  port: Port,
  { everyPod = false }: { everyPod?: boolean } = {},
): Promise<Forwarded> => {
  const given = values(args, port === "http" ? "url" : "admin-url").map((u) => u.replace(/\/+$/, ""));
  if (given.length > 0)
    return { targets: given.map((url) => ({ label: `the gateway at ${url}`, url })), close: () => {} };
  const opts = {
    kubeconfig: value(args, "kubeconfig"),
    context: value(args, "context"),
    gateway: value(args, "gateway"),
  };
  return everyPod
    ? forwardPods(kube(), opts, port, io.signal)
    : forwardService(kube(), opts, port, io.signal);
};

/** A Subscription named "NS/NAME", or "NAME" with -n (default the context's namespace); `command` words the usage error. */
export const subscriptionRef = (
  arg: string | undefined,
  args: Parsed,
  kube: () => Kube,
  command: string,
): { namespace: string; name: string } => {
  if (arg === undefined)
    throw new CliError(`${command} takes one SUBSCRIPTION (NAME with -n NAMESPACE, or NAMESPACE/NAME)`, 2);
  const [a, b] = arg.split("/");
  if (b !== undefined && a !== undefined) return { namespace: a, name: b };
  return { namespace: value(args, "namespace") ?? contextNamespace(kube().config), name: arg };
};

/** The Subscription's VPN: --vpn, else read from the Subscription (which must exist). */
export const subscriptionVpn = async (
  args: Parsed,
  kube: () => Kube,
  ref: { namespace: string; name: string },
): Promise<string> => {
  const given = value(args, "vpn");
  if (given !== undefined) return given;
  const sub = await kube().get("Subscription", ref.name, ref.namespace);
  if (sub === undefined)
    throw new CliError(
      `Subscription ${ref.namespace}/${ref.name} not found: kubectl get subscriptions.switchboard.dev -n ${ref.namespace} lists them`,
    );
  return typeof sub.spec.vpn === "string" ? sub.spec.vpn : "";
};
