import assert from "node:assert/strict";
import { test } from "node:test";
import { admissionReview as review } from "../testing/admission-fixtures.ts";
import { BadReview } from "./admission.ts";
import type { InjectorSettings } from "./plan.ts";
import { podView, reviewAdmission } from "./review.ts";

const settings: InjectorSettings = {
  image: "switchboard:0.1.0",
  clusterName: "east",
  etcd: ["http://etcd:2379"],
  etcdSecret: undefined,
  vpnKeys: false,
  port: 3580,
  metricsPort: 9580,
  cpu: "50m",
  memory: "192Mi",
};

const pod = (annotations: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { generateName: "orders-7d9f-", annotations },
  spec: { containers: [{ name: "app", image: "shop/orders:1" }] },
});

test("an annotated pod: allowed with a base64 JSONPatch, the request uid echoed", () => {
  const out = reviewAdmission(review(pod({ "switchboard.dev/inject": "true" })), settings);
  assert.equal(out.outcome, "injected");
  assert.equal(out.pod, "shop/orders-7d9f-*");
  const { response } = out.review;
  assert.equal(out.review.apiVersion, "admission.k8s.io/v1");
  assert.equal(out.review.kind, "AdmissionReview");
  assert.equal(response.uid, "705ab4f5-6393-11e8-b7cc-42010a800002");
  assert.equal(response.allowed, true);
  assert.equal(response.patchType, "JSONPatch");
  const patch: unknown = JSON.parse(Buffer.from(response.patch ?? "", "base64").toString("utf8"));
  assert.ok(Array.isArray(patch));
  assert.deepEqual(
    patch.map((p: { op: string; path: string }) => `${p.op} ${p.path}`),
    ["add /spec/containers/-", "add /spec/volumes", "add /metadata/labels"],
  );
});

test("a plain pod, and requests that are not pod CREATEs, are allowed without a patch", () => {
  for (const body of [
    review(pod()),
    review(pod({ "switchboard.dev/inject": "true" }), { operation: "UPDATE" }),
    review(pod({ "switchboard.dev/inject": "true" }), { subResource: "ephemeralcontainers" }),
    review({}, { resource: { group: "apps", version: "v1", resource: "deployments" } }),
  ]) {
    const out = reviewAdmission(body, settings);
    assert.equal(out.outcome, "skipped");
    assert.deepEqual(out.review.response, { uid: "705ab4f5-6393-11e8-b7cc-42010a800002", allowed: true });
  }
});

test("an invalid annotation: not allowed, with a 400 status and the planner's message", () => {
  const out = reviewAdmission(
    review(pod({ "switchboard.dev/inject": "true", "switchboard.dev/port": "abc" })),
    settings,
  );
  assert.equal(out.outcome, "denied");
  assert.deepEqual(out.review.response, {
    uid: "705ab4f5-6393-11e8-b7cc-42010a800002",
    allowed: false,
    status: {
      status: "Failure",
      code: 400,
      reason: "BadRequest",
      message:
        'switchboard sidecar injection refused: switchboard.dev/port: "abc" is not a port number from 1 to 65535',
    },
  });
});

test("unknown switchboard.dev/ annotations come back as warnings", () => {
  const out = reviewAdmission(
    review(pod({ "switchboard.dev/inject": "true", "switchboard.dev/durabilty": "fsync" })),
    settings,
  );
  assert.deepEqual(out.review.response.warnings, [
    "unknown annotation switchboard.dev/durabilty ignored by the Switchboard sidecar injector",
  ]);
});

test("bodies that are not AdmissionReviews, or pods without containers, are BadReview", () => {
  for (const body of [
    null,
    {},
    { ...review(pod()), apiVersion: "admission.k8s.io/v1beta1" },
    review(pod(), { uid: "" }),
    review({ metadata: {}, spec: {} }),
    review({ metadata: { annotations: { a: 1 } }, spec: { containers: [] } }),
  ])
    assert.throws(() => reviewAdmission(body, settings), BadReview, JSON.stringify(body));
});

test("podView reads what the planner needs and nothing else", () => {
  assert.deepEqual(
    podView({
      metadata: { labels: { app: "orders" } },
      spec: {
        containers: [{ name: "app", ports: [{ containerPort: 8080, name: "http", protocol: "TCP" }] }],
        initContainers: [{ name: "init" }],
        volumes: [{ name: "config", configMap: { name: "c" } }],
        terminationGracePeriodSeconds: 10,
        hostNetwork: true,
      },
    }),
    {
      annotations: {},
      hasLabels: true,
      containers: [{ name: "app", ports: [{ containerPort: 8080, name: "http" }] }],
      initContainers: [{ name: "init", ports: [] }],
      volumeNames: ["config"],
      hostNetwork: true,
      terminationGracePeriodSeconds: 10,
    },
  );
});
