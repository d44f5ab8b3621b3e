// The pod annotations that ask for and tune the injected gateway, read without I/O: each value is
// checked here so a bad one refuses the pod with a message naming the annotation, instead of an
// API-server error about a container the user never wrote.

export const ANNOTATION_PREFIX = "switchboard.dev/";

export const ANNOTATIONS = {
  inject: "switchboard.dev/inject",
  port: "switchboard.dev/port",
  metricsPort: "switchboard.dev/metrics-port",
  cpu: "switchboard.dev/cpu",
  memory: "switchboard.dev/memory",
  durability: "switchboard.dev/durability",
  logLevel: "switchboard.dev/log-level",
} as const;

/** The smallest memory the gateway runs in (Node's heap plus its bounded queue). */
export const MIN_MEMORY_BYTES = 64 * 1024 * 1024;

/** Per-pod settings of the injected gateway, with the operator's defaults filled in. */
export interface SidecarOptions {
  readonly port: number;
  readonly metricsPort: number;
  readonly cpu: string;
  readonly memory: string;
  readonly memoryBytes: number;
  /** fsync or none: a durable log on an emptyDir; undefined: memory only. */
  readonly durability: "fsync" | "none" | undefined;
  readonly logLevel: "debug" | "info" | "warn" | "error";
}

export interface SidecarDefaults {
  readonly port: number;
  readonly metricsPort: number;
  readonly cpu: string;
  readonly memory: string;
}

export type InjectRequest = "inject" | "no" | { readonly invalid: string };

/** Whether the annotations ask for injection; an unknown value is `invalid` with the message to refuse with. */
export const injectRequested = (annotations: Readonly<Record<string, string>>): InjectRequest => {
  const value = annotations[ANNOTATIONS.inject];
  if (value === undefined || value === "false") return "no";
  if (value === "true") return "inject";
  return { invalid: `${ANNOTATIONS.inject}: ${JSON.stringify(value)} must be "true" or "false"` };
};

const QUANTITY = /^([0-9]+(?:\.[0-9]+)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$/;
const FACTORS: Readonly<Record<string, number>> = {
  "": 1,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/** The value of a Kubernetes quantity ("250m" → 0.25, "128Mi" → 134217728), or undefined when malformed. */
export const quantityValue = (quantity: string): number | undefined => {
  const m = QUANTITY.exec(quantity);
  if (!m) return undefined;
  const suffix = m[2] ?? "";
  const factor = /^[eE]/.test(suffix) ? 10 ** Number(suffix.slice(1)) : FACTORS[suffix];
  return factor === undefined ? undefined : Number(m[1]) * factor;
};

/** Checks a CPU quantity; returns the problem or undefined. */
export const cpuProblem = (value: string): string | undefined => {
  const n = quantityValue(value);
  return n === undefined || n <= 0
    ? `${JSON.stringify(value)} is not a positive CPU quantity (e.g. 100m)`
    : undefined;
};

/** Checks a memory quantity (at least MIN_MEMORY_BYTES); returns the problem or undefined. */
export const memoryProblem = (value: string): string | undefined => {
  const n = quantityValue(value);
  if (n === undefined || n <= 0) return `${JSON.stringify(value)} is not a memory quantity (e.g. 192Mi)`;
  if (n < MIN_MEMORY_BYTES) return `${JSON.stringify(value)} is below the gateway's minimum of 64Mi`;
  return undefined;
};

const portOf = (value: string | undefined, fallback: number): number | string => {
  if (value === undefined) return fallback;
  const n = Number(value);
  return /^[0-9]{1,5}$/.test(value) && n >= 1 && n <= 65535
    ? n
    : `${JSON.stringify(value)} is not a port number from 1 to 65535`;
};

/**
 * The sidecar options of a pod that asked for injection, or every problem found (one line each,
 * naming the annotation). Pure; never throws.
 */
export const sidecarOptions = (
  annotations: Readonly<Record<string, string>>,
  defaults: SidecarDefaults,
): { options: SidecarOptions } | { problems: string[] } => {
  const problems: string[] = [];
  const problem = (annotation: string, message: string | undefined): void => {
    if (message !== undefined) problems.push(`${annotation}: ${message}`);
  };
  const port = portOf(annotations[ANNOTATIONS.port], defaults.port);
  const metricsPort = portOf(annotations[ANNOTATIONS.metricsPort], defaults.metricsPort);
  if (typeof port === "string") problem(ANNOTATIONS.port, port);
  if (typeof metricsPort === "string") problem(ANNOTATIONS.metricsPort, metricsPort);
  if (port === metricsPort)
    problem(ANNOTATIONS.port, `${port} is also the metrics port; set ${ANNOTATIONS.metricsPort} to another`);
  const cpu = annotations[ANNOTATIONS.cpu] ?? defaults.cpu;
  problem(ANNOTATIONS.cpu, cpuProblem(cpu));
  const memory = annotations[ANNOTATIONS.memory] ?? defaults.memory;
  problem(ANNOTATIONS.memory, memoryProblem(memory));
  const durability = annotations[ANNOTATIONS.durability];
  if (durability !== undefined && durability !== "fsync" && durability !== "none")
    problem(ANNOTATIONS.durability, `${JSON.stringify(durability)} must be "fsync" or "none"`);
  const logLevel = annotations[ANNOTATIONS.logLevel] ?? "info";
  if (logLevel !== "debug" && logLevel !== "info" && logLevel !== "warn" && logLevel !== "error")
    problem(ANNOTATIONS.logLevel, `${JSON.stringify(logLevel)} must be debug, info, warn or error`);
  if (problems.length > 0 || typeof port === "string" || typeof metricsPort === "string") return { problems };
  return {
    options: {
      port,
      metricsPort,
      cpu,
      memory,
      memoryBytes: quantityValue(memory) ?? MIN_MEMORY_BYTES,
      durability: durability === "fsync" || durability === "none" ? durability : undefined,
      logLevel: logLevel === "debug" || logLevel === "warn" || logLevel === "error" ? logLevel : "info",
    },
  };
};

/** Annotations under switchboard.dev/ that this webhook does not know (likely typos), sorted. */
export const unknownAnnotations = (annotations: Readonly<Record<string, string>>): string[] => {
  const known = new Set<string>(Object.values(ANNOTATIONS));
  return Object.keys(annotations)
    .filter((k) => k.startsWith(ANNOTATION_PREFIX) && !known.has(k))
    .sort();
};
