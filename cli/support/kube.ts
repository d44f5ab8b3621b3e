// The Kubernetes side of the plugin: the kubeconfig kubectl would use, reads of Switchboard
// objects, Secrets and Services through @kubernetes/client-node, and errors that say what to do.
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { ApiException, CoreV1Api, CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { GROUP, VERSION } from "../../crds/types.ts";
import { CliError } from "../types.ts";

export type Kind = "VPN" | "Function" | "Subscription";
export const PLURALS: Readonly<Record<Kind, string>> = {
  VPN: "vpns",
  Function: "functions",
  Subscription: "subscriptions",
};

/** The parts of a Switchboard object the plugin reads, checked at the edge. */
export interface KubeObject {
  readonly kind: Kind;
  readonly name: string;
  readonly namespace?: string;
  readonly generation?: number;
  readonly spec: Record<string, unknown>;
  readonly conditions: readonly {
    type: string;
    status: string;
    reason: string;
    message: string;
    observedGeneration?: number;
  }[];
}

export interface KubeOptions {
  kubeconfig?: string | undefined;
  context?: string | undefined;
}

const record = (v: unknown): Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
const str = (v: unknown): string => (typeof v === "string" ? v : "");

/** Runs `load` for kubeconfig `file`; a file that cannot be read, parsed or merged is a CliError naming it. */
const readKubeconfig = (file: string, load: () => void): void => {
  try {
    load();
  } catch (err) {
    throw new CliError(
      `cannot use kubeconfig ${file}: ${err instanceof Error ? err.message : String(err)} (kubectl config view --kubeconfig ${file} shows what kubectl reads)`,
    );
  }
};

/** The kubeconfig kubectl would use: --kubeconfig, $KUBECONFIG, ~/.kube/config, or in-cluster; throws CliError saying how to give one. */
export const loadKubeConfig = (
  opts: KubeOptions,
  env: Readonly<Record<string, string | undefined>>,
): KubeConfig => {
  const kc = new KubeConfig();
  const home = env.HOME ?? homedir();
  if (opts.kubeconfig !== undefined) {
    const file = opts.kubeconfig;
    if (!existsSync(file)) throw new CliError(`kubeconfig ${file} does not exist`);
    readKubeconfig(file, () => kc.loadFromFile(file));
  } else if (env.KUBECONFIG) {
    // As kubectl (and client-node's loadFromDefault, which reads process.env itself): the files
    // merged, the first one's current context winning; files that do not exist are skipped.
    const [first, ...rest] = env.KUBECONFIG.split(":").filter((f) => f !== "" && existsSync(f));
    if (first === undefined)
      throw new CliError(`no kubeconfig: none of the files in KUBECONFIG (${env.KUBECONFIG}) exists`);
    readKubeconfig(first, () => kc.loadFromFile(first));
    for (const file of rest) {
      const more = new KubeConfig();
      readKubeconfig(file, () => {
        more.loadFromFile(file);
        kc.mergeConfig(more, true);
      });
    }
  } else if (existsSync(join(home, ".kube", "config"))) {
    const file = join(home, ".kube", "config");
    readKubeconfig(file, () => kc.loadFromFile(file));
  } else if (env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
  else
    throw new CliError(
      "no kubeconfig: set KUBECONFIG, pass --kubeconfig FILE, or write ~/.kube/config (kubectl config view shows what kubectl uses)",
    );
  if (opts.context !== undefined) {
    if (!kc.getContexts().some((c) => c.name === opts.context))
      throw new CliError(
        `context ${opts.context} is not in the kubeconfig (contexts: ${kc
          .getContexts()
          .map((c) => c.name)
          .join(", ")})`,
      );
    kc.setCurrentContext(opts.context);
  }
  if (kc.getCurrentCluster() === null)
    throw new CliError("the kubeconfig has no current context: kubectl config use-context NAME");
  return kc;
};

/** The namespace of the kubeconfig's current context ("default" when it names none). */
export const contextNamespace = (kc: KubeConfig): string =>
  kc.getContextObject(kc.getCurrentContext())?.namespace ?? "default";

/** One line, with advice, for a failed API call on `what`. */
export const apiFailure = (kc: KubeConfig, what: string, err: unknown): CliError => {
  if (err instanceof ApiException) {
    const body = record(typeof err.body === "string" ? safeJson(err.body) : err.body);
    const message = str(body.message);
    if (err.code === 401)
      return new CliError(
        `${what}: the API server refused the credentials (HTTP 401); check the kubeconfig's user`,
      );
    if (err.code === 403)
      return new CliError(
        `${what}: forbidden (HTTP 403${message ? `: ${message}` : ""}); ask for read access`,
      );
    return new CliError(`${what}: HTTP ${err.code}${message ? `: ${message}` : ""}`);
  }
  const server = kc.getCurrentCluster()?.server ?? "?";
  const cause = err instanceof Error ? err.message : String(err);
  return new CliError(
    `${what}: cannot reach the API server ${server} (${cause}); check the cluster is up and the kubeconfig's context (kubectl cluster-info)`,
  );
};

const safeJson = (s: string): unknown => {
  try {
    return JSON.parse(s);
  } catch {
    return {};
  }
};

/** A Switchboard object as the plugin reads it, from the API server's JSON. */
export const toKubeObject = (kind: Kind, raw: unknown): KubeObject => {
  const obj = record(raw);
  const meta = record(obj.metadata);
  const status = record(obj.status);
  const conditions = (Array.isArray(status.conditions) ? status.conditions : []).flatMap((c: unknown) => {
    const r = record(c);
    if (typeof r.type !== "string") return [];
    return {
      type: str(r.type),
      status: str(r.status),
      reason: str(r.reason),
      message: str(r.message),
      ...(typeof r.observedGeneration === "number" ? { observedGeneration: r.observedGeneration } : {}),
    };
  });
  const namespace = str(meta.namespace);
  return {
    kind,
    name: str(meta.name),
    ...(namespace ? { namespace } : {}),
    ...(typeof meta.generation === "number" ? { generation: meta.generation } : {}),
    spec: record(obj.spec),
    conditions,
  };
};

export interface Kube {
  readonly config: KubeConfig;
  /** Objects of `kind`; namespaced kinds in `namespace`, or all namespaces when undefined. */
  list(kind: Kind, namespace?: string): Promise<KubeObject[]>;
  /** One object, or undefined when it does not exist. */
  get(kind: Kind, name: string, namespace?: string): Promise<KubeObject | undefined>;
  /** The decoded value of `key` in Secret `namespace/name`; undefined when the Secret or key is missing. */
  secretValue(namespace: string, name: string, key: string): Promise<{ found: boolean; value?: string }>;
  /** Services matching `labelSelector` (all namespaces), with their pod selector and ports. */
  services(labelSelector: string): Promise<ServiceInfo[]>;
  /** The pods of `namespace` matching `selector` that are Ready and not being deleted, with their container ports. */
  readyPods(namespace: string, selector: Readonly<Record<string, string>>): Promise<PodInfo[]>;
}

export interface ServiceInfo {
  readonly namespace: string;
  readonly name: string;
  readonly selector: Readonly<Record<string, string>>;
  readonly ports: readonly { name: string; port: number; targetPort: number | string }[];
}

export interface PodInfo {
  readonly name: string;
  readonly ports: readonly { name: string; port: number }[];
}

/** Reads through `kc`; every failure is a CliError saying what to do. */
export const createKube = (kc: KubeConfig): Kube => {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const base = { group: GROUP, version: VERSION };
  const items = (list: unknown): unknown[] => {
    const r = record(list);
    return Array.isArray(r.items) ? r.items : [];
  };
  const notFound = (err: unknown): boolean => err instanceof ApiException && err.code === 404;
  return {
    config: kc,
    list: async (kind, namespace) => {
      const plural = PLURALS[kind];
      try {
        const list: unknown =
          kind === "VPN"
            ? await custom.listClusterCustomObject({ ...base, plural })
            : namespace === undefined
              ? await custom.listCustomObjectForAllNamespaces({ ...base, resourcePlural: plural })
              : await custom.listNamespacedCustomObject({ ...base, namespace, plural });
        return items(list).map((o) => toKubeObject(kind, o));
      } catch (err) {
        if (notFound(err))
          throw new CliError(
            `the API server does not serve ${plural}.${GROUP}: install Switchboard's CRDs (kubectl apply --server-side -f crds/)`,
          );
        throw apiFailure(kc, `listing ${plural}`, err);
      }
    },
    get: async (kind, name, namespace) => {
      const plural = PLURALS[kind];
      try {
        const raw: unknown =
          kind === "VPN" || namespace === undefined
            ? await custom.getClusterCustomObject({ ...base, plural, name })
            : await custom.getNamespacedCustomObject({ ...base, namespace, plural, name });
        return toKubeObject(kind, raw);
      } catch (err) {
        if (notFound(err)) return undefined;
        throw apiFailure(kc, `reading ${kind} ${namespace ? `${namespace}/` : ""}${name}`, err);
      }
    },
    secretValue: async (namespace, name, key) => {
      try {
        const secret = await core.readNamespacedSecret({ name, namespace });
        const encoded = secret.data?.[key];
        return encoded === undefined
          ? { found: true }
          : { found: true, value: Buffer.from(encoded, "base64").toString("utf8") };
      } catch (err) {
        if (notFound(err)) return { found: false };
        throw apiFailure(kc, `reading Secret ${namespace}/${name}`, err);
      }
    },
    services: async (labelSelector) => {
      try {
        const list = await core.listServiceForAllNamespaces({ labelSelector });
        return list.items.map((s) => ({
          namespace: s.metadata?.namespace ?? "",
          name: s.metadata?.name ?? "",
          selector: s.spec?.selector ?? {},
          ports: (s.spec?.ports ?? []).map((p) => ({
            name: p.name ?? "",
            port: p.port,
            // A Service port without targetPort targets the same number.
            targetPort: p.targetPort ?? p.port,
          })),
        }));
      } catch (err) {
        throw apiFailure(kc, "listing the gateway Services", err);
      }
    },
    readyPods: async (namespace, selector) => {
      const labelSelector = Object.entries(selector)
        .map(([k, v]) => `${k}=${v}`)
        .join(",");
      try {
        const list = await core.listNamespacedPod({ namespace, labelSelector });
        return list.items
          .filter(
            (p) =>
              p.metadata?.deletionTimestamp === undefined &&
              (p.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True"),
          )
          .map((p) => ({
            name: p.metadata?.name ?? "",
            ports: (p.spec?.containers ?? []).flatMap((c) =>
              (c.ports ?? []).map((port) => ({ name: port.name ?? "", port: port.containerPort })),
            ),
          }));
      } catch (err) {
        throw apiFailure(kc, `listing the pods of ${namespace} (${labelSelector})`, err);
      }
    },
  };
};
