// The product's main path on the local node (e2e/node.ts): both images built with `npm run
// image`'s builder and imported into the node's containerd, an etcd image from the bootstrap's
// etcd (quay.io cannot be reached here), then every scenario of e2e/scenarios/ in order — the
// chart installed, examples/ with real function pods, sidecar injection, memory limits under
// load, helm upgrade and rollback, a rolling restart. Needs root; takes the machine's node lock.
//
// SWITCHBOARD_LOAD_RATE and SWITCHBOARD_LOAD_SECONDS change the memory scenario's paced load
// (2000 ev/s for 20 s by default).
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { get } from "../helm/chart-kit.ts";
import { buildImage } from "../scripts/image/image.ts";
import { type ClusterWithNode, startCluster } from "./cluster.ts";
import { BUSYBOX_IMAGE, busyboxImage } from "./node/busybox.ts";
import { ETCD_REPOSITORY, etcdImage, etcdVersion } from "./node/etcd-image.ts";
import { writeImageTarball } from "./node/image.ts";
import { NATS_REPOSITORY, natsImage, natsVersion } from "./node/nats-image.ts";
import { kubectl, type ScenarioEnv, type ScenarioImages } from "./scenarios/env.ts";
import { scenariosFor } from "./scenarios/index.ts";
import { GATEWAY, NAMESPACE } from "./scenarios/install.ts";
import { repoRoot, toolPath } from "./tools.ts";

mkdirSync(join(repoRoot, ".work"), { recursive: true });
const dir = mkdtempSync(join(repoRoot, ".work", "chart-node-"));
let cluster: ClusterWithNode | undefined;
let images: ScenarioImages | undefined;
const notes: string[] = [];

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

before(async () => {
  const up = performance.now();
  cluster = await startCluster({ dir, name: "chart", node: true });
  notes.push(`cluster up --node → Node Ready: ${Math.round(performance.now() - up)} ms`);
  const node = cluster.localNode;
  const [switchboard, echo] = [await buildImage(), await buildImage({ kind: "echo" })];
  for (const built of [switchboard, echo]) {
    notes.push(
      `image ${built.name}: built in ${built.seconds.toFixed(1)} s, ${mb(built.compressedSize)} compressed, ${mb(built.uncompressedSize)} uncompressed`,
    );
    const imported = performance.now();
    await node.importArchive(built.file);
    notes.push(`imported ${built.name} in ${Math.round(performance.now() - imported)} ms`);
  }
  await node.importArchive(await writeImageTarball(etcdImage(), join(dir, "etcd-image.tar")));
  await node.importArchive(await writeImageTarball(natsImage(), join(dir, "nats-image.tar")));
  await node.importImage(await busyboxImage());
  const ref = (name: string) => ({
    repository: name.slice(0, name.lastIndexOf(":")),
    tag: name.slice(name.lastIndexOf(":") + 1),
  });
  images = {
    switchboard: ref(switchboard.name),
    echo: echo.name,
    busybox: BUSYBOX_IMAGE,
    etcd: { repository: ETCD_REPOSITORY, tag: etcdVersion() },
    nats: { repository: NATS_REPOSITORY, tag: natsVersion() },
  };
});

after(async () => {
  for (const line of notes) console.log(`# ${line}`);
  await cluster?.stop();
  if (process.exitCode === undefined || process.exitCode === 0) rmSync(dir, { recursive: true, force: true });
  else console.error(`logs kept in ${dir}`);
});

const envFor = (note: (line: string) => void): ScenarioEnv => {
  if (!cluster || !images) throw new Error("the node and the images are not ready");
  const c = cluster;
  const env: ScenarioEnv = {
    where: "node",
    clusterName: "local",
    images,
    kubectlArgv: [toolPath("kubectl"), "--kubeconfig", c.kubeconfig],
    helmArgv: [toolPath("helm"), "--kubeconfig", c.kubeconfig],
    load: {
      rate: Number(process.env.SWITCHBOARD_LOAD_RATE ?? "2000"),
      seconds: Number(process.env.SWITCHBOARD_LOAD_SECONDS ?? "20"),
    },
    // The node routes the Service range from the host: the ClusterIP is reachable from here.
    gatewayUrl: async () => {
      const ip = await kubectl(env, [
        "-n",
        NAMESPACE,
        "get",
        "service",
        GATEWAY,
        "-o",
        "jsonpath={.spec.clusterIP}",
      ]);
      return `http://${ip.trim()}/`;
    },
    note: (line) => {
      notes.push(line);
      note(line);
    },
    node: {
      containerRef: async (namespace, pod, container) => {
        const p: unknown = JSON.parse(await kubectl(env, ["-n", namespace, "get", "pod", pod, "-o", "json"]));
        const statuses = get(p, "status", "containerStatuses");
        const status = Array.isArray(statuses)
          ? statuses.find((s) => get(s, "name") === container)
          : undefined;
        const containerId = get(status, "containerID");
        assert.equal(typeof containerId, "string", `${namespace}/${pod} has a container ${container}`);
        return {
          podUid: String(get(p, "metadata", "uid")),
          qosClass: String(get(p, "status", "qosClass")),
          containerId: String(containerId),
        };
      },
    },
  };
  return env;
};

let failed: string | undefined;
for (const scenario of scenariosFor("node")) {
  test(`${scenario.name}: ${scenario.summary}`, async (t) => {
    // Each scenario builds on the ones before it.
    if (failed !== undefined) return t.skip(`${failed} failed`);
    failed = scenario.name;
    const started = performance.now();
    await scenario.run(envFor((line) => t.diagnostic(line)));
    failed = undefined;
    t.diagnostic(`${scenario.name}: ${Math.round(performance.now() - started)} ms`);
  });
}
