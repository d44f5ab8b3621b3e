// The operator's writes to the API server: status (merge patch on the status subresource),
// finalizers (merge patch guarded by resourceVersion) and Kubernetes Events, each after a token of
// the write limiter (./limiter.ts).
import {
  type CoreV1Api,
  type CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";
import { errorMessage } from "../../common/errors.ts";
import type { Logger } from "../../common/log.ts";
import { GROUP, VERSION } from "../../crds/types.ts";
import type { WriteLimiter } from "./limiter.ts";

export interface KindInfo {
  kind: "VPN" | "Function" | "Subscription";
  plural: string;
  namespaced: boolean;
}

export interface ObjectIdentity {
  namespace?: string | undefined;
  name?: string | undefined;
  uid?: string | undefined;
  resourceVersion?: string | undefined;
}

export interface KubeWriter {
  /** Merge-patches `.status`; throws the API error (404 when the object is gone). */
  patchStatus(kind: KindInfo, obj: ObjectIdentity, status: object): Promise<void>;
  /** Sets `.metadata.finalizers`, failing with 409 when the object changed since `obj.resourceVersion`. */
  setFinalizers(kind: KindInfo, obj: ObjectIdentity, finalizers: string[]): Promise<void>;
  /** Records a Kubernetes Event about the object; failures are logged, never thrown. */
  event(
    kind: KindInfo,
    obj: ObjectIdentity,
    type: "Normal" | "Warning",
    reason: string,
    message: string,
  ): Promise<void>;
}

const MERGE = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

/** A KubeWriter over client-node's generated clients. */
export const kubeWriter = (
  custom: CustomObjectsApi,
  core: CoreV1Api,
  log: Logger,
  limiter: WriteLimiter,
  component = "switchboard-operator",
): KubeWriter => {
  const patch = async (
    kind: KindInfo,
    obj: ObjectIdentity,
    body: object,
    subresource: "status" | "object",
  ): Promise<unknown> => {
    await limiter.wait();
    const base = { group: GROUP, version: VERSION, plural: kind.plural, name: obj.name ?? "", body };
    if (kind.namespaced) {
      const args = { ...base, namespace: obj.namespace ?? "" };
      return subresource === "status"
        ? custom.patchNamespacedCustomObjectStatus(args, MERGE)
        : custom.patchNamespacedCustomObject(args, MERGE);
    }
    return subresource === "status"
      ? custom.patchClusterCustomObjectStatus(base, MERGE)
      : custom.patchClusterCustomObject(base, MERGE);
  };
  return {
    patchStatus: async (kind, obj, status) => {
      await patch(kind, obj, { status }, "status");
    },
    setFinalizers: async (kind, obj, finalizers) => {
      await patch(kind, obj, { metadata: { finalizers, resourceVersion: obj.resourceVersion } }, "object");
    },
    event: async (kind, obj, type, reason, message) => {
      const namespace = obj.namespace ?? "default";
      const now = new Date();
      try {
        await limiter.wait();
        await core.createNamespacedEvent({
          namespace,
          body: {
            metadata: { generateName: `${obj.name ?? "object"}.`, namespace },
            involvedObject: {
              apiVersion: `${GROUP}/${VERSION}`,
              kind: kind.kind,
              name: obj.name ?? "",
              ...(obj.namespace ? { namespace: obj.namespace } : {}),
              ...(obj.uid ? { uid: obj.uid } : {}),
            },
            type,
            reason,
            message: message.slice(0, 1024),
            source: { component },
            reportingComponent: component,
            firstTimestamp: now,
            lastTimestamp: now,
            count: 1,
          },
        });
      } catch (err) {
        log.warn({ err: errorMessage(err), reason }, "could not record an Event");
      }
    },
  };
};
