// AdmissionReview requests as the API server sends them, for webhook tests.

/** An admission.k8s.io/v1 AdmissionReview of `object`: a pod CREATE in namespace shop, with `over` replacing request fields. */
export const admissionReview = (object: unknown, over: Record<string, unknown> = {}) => ({
  apiVersion: "admission.k8s.io/v1",
  kind: "AdmissionReview",
  request: {
    uid: "705ab4f5-6393-11e8-b7cc-42010a800002",
    kind: { group: "", version: "v1", kind: "Pod" },
    resource: { group: "", version: "v1", resource: "pods" },
    requestKind: { group: "", version: "v1", kind: "Pod" },
    operation: "CREATE",
    namespace: "shop",
    userInfo: { username: "admin" },
    object,
    oldObject: null,
    dryRun: false,
    ...over,
  },
});
