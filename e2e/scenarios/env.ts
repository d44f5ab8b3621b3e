// What a scenario needs from the cluster it runs on (the local node or kind), and the helpers
// built on it: kubectl and helm with the cluster's context, the images, the gateway's URL, and on
// the local node the memory cgroups and the Service network reachable from this process.
import { spawn } from "node:child_process";
import { GiveUp, run, waitFor } from "../proc.ts";
import type { ContainerRef } from "./memory.ts";

export interface ImageRef {
  readonly repository: string;
  readonly tag: string;
}

export interface ScenarioImages {
  readonly switchboard: ImageRef;
  /** The echo function (npm run image -- --function), as a full reference. */
  readonly echo: string;
  /** An image with a shell and wget (busybox). */
  readonly busybox: string;
  /** The bundled etcd's image when the chart's default cannot be pulled (the local node). */
  readonly etcd?: ImageRef;
  /** The bundled NATS's image when the chart's default cannot be pulled (the local node). */
  readonly nats?: ImageRef;
}

export interface Followed {
  /** What it printed so far. */
  text(): string;
  /** Resolves when the command ends (e.g. `kubectl logs -f` when the container exits). */
  readonly done: Promise<void>;
  stop(): void;
}

export interface ScenarioEnv {
  readonly where: "node" | "kind";
  readonly clusterName: string;
  readonly images: ScenarioImages;
  /** kubectl (and helm) with the cluster's context: the command and its leading arguments. */
  readonly kubectlArgv: readonly string[];
  readonly helmArgv: readonly string[];
  /** The gateway Service's publishers' base URL, reachable from this process. */
  gatewayUrl(): Promise<string>;
  /** The paced async load of the memory scenario (2000 ev/s for 20 s by default). */
  readonly load: { readonly rate: number; readonly seconds: number };
  /** Reports a measured number (test diagnostics, the kind script's output). */
  note(line: string): void;
  /** The local node only: the memory cgroup of a container. */
  readonly node?: { containerRef(namespace: string, pod: string, container: string): Promise<ContainerRef> };
}

/** Runs kubectl with the env's context; returns stdout, throws with stderr. */
export const kubectl = (env: ScenarioEnv, args: readonly string[], input?: string): Promise<string> => {
  const [command = "kubectl", ...rest] = env.kubectlArgv;
  return run(command, [...rest, ...args], input === undefined ? {} : { input });
};

/** Runs helm with the env's context; returns stdout, throws with stderr. */
export const helm = (env: ScenarioEnv, args: readonly string[]): Promise<string> => {
  const [command = "helm", ...rest] = env.helmArgv;
  return run(command, [...rest, ...args]);
};

/** Starts kubectl in the background (e.g. `logs -f`), collecting its output. */
export const kubectlFollow = (env: ScenarioEnv, args: readonly string[]): Followed => {
  const [command = "kubectl", ...rest] = env.kubectlArgv;
  const child = spawn(command, [...rest, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    out += d;
  });
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    out += d;
  });
  const done = new Promise<void>((resolve) => child.on("close", () => resolve()));
  return { text: () => out, done, stop: () => child.kill() };
};

/** `kubectl wait --for=condition=Ready` on `what` (kind/name or `kind --all`). */
export const waitReady = (
  env: ScenarioEnv,
  namespace: string | undefined,
  ...what: string[]
): Promise<string> =>
  kubectl(env, [
    ...(namespace ? ["-n", namespace] : []),
    "wait",
    "--for=condition=Ready",
    "--timeout=120s",
    ...what,
  ]);

export interface PublishOptions {
  readonly url: string;
  readonly id: string;
  readonly type: string;
  readonly token?: string;
  readonly data?: unknown;
}

/** POSTs one binary-mode CloudEvent until it is accepted (202), retrying while routes propagate (404) or the gateway is busy (429/503). */
export const publishAccepted = (o: PublishOptions): Promise<true> =>
  waitFor(`the gateway to accept event ${o.id}`, async () => {
    const res = await fetch(o.url, {
      method: "POST",
      headers: {
        ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
        "ce-specversion": "1.0",
        "ce-id": o.id,
        "ce-source": "/scenarios",
        "ce-type": o.type,
        "content-type": "application/json",
      },
      body: JSON.stringify(o.data ?? { amount: 3 }),
    });
    const body = await res.text();
    if (res.status === 202) return true;
    if ([404, 429, 503].includes(res.status)) return undefined;
    throw new GiveUp(`publishing ${o.id} answered ${res.status}: ${body}`);
  });

/** The ce-id of every request the pods labelled `app=<app>` logged (the echo function's lines). */
export const loggedIds = async (env: ScenarioEnv, namespace: string, app: string): Promise<string[]> => {
  const out = await kubectl(env, [
    ...["-n", namespace, "logs", "-l", `app=${app}`],
    ...["--tail=-1", "--max-log-requests=20"],
  ]);
  const ids: string[] = [];
  for (const line of out.split("\n")) {
    const id = /"ce-id":"([^"]+)"/.exec(line)?.[1];
    if (id !== undefined) ids.push(id);
  }
  return ids;
};
