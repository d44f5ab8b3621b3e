// The source of truth for the Switchboard CRDs (switchboard.dev/v1alpha1): one
// CustomResourceDefinition per kind of types.ts, with OpenAPI v3 structural schemas and CEL
// validation rules. crds/*.yaml is generated from here by `node crds/generate.ts`.
//
//   vpn.ts           VPN (cluster-scoped)
//   function.ts      Function (namespaced)
//   subscription.ts  Subscription (namespaced); filter.ts unrolls its recursive filter
//   kube.ts          metav1.Condition, metav1.LabelSelector, Secret references, status
//   formats.ts       names, URLs, Go durations
//   openapi.ts       the schema type and builders
import type { Crd } from "./crd.ts";
import { functionCrd } from "./function.ts";
import type { Schema } from "./openapi.ts";
import { subscriptionCrd } from "./subscription.ts";
import { vpnCrd } from "./vpn.ts";

export type { Crd, Schema };

/** The three CRDs, in the order they are installed. */
export const crds = (): Crd[] => [vpnCrd(), functionCrd(), subscriptionCrd()];

/** The openAPIV3Schema of the CRD whose kind is `kind`; throws for an unknown kind. */
export const schemaOf = (kind: "VPN" | "Function" | "Subscription"): Schema => {
  const found = crds().find((c) => c.spec.names.kind === kind)?.spec.versions[0]?.schema.openAPIV3Schema;
  if (!found) throw new Error(`no CRD for kind ${kind}`);
  return found;
};
