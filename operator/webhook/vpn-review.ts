// The VPN namespace-claim check over AdmissionReview (POST /validate/vpn): a VPN create or update
// that newly claims a namespace another VPN holds is refused, naming the namespace and the holder.
// The decision is the planner's (plan/membership.ts refusedClaims) over the operator's informer
// caches. The planner's rule holds without this check (the older claim wins), so while the
// caches are not synced the request is allowed with a warning, and the chart registers the
// webhook with failurePolicy Ignore. Pure; the HTTP server around it is server.ts.
import { z } from "zod";
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

const selector = z.object({
  matchLabels: z.record(z.string(), z.string()).optional(),
  matchExpressions: z
    .array(
      z.object({
        key: z.string(),
        operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]),
        values: z.array(z.string()).optional(),
      }),
    )
    .optional(),
});

const vpnSchema = z.object({
  metadata: z.object({
    name: z.string().min(1),
    creationTimestamp: z.string().optional(),
    deletionTimestamp: z.string().optional(),
  }),
  spec: z.object({
    namespaces: z.object({ names: z.array(z.string()).optional(), selector: selector.optional() }),
  }),
});

type SelectorInput = z.infer<typeof selector>;

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
  const parsed = vpnSchema.safeParse(object);
  if (!parsed.success) throw new BadReview(`request.${field} is not a VPN: ${issue(parsed.error)}`);
  const { name, creationTimestamp, deletionTimestamp } = parsed.data.metadata;
  const { names, selector: sel } = parsed.data.spec.namespaces;
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
