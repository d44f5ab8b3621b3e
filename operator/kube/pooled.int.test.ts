// Requests through a pooled KubeConfig reuse connections to a real API server: 20 requests open
// at most a couple of TLS connections, where client-node's own KubeConfig opens one per request.
import assert from "node:assert/strict";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { test } from "node:test";
import { CoreV1Api } from "@kubernetes/client-node";
import { testCluster } from "../../e2e/harness.ts";
import { pooledKubeConfig } from "./pooled.ts";

const cluster = await testCluster();

/** TLS connections opened while `run` runs (diagnostics channel of every new client socket). */
const connectionsDuring = async (run: () => Promise<void>): Promise<number> => {
  let opened = 0;
  const onSocket = (): void => {
    opened++;
  };
  subscribe("net.client.socket", onSocket);
  try {
    await run();
  } finally {
    unsubscribe("net.client.socket", onSocket);
  }
  return opened;
};

const twentyRequests = (api: CoreV1Api) => async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await api.listNamespace();
};

test("a pooled KubeConfig reuses its connections; client-node's own opens one per request", async () => {
  const pooled = await connectionsDuring(
    twentyRequests(pooledKubeConfig(cluster.kubeConfig()).makeApiClient(CoreV1Api)),
  );
  const plain = await connectionsDuring(twentyRequests(cluster.kubeConfig().makeApiClient(CoreV1Api)));
  assert.ok(pooled <= 2, `pooled: ${pooled} connections for 20 requests`);
  // What the wrapper is for: if client-node starts pooling by itself, this says so.
  assert.ok(plain >= 20, `client-node alone: ${plain} connections for 20 requests`);
});
