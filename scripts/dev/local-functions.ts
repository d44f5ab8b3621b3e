// Local functions: for each Service a Function targets, dev mode runs the echo function
// (e2e/fixtures/echo-server.ts: logs each request, answers 200 with what it got) as a simulated
// pod (e2e/pods.ts) in its own network namespace at a real 10.213.x.y address, labelled with the
// Service's selector, so the Service's EndpointSlices, the operator and the gateway work exactly as
// in a cluster. Network namespaces need root; without it dev mode says so and runs none.
import { readFileSync, unwatchFile, watchFile } from "node:fs";
import { ApiException, CoreV1Api, type V1Service } from "@kubernetes/client-node";
import { errorMessage } from "../../common/errors.ts";
import type { Cluster } from "../../e2e/cluster.ts";
import { type SimulatedPod, startPod } from "../../e2e/pods.ts";

/** What a Function asks of a Service: its port (number or name) on the Service. */
export interface ServiceWant {
  readonly port: number | string;
}

/** A running local function. */
interface Running {
  readonly key: string;
  readonly pod: SimulatedPod;
  readonly log: string;
}

export interface LocalFunctions {
  /**
   * Runs one local function for each Service of `wanted` ("NS/NAME"), restarting it when the
   * Service's selector or target port changed, and stops the others. Returns one line per
   * Service saying where its function listens or why there is none; never throws.
   */
  reconcile(wanted: ReadonlyMap<string, ServiceWant>): Promise<Map<string, string>>;
  /** Stops every local function (Pod object, process, network namespace). */
  stop(): Promise<void>;
}

export interface LocalFunctionsOptions {
  cluster: Cluster;
  /** Called with the Service ("NS/NAME") and one line per request its function receives. */
  onRequest: (service: string, line: string) => void;
  /** Whether network namespaces can be made (root); default: the effective uid is 0. */
  canRun?: boolean;
}

const podName = (service: string): string => `${service.slice(0, 50)}-dev-echo`;

/** The port the function must listen on for `want`, or why there is none. */
const targetPort = (svc: V1Service, id: string, want: ServiceWant): number | string => {
  const port = (svc.spec?.ports ?? []).find((p) =>
    typeof want.port === "number" ? p.port === want.port : p.name === want.port,
  );
  if (!port) return `Service ${id} has no port ${want.port}`;
  const target = port.targetPort ?? port.port;
  if (typeof target === "number") return target;
  if (/^\d+$/.test(target)) return Number(target);
  return `Service ${id} port ${want.port} has a named targetPort (${target}); give --service ${id}=URL`;
};

/** One line for a request the echo function logged, or undefined for its other lines. */
export const requestLine = (json: string): string | undefined => {
  let entry: unknown;
  try {
    entry = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof entry !== "object" || entry === null || !("msg" in entry) || entry.msg !== "request")
    return undefined;
  const fields = Object.entries(entry).filter(([k]) => k.startsWith("ce-") || k === "body");
  const method = "method" in entry ? String(entry.method) : "";
  const path = "path" in entry ? String(entry.path) : "";
  return [`${method} ${path}`, ...fields.map(([k, v]) => `${k}=${String(v)}`)].join(" ");
};

/** The local functions of one dev-mode run; nothing starts until reconcile(). */
export const localFunctions = ({
  cluster,
  onRequest,
  canRun = process.getuid?.() === 0,
}: LocalFunctionsOptions): LocalFunctions => {
  const core = cluster.kubeConfig().makeApiClient(CoreV1Api);
  const running = new Map<string, Running>();

  const stopOne = async (service: string): Promise<void> => {
    const r = running.get(service);
    if (!r) return;
    running.delete(service);
    unwatchFile(r.log);
    await r.pod.stop();
  };

  /** Shows the requests logged from now on (not startPod's own probe before). */
  const follow = (service: string, log: string): void => {
    let seen = readFileSync(log, "utf8").split("\n").filter(Boolean).length;
    watchFile(log, { interval: 250 }, () => {
      const lines = readFileSync(log, "utf8").split("\n").filter(Boolean);
      for (const line of lines.slice(seen)) {
        const text = requestLine(line);
        if (text) onRequest(service, text);
      }
      seen = lines.length;
    });
  };

  const ensure = async (service: string, want: ServiceWant): Promise<string> => {
    const [namespace = "", name = ""] = service.split("/");
    let svc: V1Service;
    try {
      svc = await core.readNamespacedService({ namespace, name });
    } catch (err) {
      await stopOne(service);
      if (err instanceof ApiException && err.code === 404)
        return `Service ${service} not found: no local function`;
      throw err;
    }
    const selector = svc.spec?.selector ?? {};
    if (Object.keys(selector).length === 0) {
      await stopOne(service);
      return `Service ${service} has no selector, so no pod can back it; give --service ${service}=URL`;
    }
    const port = targetPort(svc, service, want);
    if (typeof port === "string") {
      await stopOne(service);
      return port;
    }
    const key = JSON.stringify({ selector, port });
    const current = running.get(service);
    if (current?.key !== key) {
      await stopOne(service);
      if (!canRun)
        return `no local function for Service ${service}: it runs in a network namespace, which needs root; run dev mode as root, or give --service ${service}=URL of a function you run`;
      const pod = await startPod(cluster, { namespace, name: podName(name), labels: selector, port });
      running.set(service, { key, pod, log: pod.proc.log });
      follow(service, pod.proc.log);
    }
    const pod = running.get(service)?.pod;
    return `local function for Service ${service}: pod ${namespace}/${pod?.name} at ${pod?.url} (echo: logs each request below, answers 200 with what it received)`;
  };

  return {
    reconcile: async (wanted) => {
      const notes = new Map<string, string>();
      for (const service of [...running.keys()]) if (!wanted.has(service)) await stopOne(service);
      for (const [service, want] of wanted) {
        try {
          notes.set(service, await ensure(service, want));
        } catch (err) {
          notes.set(service, `no local function for Service ${service}: ${errorMessage(err)}`);
        }
      }
      return notes;
    },
    stop: async () => {
      for (const service of [...running.keys()]) await stopOne(service).catch(() => {});
    },
  };
};
