// What e2e/kind.ts does, as data: the commands that create the kind cluster, build the images and
// load them into it, and the scenarios it then runs — the same list the local node's test runs
// (e2e/scenarios/index.ts), minus those that need the node. Pure: nothing here runs a command, so
// the plan can be printed (--dry-run) and tested.

import type { ScenarioImages } from "./scenarios/env.ts";
import { type Scenario, scenariosFor } from "./scenarios/index.ts";
import { installArgs, NAMESPACE, RELEASE } from "./scenarios/install.ts";
import { repoRoot } from "./tools.ts";

export interface KindOptions {
  /** The kind cluster's name; kubectl and helm use its context `kind-<cluster>`. */
  cluster: string;
  /** The image built from the repository's Dockerfile, as repository and tag. */
  repository: string;
  tag: string;
  /** The echo function image (`npm run image -- --function`): its reference and archive. */
  echo: { image: string; archive: string };
  /** The local port forwarded to the gateway Service's publishers' port. */
  port: number;
  kubectl: string;
  helm: string;
}

/** One command line; `input` goes to its stdin. */
export interface Command {
  argv: string[];
  input?: string;
}

export interface KindPlan {
  readonly images: ScenarioImages;
  /** Creates the cluster (skipped when a cluster of that name exists). */
  readonly create: Command;
  /** Builds the Switchboard image and loads both images into the cluster. */
  readonly load: Command[];
  /** kubectl and helm with the kind context: the command and its leading arguments. */
  readonly kubectlArgv: string[];
  readonly helmArgv: string[];
  /** The install scenario's helm command, for the dry run. */
  readonly install: Command;
  readonly scenarios: Scenario[];
  /** Runs in the background while scenarios publish through it. */
  readonly portForward: Command;
  readonly deleteCluster: Command;
}

export { NAMESPACE, RELEASE };
/** busybox from Docker Hub (the local node builds its own). */
export const BUSYBOX = "busybox:1.36";

/** The whole run for `options`. */
export const kindPlan = (o: KindOptions): KindPlan => {
  const image = `${o.repository}:${o.tag}`;
  const context = `kind-${o.cluster}`;
  const kubectlArgv = [o.kubectl, "--context", context];
  const helmArgv = [o.helm, "--kube-context", context];
  const images: ScenarioImages = {
    switchboard: { repository: o.repository, tag: o.tag },
    echo: o.echo.image,
    busybox: BUSYBOX,
  };
  return {
    images,
    create: { argv: ["kind", "create", "cluster", "--name", o.cluster, "--wait", "120s"] },
    load: [
      { argv: ["docker", "build", "-t", image, repoRoot] },
      { argv: ["kind", "load", "docker-image", image, "--name", o.cluster] },
      { argv: ["kind", "load", "image-archive", o.echo.archive, "--name", o.cluster] },
    ],
    kubectlArgv,
    helmArgv,
    install: { argv: [...helmArgv, ...installArgs(o.cluster, images)] },
    scenarios: scenariosFor("kind"),
    portForward: {
      argv: [...kubectlArgv, "-n", NAMESPACE, "port-forward", `service/${RELEASE}-gateway`, `${o.port}:80`],
    },
    deleteCluster: { argv: ["kind", "delete", "cluster", "--name", o.cluster] },
  };
};
