// admission.k8s.io/v1 AdmissionReview in and out: validates what the API server sends (the edge),
// asks the planner, and phrases its answer. Pure; the HTTP server around it is server.ts.
import * as v from "valibot";
import {
  type AdmissionReviewResponse,
  admissionRequest,
  allow,
  BadReview,
  deny,
  issue,
} from "./admission.ts";
import { type InjectorSettings, type PodView, planInjection } from "./plan.ts";

const ports = v.optional(v.array(v.object({ containerPort: v.number(), name: v.optional(v.string()) })));
const container = v.object({ name: v.string(), ports });

const podSchema = v.object({
  metadata: v.optional(
    v.object({
      annotations: v.optional(v.record(v.string(), v.string())),
      labels: v.optional(v.record(v.string(), v.string())),
    }),
  ),
  spec: v.object({
    containers: v.array(container),
    initContainers: v.optional(v.array(container)),
    volumes: v.optional(v.array(v.object({ name: v.string() }))),
    hostNetwork: v.optional(v.boolean()),
    terminationGracePeriodSeconds: v.optional(v.number()),
  }),
});

export type Outcome = "injected" | "skipped" | "denied";

export interface Reviewed {
  readonly review: AdmissionReviewResponse;
  readonly outcome: Outcome;
  /** Why it was skipped or denied; for logs. */
  readonly detail: string | undefined;
  /** namespace/name (or generateName) of the pod, for logs. */
  readonly pod: string;
}

/** The PodView of a pod object; throws BadReview when it is not a pod. */
export const podView = (object: unknown): PodView => {
  const parsed = v.safeParse(podSchema, object);
  if (!parsed.success) throw new BadReview(`request.object is not a Pod: ${issue(parsed.issues)}`);
  const { metadata, spec } = parsed.output;
  const view = (c: v.InferOutput<typeof container>) => ({ name: c.name, ports: c.ports ?? [] });
  return {
    annotations: metadata?.annotations ?? {},
    hasLabels: metadata?.labels !== undefined,
    containers: spec.containers.map(view),
    initContainers: (spec.initContainers ?? []).map(view),
    volumeNames: spec.volumes?.map((volume) => volume.name),
    hostNetwork: spec.hostNetwork ?? false,
    terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds,
  };
};

const podName = (object: unknown, namespace: string | undefined, name: string | undefined): string => {
  const meta =
    typeof object === "object" && object !== null && "metadata" in object ? object.metadata : undefined;
  const generate =
    typeof meta === "object" &&
    meta !== null &&
    "generateName" in meta &&
    typeof meta.generateName === "string"
      ? `${meta.generateName}*`
      : undefined;
  return `${namespace ?? ""}/${name || generate || "?"}`;
};

/** Answers one AdmissionReview (parsed JSON); throws BadReview when the body is not one. */
export const reviewAdmission = (body: unknown, settings: InjectorSettings): Reviewed => {
  const { uid, resource, subResource, operation, namespace, name, object } = admissionRequest(body);
  const pod = podName(object, namespace, name);
  const isPodCreate =
    resource.group === "" && resource.resource === "pods" && !subResource && operation === "CREATE";
  if (!isPodCreate) {
    const detail = `not a pod CREATE (${resource.resource}${subResource ? `/${subResource}` : ""} ${operation})`;
    return { review: allow(uid), outcome: "skipped", detail, pod };
  }
  const plan = planInjection(podView(object), settings);
  switch (plan.action) {
    case "skip":
      return { review: allow(uid), outcome: "skipped", detail: plan.reason, pod };
    case "deny":
      return { review: deny(uid, plan.message), outcome: "denied", detail: plan.message, pod };
    case "inject": {
      const patch = Buffer.from(JSON.stringify(plan.patch)).toString("base64");
      return {
        review: allow(uid, { patch, warnings: plan.warnings }),
        outcome: "injected",
        detail: undefined,
        pod,
      };
    }
  }
};
