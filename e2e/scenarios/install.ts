// The release every scenario runs against, the same on the local node and on kind: the chart
// from helm/switchboard with the bundled etcd, the injector on, sealed records (the default), in a
// namespace that enforces Pod Security "restricted".
import { join } from "node:path";
import { stringify } from "yaml";
import { repoRoot } from "../tools.ts";
import type { ScenarioImages } from "./env.ts";

export const RELEASE = "switchboard";
export const NAMESPACE = "switchboard-system";
export const CHART = join(repoRoot, "helm/switchboard");
/** Object names for the release name above (the chart's fullname is the release's when it contains "switchboard"). */
export const OPERATOR = `${RELEASE}-operator`;
export const GATEWAY = `${RELEASE}-gateway`;

/** The release namespace, enforcing (and warning about) Pod Security "restricted". */
export const namespaceManifest = (): string =>
  stringify({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name: NAMESPACE,
      labels: {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
      },
    },
  });

/** The chart values of the scenarios' release, as `--set-string`/`--set` arguments. */
export const releaseValues = (clusterName: string, images: ScenarioImages): string[] => [
  ...["--set-string", `clusterName=${clusterName}`],
  ...["--set", "bundledEtcd.enabled=true", "--set", "injector.enabled=true"],
  ...["--set-string", `image.repository=${images.switchboard.repository}`],
  ...["--set-string", `image.tag=${images.switchboard.tag}`],
  ...["--set-string", "image.pullPolicy=IfNotPresent"],
  ...(images.etcd
    ? [
        ...["--set-string", `bundledEtcd.image.repository=${images.etcd.repository}`],
        ...["--set-string", `bundledEtcd.image.tag=${images.etcd.tag}`],
      ]
    : []),
];

/** `helm upgrade --install` of the release with the scenarios' values, waiting until every pod is Ready (5 minutes at most). */
export const installArgs = (clusterName: string, images: ScenarioImages): string[] => [
  ...["upgrade", "--install", RELEASE, CHART, "--namespace", NAMESPACE],
  ...["--wait", "--timeout", "5m"],
  ...releaseValues(clusterName, images),
];
