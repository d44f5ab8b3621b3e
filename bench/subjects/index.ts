// The proxies the sync-hop benchmark compares, each started the same way: pinned to one core and
// inside a memory cgroup of its own with the same limit (as a pod would be), printing
// {"listening": PORT}. References: a bare node:http + undici forwarder (bench/fixtures), nginx
// (Debian's package, one worker, upstream keepalive) and a minimal Go reverse proxy
// (bench/subjects/goproxy, built here with the machine's Go).
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { MemoryCgroup } from "../../e2e/cgroup.ts";
import { freePort } from "../../e2e/ports.ts";
import { programEnv } from "../../e2e/programs.ts";
import { repoRoot } from "../../e2e/tools.ts";
import { compile, PROJECTS } from "../../scripts/image/compile.ts";
import { ENTRYPOINT } from "../../scripts/image/spec.ts";
import { goBinary, pinned } from "../lib.ts";

export interface Subject {
  readonly name: string;
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

const stopped = async (child: ChildProcess): Promise<void> => {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  await exited;
};

/** Spawns `command` with `prefix` (cgroup, taskset) and waits for its {"listening": PORT} line. */
const listening = async (
  name: string,
  command: string[],
  env: Record<string, string>,
  base: NodeJS.ProcessEnv = process.env,
): Promise<Subject> => {
  const [cmd = "", ...args] = command;
  const child = spawn(cmd, args, { env: { ...base, ...env }, stdio: ["ignore", "pipe", "inherit"] });
  const [line] = (await once(createInterface({ input: child.stdout as NodeJS.ReadableStream }), "line")) as [
    string,
  ];
  const { listening: port } = JSON.parse(line) as { listening: number };
  return { name, port, pid: child.pid ?? 0, stop: () => stopped(child) };
};

/**
 * The function every subject forwards to: `goload serve` (bench/subjects/goload), answering 200
 * with a small JSON body, pinned, outside any cgroup.
 */
export const startBenchFunction = (cores: string): Promise<Subject> =>
  listening("function", [...pinned(cores), goBinary("goload"), "serve"], { PORT: "0" });

/**
 * A bare Node forwarder (bench/fixtures/FIXTURE.ts, compiled to dist/bench/fixtures/FIXTURE.js as
 * the gateway is: run from its .ts source, Node's type stripping alone held 11 MiB more) to
 * `target`, with the image's Node flags and environment (the allocator), and `flags`; not the
 * gateway's own --single-threaded-gc: the floor is a bare forwarder with Node's defaults. Its
 * collector's helper threads run on its one core too, and bench/sync-hop.ts counts their CPU
 * (from /proc); bench/cost.ts's main-thread profiles do not, so their GC row for the forwarder
 * holds only its pauses (docs/benchmarks.md, "GC time, counted").
 */
let fixturesCompiled = false;
const startNodeForwarder =
  (name: string, fixture: string) =>
  (target: string, cores: string, cgroup: MemoryCgroup, flags: readonly string[] = []): Promise<Subject> => {
    const file = join(repoRoot, "dist/bench/fixtures", `${fixture}.js`);
    // Once per bench process (the fixtures do not change while it runs), and again when a build of
    // the programs has since replaced dist/ whole, this folder with it (scripts/image/compile.ts).
    if (!fixturesCompiled || !existsSync(file)) compile(PROJECTS.fixtures);
    fixturesCompiled = true;
    return listening(
      name,
      [...cgroup.prefix, ...pinned(cores), process.execPath, ...ENTRYPOINT.slice(1), ...flags, file],
      { TARGET: target },
      programEnv(),
    );
  };

/** The node:http + undici forwarder. */
export const startForwarder = startNodeForwarder("forwarder", "forwarder");

/** The node:http forwarder (Node's own client). */
export const startHttpForwarder = startNodeForwarder("node:http forwarder", "forwarder-http");

/** The minimal Go reverse proxy to `target` (bench/subjects/goproxy). */
export const startGoProxy = (target: string, cores: string, cgroup: MemoryCgroup): Promise<Subject> =>
  listening("go proxy", [...cgroup.prefix, ...pinned(cores), goBinary("goproxy")], {
    TARGET: target,
    PORT: "0",
  });

/** Where nginx is, installing Debian's package when missing (as root); undefined when it cannot be had. */
export const nginxBinary = (): string | undefined => {
  const found = ["/usr/sbin/nginx", "/usr/bin/nginx"].find((p) => existsSync(p));
  if (found || process.getuid?.() !== 0) return found;
  try {
    execFileSync(
      "sh",
      ["-c", "apt-get update -qq && apt-get install -y -qq --no-install-recommends nginx-light"],
      {
        stdio: "ignore",
        env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      },
    );
  } catch {
    return undefined;
  }
  return ["/usr/sbin/nginx", "/usr/bin/nginx"].find((p) => existsSync(p));
};

/** nginx as a single process (one worker, no master), proxying to `target` with upstream keepalive. */
export const startNginx = async (
  bin: string,
  target: string,
  cores: string,
  cgroup: MemoryCgroup,
): Promise<Subject> => {
  const dir = join(repoRoot, ".work", "bench-nginx");
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const url = new URL(target);
  const conf = join(dir, "nginx.conf");
  writeFileSync(
    conf,
    `daemon off;
master_process off;
worker_processes 1;
pid ${join(dir, "nginx.pid")};
error_log stderr warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream fn { server ${url.host}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://fn${url.pathname};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`,
  );
  const [cmd = "", ...args] = [...cgroup.prefix, ...pinned(cores), bin, "-c", conf];
  const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "inherit"] });
  // nginx prints nothing when it listens: wait until the port answers.
  for (let i = 0; i < 100; i++) {
    const up = await fetch(`http://127.0.0.1:${port}/`, { method: "POST", body: "{}" }).then(
      (r) => r.status,
      () => 0,
    );
    if (up === 200) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { name: "nginx", port, pid: child.pid ?? 0, stop: () => stopped(child) };
};
