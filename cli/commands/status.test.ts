import assert from "node:assert/strict";
import { test } from "node:test";
import { toKubeObject } from "../support/kube.ts";
import { type GatewaysSection, gatewaysText, objectStatus, statusReport, statusText } from "./status.ts";

const UNKNOWN: GatewaysSection = { reported: false, message: "gateways unknown: no operator Service found" };

const obj = (
  kind: "VPN" | "Function" | "Subscription",
  name: string,
  ready: { status: string; reason: string; message: string; observedGeneration?: number } | undefined,
  generation = 1,
) =>
  toKubeObject(kind, {
    metadata: { name, generation, ...(kind === "VPN" ? {} : { namespace: "shop" }) },
    spec: {},
    status: { conditions: ready ? [{ type: "Ready", lastTransitionTime: "t", ...ready }] : [] },
  });

const ok = { status: "True", reason: "RouteRegistered", message: "the route is in the registry" };

test("the Ready condition, Unknown without one or when it describes an older generation", () => {
  assert.deepEqual(objectStatus(obj("Subscription", "a", ok)), {
    kind: "Subscription",
    namespace: "shop",
    name: "a",
    ready: "True",
    ...{ reason: ok.reason, message: ok.message },
  });
  assert.deepEqual(objectStatus(obj("VPN", "v", undefined)), {
    kind: "VPN",
    name: "v",
    ready: "Unknown",
    reason: "NoStatus",
    message: "the operator has not reported on it yet",
  });
  const stale = objectStatus(obj("Function", "f", { ...ok, observedGeneration: 1 }, 2));
  assert.equal(stale.ready, "Unknown");
  assert.equal(stale.message, "generation 2 not observed yet (Ready was True for generation 1)");
});

test("objects not Ready come first, then by kind, namespace and name; the text says how many and why", () => {
  const report = statusReport(
    [
      obj("Subscription", "b", ok),
      obj("VPN", "v", { status: "True", reason: "Registered", message: "the VPN is in the registry" }),
      obj("Subscription", "a", {
        status: "False",
        reason: "FunctionNotFound",
        message: "function shop/x does not exist",
      }),
    ],
    "shop",
    UNKNOWN,
  );
  assert.deepEqual(
    report.objects.map((o) => `${o.kind}/${o.name}`),
    ["Subscription/a", "VPN/v", "Subscription/b"],
  );
  assert.equal(report.notReady, 1);
  assert.deepEqual(report.gateways, UNKNOWN);
  assert.equal(
    statusText(report),
    `1 of 3 objects in namespace shop not Ready (listed first)

KIND          NAMESPACE  NAME  READY  REASON            MESSAGE
Subscription  shop       a     False  FunctionNotFound  function shop/x does not exist
VPN           -          v     True   Registered        the VPN is in the registry
Subscription  shop       b     True   RouteRegistered   the route is in the registry

GATEWAYS
gateways unknown: no operator Service found
`,
  );
  assert.equal(
    statusText(statusReport([], undefined, UNKNOWN)),
    "no VPN, Function or Subscription in all namespaces\n\nGATEWAYS\ngateways unknown: no operator Service found\n",
  );
});

test("gateways: one row each, shared or the sidecar's namespace, how long ago each applied, those behind marked", () => {
  const now = Date.parse("2026-11-30T01:00:00Z");
  const text = gatewaysText(
    {
      reported: true,
      cluster: "east",
      gateways: [
        { id: "gw-a", version: "1.2.0", appliedRevision: 40, appliedAt: "2026-11-30T00:59:55Z" },
        {
          id: "orders-7f9c",
          namespace: "shop",
          version: "1.2.0",
          appliedRevision: 31,
          appliedAt: "2026-11-30T00:50:00Z",
          notReady: "the delivery log cannot be written (ENOSPC)",
        },
      ],
    },
    now,
  );
  assert.equal(
    text,
    `2 gateways in cluster east, 1 behind revision 40
ID           NAMESPACE  VERSION  REVISION  APPLIED  READY
gw-a         (shared)   1.2.0    40        5s       True
orders-7f9c  shop       1.2.0    31        10m      False: the delivery log cannot be written (ENOSPC)  behind
`,
  );
  assert.equal(
    gatewaysText({ reported: true, cluster: "east", gateways: [] }, now),
    "no live gateway in cluster east\n",
  );
});
