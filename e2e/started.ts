// What tests read off a running program: its "started" log line and its /metrics.
import { readFileSync } from "node:fs";
import { GiveUp, type Proc, waitFor } from "./proc.ts";

/** Waits for the JSON log line whose `msg` is `message` (e.g. "gateway started") and returns it; throws at once if the process exits first. */
export const startedLine = async (proc: Proc, message: string): Promise<Record<string, unknown>> => {
  let exited = false;
  void proc.exited.then(() => {
    exited = true;
  });
  return waitFor(`${proc.name}: "${message}"`, async () => {
    if (exited) throw new GiveUp(`${proc.name} exited:\n${proc.tail()}`);
    // This process's lines only: a restart with the same log appends to the last run's.
    for (const line of readFileSync(proc.log).subarray(proc.logFrom).toString("utf8").split("\n")) {
      if (!line.includes(`"msg":"${message}"`)) continue;
      const parsed: unknown = JSON.parse(line);
      if (typeof parsed === "object" && parsed !== null) return { ...parsed };
    }
    return undefined;
  });
};

/**
 * The value of the first sample in `adminUrl`/metrics matching `selector`: a metric name, a name
 * with its whole label set, or a prefix of the label set ending after a label (`name{a="x"`).
 * Undefined when there is none.
 */
export const readMetric = async (adminUrl: string, selector: string): Promise<number | undefined> => {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const line = text
    .split("\n")
    .find((l) => l.startsWith(selector) && /^[ {,]/.test(l.slice(selector.length)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
};
