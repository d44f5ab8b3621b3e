// A paced CloudEvents load generator: POSTs binary-mode events at a fixed rate for a fixed time
// over keep-alive connections and prints one JSON line of what came back (statuses, errors,
// latency percentiles, and with --ids the ids that were accepted with 202). Self-contained (Node's
// built-ins only) so the same file runs on the host against a Service's ClusterIP and inside a pod
// (mounted from a ConfigMap) against an injected gateway on 127.0.0.1.
//
//   node loadgen.ts --url http://10.96.0.20/ --rate 2000 --seconds 20 [--token T] [--type T]
//                   [--prefix ID] [--connections 64] [--max-inflight 4096] [--ids]
import { Agent, request } from "node:http";
import { parseArgs } from "node:util";

export interface LoadSummary {
  readonly rate: number;
  readonly seconds: number;
  readonly sent: number;
  /** Requests not sent because --max-inflight requests were already outstanding. */
  readonly skipped: number;
  readonly accepted: number;
  /** Count per HTTP status, and per error code for requests that got no answer. */
  readonly statuses: Record<string, number>;
  readonly errors: Record<string, number>;
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly elapsedMs: number;
  /** The accepted ids (with --ids). */
  readonly ids?: string[];
}

export interface LoadOptions {
  readonly url: string;
  readonly rate: number;
  readonly seconds: number;
  readonly token?: string | undefined;
  readonly type?: string;
  readonly prefix?: string;
  readonly connections?: number;
  readonly maxInflight?: number;
  readonly listIds?: boolean;
}

const TICK_MS = 10;

const percentile = (sorted: readonly number[], p: number): number =>
  sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0);

const round = (ms: number): number => Math.round(ms * 10) / 10;

/** Sends `rate` events per second for `seconds` and resolves with what came back; never rejects on a failed request (it is counted). */
export const runLoad = async ({
  url,
  rate,
  seconds,
  token,
  type = "com.example.load",
  prefix = `load-${process.pid}`,
  connections = 64,
  maxInflight = 4096,
  listIds = false,
}: LoadOptions): Promise<LoadSummary> => {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const target = new URL(url);
  const statuses: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const latencies: number[] = [];
  const ids: string[] = [];
  const total = Math.round(rate * seconds);
  let sent = 0;
  let skipped = 0;
  let inflight = 0;
  const body = JSON.stringify({ amount: 1 });
  const done = Promise.withResolvers<void>();
  const settle = (): void => {
    inflight--;
    if (sent + skipped === total && inflight === 0) done.resolve();
  };
  const send = (id: string): void => {
    const started = performance.now();
    inflight++;
    const req = request(
      target,
      {
        method: "POST",
        agent,
        headers: {
          "ce-specversion": "1.0",
          "ce-id": id,
          "ce-source": "/loadgen",
          "ce-type": type,
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
      },
      (res) => {
        res.resume();
        res.on("end", () => {
          const status = String(res.statusCode);
          statuses[status] = (statuses[status] ?? 0) + 1;
          latencies.push(performance.now() - started);
          if (res.statusCode === 202 && listIds) ids.push(id);
          settle();
        });
      },
    );
    req.on("error", (err: NodeJS.ErrnoException) => {
      const code = err.code ?? err.message;
      errors[code] = (errors[code] ?? 0) + 1;
      settle();
    });
    req.end(body);
  };
  const start = performance.now();
  const timer = setInterval(() => {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
    while (sent + skipped < due) {
      const i = sent + skipped;
      if (inflight >= maxInflight) skipped++;
      else {
        sent++;
        send(`${prefix}-${i}`);
      }
    }
    if (sent + skipped === total) {
      clearInterval(timer);
      if (inflight === 0) done.resolve();
    }
  }, TICK_MS);
  await done.promise;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    rate,
    seconds,
    sent,
    skipped,
    accepted: statuses["202"] ?? 0,
    statuses,
    errors,
    latencyMs: {
      p50: round(percentile(latencies, 0.5)),
      p99: round(percentile(latencies, 0.99)),
      max: round(latencies.at(-1) ?? 0),
    },
    elapsedMs: Math.round(performance.now() - start),
    ...(listIds ? { ids } : {}),
  };
};

const main = async (): Promise<void> => {
  const { values } = parseArgs({
    options: {
      url: { type: "string" },
      rate: { type: "string", default: "1000" },
      seconds: { type: "string", default: "10" },
      token: { type: "string" },
      type: { type: "string", default: "com.example.load" },
      prefix: { type: "string", default: `load-${process.pid}` },
      connections: { type: "string", default: "64" },
      "max-inflight": { type: "string", default: "4096" },
      ids: { type: "boolean", default: false },
    },
  });
  if (values.url === undefined) throw new Error("--url is required");
  const summary = await runLoad({
    url: values.url,
    rate: Number(values.rate),
    seconds: Number(values.seconds),
    token: values.token,
    type: values.type,
    prefix: values.prefix,
    connections: Number(values.connections),
    maxInflight: Number(values["max-inflight"]),
    listIds: values.ids,
  });
  process.stdout.write(`${JSON.stringify(summary)}\n`);
};

if (import.meta.main) {
  main().catch((err: unknown) => {
    process.stderr.write(`loadgen: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
