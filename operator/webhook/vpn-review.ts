// The VPN namespace-claim check over AdmissionReview (POST /validate/vpn): a VPN create or update
// that newly claims a namespace another VPN holds is refused, naming the namespace and the holder.
// The decision is the planner's (plan/membership.ts refusedClaims) over the operator's informer
// caches. The planner's rule holds without this check (the older claim wins), so while the
// caches are not synced the request is allowed with a warning, and the chart registers the
// webhook with failurePolicy Ignore. Pure; the HTTP server around it is server.ts.
import * as v from "valibot";
import { API_VERSION, type LabelSelector, type Vpn } from "../../crds/types.ts";
import { refusedClaims } from "../plan/membership.ts";
import type { World } from "../plan/world.ts";
import {
  type AdmissionReviewResponse,
  admissionRequest,
  allow,
  BadReview,
  deny,
  issue,
} from "./admission.ts";

/** What the check reads: the VPNs and namespaces as the operator sees them. */
export type ClaimsView = Pick<World, "vpns" | "namespaces">;

export type VpnOutcome = "allowed" | "refused" | "unchecked";

export interface VpnReviewed {
  readonly review: AdmissionReviewResponse;
  readonly outcome: VpnOutcome;
  /** The VPN's name, for logs. */
  readonly vpn: string;
  /** Why it was refused or not checked; for logs. */
  readonly detail: string | undefined;
}

const selector = v.object({
  matchLabels: v.optional(v.record(v.string(), v.string())),
  matchExpressions: v.optional(
    v.array(
      v.object({
        key: v.string(),
        operator: v.picklist(["In", "NotIn", "Exists", "DoesNotExist"]),
        values: v.optional(v.array(v.string())),
      }),
    ),
  ),
});

const vpnSchema = v.object({
  metadata: v.object({
    name: v.pipe(v.string(), v.minLength(1)),
    creationTimestamp: v.optional(v.string()),
    deletionTimestamp: v.optional(v.string()),
  }),
  spec: v.object({
    namespaces: v.object({ names: v.optional(v.array(v.string())), selector: v.optional(selector) }),
  }),
});

type SelectorInput = v.InferOutput<typeof selector>;

const labelSelector = ({ matchLabels, matchExpressions }: SelectorInput): LabelSelector => ({
  ...(matchLabels === undefined ? {} : { matchLabels }),
  ...(matchExpressions === undefined
    ? {}
    : {
        matchExpressions: matchExpressions.map(({ key, operator, values }) => ({
          key,
          operator,
          ...(values === undefined ? {} : { values }),
        })),
      }),
});

/** The VPN in `object` (as much as claims need); throws BadReview when it is not one. */
const vpnOf = (object: unknown, field: string): Vpn => {
  const parsed = v.safeParse(vpnSchema, object);
  if (!parsed.success) throw new BadReview(`request.${field} is not a VPN: ${issue(parsed.issues)}`);
  const { name, creationTimestamp, deletionTimestamp } = parsed.output.metadata;
  const { names, selector: sel } = parsed.output.spec.namespaces;
  return {
    apiVersion: API_VERSION,
    kind: "VPN",
    metadata: {
      name,
      ...(creationTimestamp === undefined ? {} : { creationTimestamp }),
      ...(deletionTimestamp === undefined ? {} : { deletionTimestamp }),
    },
    spec: {
      namespaces: {
        ...(names === undefined ? {} : { names }),
        ...(sel === undefined ? {} : { selector: labelSelector(sel) }),
      },
    },
  };
};

/** Answers one AdmissionReview for a VPN; `view` is undefined until the caches are synced. Throws BadReview on a body that is not one. */
export const reviewVpnClaims = (body: unknown, view: ClaimsView | undefined): VpnReviewed => {
  const { uid, resource, operation, object, oldObject } = admissionRequest(body);
  const isVpnWrite =
    resource.group === "switchboard.dev" &&
    resource.resource === "vpns" &&
    (operation === "CREATE" || operation === "UPDATE");
  if (!isVpnWrite) {
    const detail = `not a VPN CREATE or UPDATE (${resource.resource} ${operation})`;
    return { review: allow(uid), outcome: "allowed", vpn: "", detail };
  }
  const vpn = vpnOf(object, "object");
  const name = vpn.metadata.name ?? "";
  if (view === undefined) {
    const detail = "the switchboard operator's caches are not synced yet: namespace claims were not checked";
    return { review: allow(uid, { warnings: [detail] }), outcome: "unchecked", vpn: name, detail };
  }
  const previous = operation === "UPDATE" && oldObject ? vpnOf(oldObject, "oldObject") : undefined;
  const refused = refusedClaims(vpn, previous, view);
  if (refused.length === 0) return { review: allow(uid), outcome: "allowed", vpn: name, detail: undefined };
  const message = `VPN ${name} refused: ${refused
    .map(({ namespace, holder }) => `namespace ${namespace} is already held by VPN ${holder}`)
    .join("; ")} (a namespace belongs to one VPN; the holder must release it first)`;
  return { review: deny(uid, message, 409, "Conflict"), outcome: "refused", vpn: name, detail: message };
};
