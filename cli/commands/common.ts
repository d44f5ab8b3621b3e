// Flags and set-up that several commands share.
import { type FlagSpec, type Parsed, value, values } from "../support/args.ts";
import { type Forwarded, forwardPods, forwardService, type Port } from "../support/gateway.ts";
import { createKube, type Kube, loadKubeConfig } from "../support/kube.ts";
import { FORMATS, type Format } from "../support/output.ts";
import { publisherToken } from "../support/token.ts";
import type { Io } from "../types.ts";

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
