// What the Switchboard image holds and how its containers run, in one place: `npm run image`
// builds it from this, and helm/dockerfile.test.ts holds the Dockerfile to the same values
// (docs/install.md, "The image"). The chart and the injector name the same program paths.

/** The application directory (WORKDIR) and what it holds: the compiled programs and what they load. */
export const APP_DIR = "/app";
export const APP_CONTENTS = ["dist", "node_modules", "package.json"] as const;
/** The runtime user and group (the chart's runAsUser/runAsGroup). */
export const UID = 10001;
export const GID = 10001;
export const USER_NAME = "switchboard";
/** Where Node goes in the image (on PATH). */
export const NODE_PATH = "usr/local/bin/node";
export const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The compiled programs (tsconfig.build.json), relative to APP_DIR, and the sources they come from. */
export const PROGRAMS = {
  operator: { path: "dist/operator/main.js", source: "operator/main.ts" },
  gateway: { path: "dist/sidecar/main.js", source: "sidecar/main.ts" },
} as const;

/**
 * `node` with stack traces mapped to the TypeScript lines, and V8's old generation sized from the
 * container's memory limit (Node reads the cgroup's limit; on a host without one, its memory). Left
 * alone, Node 24 gives V8 a heap limit of about 259 MiB in a container of 128, 192 or 512 MiB (4 GiB on a 24 GiB
 * host), so in a 128–192 MiB container the kernel's OOM killer would act before V8 collects in
 * earnest. Half the limit leaves the other half to Node itself, sockets and request bodies
 * (external memory, bounded by --max-inflight-bytes). With an old generation that small, V8 keeps
 * its young generation at 1 MiB per semi-space and scavenges every few dozen requests: the gateway
 * served 0.55× the requests per second in a 128 MiB cgroup that it served without a limit
 * (bench/sync-hop.ts --limit-mib 0; docs/benchmarks.md). 4 MiB semi-spaces got back most of it
 * for 8 MiB more under load; 8 MiB semi-spaces were OOM-killed in 128 MiB with the async queue
 * full (sidecar/delivery/queue-memory.int.test.ts). The program is the CMD (default the operator).
 */
export const ENTRYPOINT = [
  "node",
  "--enable-source-maps",
  "--max-old-space-size-percentage=50",
  "--max-semi-space-size=4",
];
export const CMD = [PROGRAMS.operator.path];
/**
 * Node flags the gateway's containers add before its path (the chart's args, the injector's, and
 * every test that starts it). `--single-threaded-gc`: a sidecar gets a core or less, so V8's
 * helper threads for concurrent marking and parallel scavenges do not run beside the gateway
 * but take the core from it in slices of milliseconds. Measured with bench/sync-hop.ts
 * (gateway alone on one core, 128 MiB cgroup, two runs each, alternating): added p99 at 1000
 * requests/s 15.0 and 20.0 ms without, 3.2 and 4.1 ms with; closed loop 8021 and 8399 req/s
 * without, 8673 and 9022 with; CPU per request and working set at 1000/s no worse.
 * `--expose-gc`: the gateway collects once when it goes quiet after a burst (--idle-reclaim,
 * common/idle-reclaim.ts); V8 alone kept the burst's heap for as long as the gateway stayed idle.
 */
export const GATEWAY_NODE_FLAGS: readonly string[] = ["--single-threaded-gc", "--expose-gc"];
/**
 * The programs' environment. MALLOC_ARENA_MAX=2: glibc gives each thread that allocates (V8's
 * and libuv's workers) its own malloc arena, and memory freed in one is not reused by another nor
 * returned to the system while a live block sits above it. With the async queue full of 16 KiB
 * events in a 128 MiB cgroup, the gateway's anonymous memory peaked at 103 MiB while the queue
 * drained with the default arenas, 96.5 MiB with two (compiled gateway,
 * sidecar/delivery/queue-memory.int.test.ts), with V8's heap and external memory the same.
 * jemalloc, preloaded, returned more after a burst but held 10–15 MiB more with that queue full
 * (docs/benchmarks.md, "The allocator"): glibc's malloc stays.
 * Not MALLOC_MMAP_THRESHOLD_=32768: it gave blocks of 32 KiB and more pages of their own, so V8's
 * compiler zones no longer stayed held in the arenas (working set at 1000/s 38.5–46.2 MiB against
 * 52.8–58.0), but every such block then costs an mmap, page faults and an munmap: a gateway's
 * first load of 20 000 subscriptions took 3.0–3.1 s against 1.7 (bench/resync.ts
 * --subscriptions 20000, two runs each), of 100 000 14.2 s against 7.2 (docs/benchmarks.md).
 */
export const ENV: Readonly<Record<string, string>> = {
  NODE_ENV: "production",
  MALLOC_ARENA_MAX: "2",
};
/** Operator metrics 8080; gateway ingress 8080 and admin 9090 (set by flags). */
export const PORTS = [8080, 9090];

/**
 * What is left out of the production node_modules: type declarations, sources, source maps and
 * docs (nothing needs them at run time, and without the maps --enable-source-maps loads none for the
 * dependencies), and the `.bin`
 * folders of command links. Suffixes of file names, and folder names.
 */
export const PRUNED_SUFFIXES = [".ts", ".mts", ".cts", ".map", ".md"];
export const PRUNED_DIRS = [".bin"];

/** Whether the production node_modules path `path` (relative to APP_DIR) is left out of the image. */
export const pruned = (path: string): boolean =>
  path.split("/").some((part) => PRUNED_DIRS.includes(part)) ||
  PRUNED_SUFFIXES.some((suffix) => path.endsWith(suffix));

/** The echo function image (e2e/fixtures/echo-server.ts, compiled by tsconfig.function.json). */
export const ECHO = {
  repository: "docker.io/library/switchboard-echo",
  program: "echo-server.js",
  env: { NODE_ENV: "production", HOST: "0.0.0.0", PORT: "8080" },
  port: 8080,
} as const;

export const REPOSITORY = "docker.io/library/switchboard";
