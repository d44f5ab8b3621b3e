// kubectl switchboard: the kubectl plugin (installed as kubectl-switchboard by cli/install.sh).
// Reads the environment once, stops on Ctrl-C or SIGTERM, and exits with the command's code.
import { runCli } from "./commands/index.ts";

const controller = new AbortController();
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => controller.abort());
const code = await runCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: { ...process.env },
  signal: controller.signal,
});
// Wait for stdout to drain (a pipe), then exit: sockets of client libraries may stay open.
process.stdout.write("", () => process.exit(code));
