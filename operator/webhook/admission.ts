// The admission.k8s.io/v1 AdmissionReview envelope both webhook paths share: the request as the
// API server sends it (validated at this edge) and the allow/deny answers.
import * as v from "valibot";

/** The request body is not an AdmissionReview this webhook can answer; the server replies 400. */
export class BadReview extends Error {
  override name = "BadReview";
}

const reviewSchema = v.object({
  apiVersion: v.literal("admission.k8s.io/v1"),
  kind: v.literal("AdmissionReview"),
  request: v.object({
    uid: v.pipe(v.string(), v.minLength(1)),
    resource: v.object({ group: v.string(), version: v.string(), resource: v.string() }),
    subResource: v.optional(v.string()),
    operation: v.string(),
    namespace: v.optional(v.string()),
    name: v.optional(v.string()),
    object: v.unknown(),
    oldObject: v.optional(v.unknown()),
  }),
});

export type AdmissionRequest = v.InferOutput<typeof reviewSchema>["request"];

export interface AdmissionReviewResponse {
  readonly apiVersion: "admission.k8s.io/v1";
  readonly kind: "AdmissionReview";
  readonly response: {
    readonly uid: string;
    readonly allowed: boolean;
    readonly patchType?: "JSONPatch";
    readonly patch?: string;
    readonly warnings?: readonly string[];
    readonly status?: {
      readonly status: "Failure";
      readonly code: number;
      readonly reason: string;
      readonly message: string;
    };
  };
}

/** The first of a validation's issues, as "path: message". */
export const issue = (issues: readonly v.BaseIssue<unknown>[]): string => {
  const [first] = issues;
  return first
    ? `${(first.path ?? []).map((p) => String(p.key)).join(".") || "(root)"}: ${first.message}`
    : "invalid";
};

/** The request of an AdmissionReview (parsed JSON); throws BadReview when the body is not one. */
export const admissionRequest = (body: unknown): AdmissionRequest => {
  const parsed = v.safeParse(reviewSchema, body);
  if (!parsed.success)
    throw new BadReview(`not an admission.k8s.io/v1 AdmissionReview: ${issue(parsed.issues)}`);
  return parsed.output.request;
};

const base = { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" } as const;

/** An answer allowing request `uid`, with an optional JSONPatch (already base64) and warnings. */
export const allow = (
  uid: string,
  { patch, warnings = [] }: { patch?: string; warnings?: readonly string[] } = {},
): AdmissionReviewResponse => ({
  ...base,
  response: {
    uid,
    allowed: true,
    ...(patch === undefined ? {} : { patchType: "JSONPatch" as const, patch }),
    ...(warnings.length > 0 ? { warnings } : {}),
  },
});

/** An answer refusing request `uid`; kubectl shows `message` after "denied the request: ". */
export const deny = (
  uid: string,
  message: string,
  code = 400,
  reason = "BadRequest",
): AdmissionReviewResponse => ({
  ...base,
  response: { uid, allowed: false, status: { status: "Failure", code, reason, message } },
});
