// The admission.k8s.io/v1 AdmissionReview envelope both webhook paths share: the request as the
// API server sends it (validated at this edge) and the allow/deny answers.
import { z } from "zod";

/** The request body is not an AdmissionReview this webhook can answer; the server replies 400. */
export class BadReview extends Error {
  override name = "BadReview";
}

const reviewSchema = z.object({
  apiVersion: z.literal("admission.k8s.io/v1"),
  kind: z.literal("AdmissionReview"),
  request: z.object({
    uid: z.string().min(1),
    resource: z.object({ group: z.string(), version: z.string(), resource: z.string() }),
    subResource: z.string().optional(),
    operation: z.string(),
    namespace: z.string().optional(),
    name: z.string().optional(),
    object: z.unknown(),
    oldObject: z.unknown().optional(),
  }),
});

export type AdmissionRequest = z.infer<typeof reviewSchema>["request"];

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

/** The first problem of a zod error, as "path: message". */
export const issue = (error: z.ZodError): string => {
  const [first] = error.issues;
  return first ? `${first.path.join(".") || "(root)"}: ${first.message}` : "invalid";
};

/** The request of an AdmissionReview (parsed JSON); throws BadReview when the body is not one. */
export const admissionRequest = (body: unknown): AdmissionRequest => {
  const parsed = reviewSchema.safeParse(body);
  if (!parsed.success)
    throw new BadReview(`not an admission.k8s.io/v1 AdmissionReview: ${issue(parsed.error)}`);
  return parsed.data.request;
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
