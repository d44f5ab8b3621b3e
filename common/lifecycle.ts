// Long-lived parts as runners: `(signal) => Promise<void>`. The first to fail, or SIGTERM/SIGINT,
// aborts the rest; shutdown has one grace period. Signals are handled here, called from main only.

import { errorMessage } from "./errors.ts";
import type { Logger } from "./log.ts";

export type Runner = (signal: AbortSignal) => Promise<void>;

/** Runs all runners until a signal or the first failure; resolves with the process exit code. */
export const runAll = async (
  runners: Record<string, Runner>,
  log: Logger,
  graceMs = 30_000,
): Promise<number> => {
  const abort = new AbortController();
  let code = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    log.info({ signal }, "shutting down");
    abort.abort();
  };
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
  const done = Object.entries(runners).map(async ([name, run]) => {
    try {
      await run(abort.signal);
      if (!abort.signal.aborted) {
        log.error({ runner: name }, "stopped unexpectedly");
        code = 1;
      }
    } catch (err) {
      log.error({ runner: name, err: errorMessage(err) }, "failed");
      code = 1;
    } finally {
      abort.abort();
    }
  });
  if (!abort.signal.aborted)
    await new Promise((r) => abort.signal.addEventListener("abort", r, { once: true }));
  const grace = setTimeout(() => {
    log.error({ graceMs }, "shutdown grace period exceeded; exiting");
    process.exit(code || 1);
  }, graceMs);
  grace.unref();
  await Promise.all(done);
  clearTimeout(grace);
  return code;
};
