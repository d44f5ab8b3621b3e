// The operator's informers and the World they back.
import {
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type V1EndpointSlice,
  type V1Namespace,
  type V1Secret,
  type V1Service,
} from "@kubernetes/client-node";
import type { Logger } from "../../common/log.ts";
import { GROUP, type Subscription, type SwitchboardFunction, VERSION, type Vpn } from "../../crds/types.ts";
import type { OperatorMetrics } from "../metrics.ts";
import { SERVICE_NAME_LABEL, type World } from "../plan/world.ts";
import { type ChangeKind, type Watched, watchResource } from "./informer.ts";

export interface Informers {
  vpns: Watched<Vpn & KubernetesObject>;
  functions: Watched<SwitchboardFunction & KubernetesObject>;
  subscriptions: Watched<Subscription & KubernetesObject>;
  namespaces: Watched<V1Namespace>;
  services: Watched<V1Service>;
  endpointSlices: Watched<V1EndpointSlice>;
  secrets: Watched<V1Secret>;
}

export interface ChangeHandlers {
  vpn(obj: Vpn, change: ChangeKind): void;
  fn(obj: SwitchboardFunction, change: ChangeKind): void;
  subscription(obj: Subscription, change: ChangeKind): void;
  namespace(obj: V1Namespace, change: ChangeKind): void;
  service(obj: V1Service, change: ChangeKind): void;
  endpointSlice(obj: V1EndpointSlice, change: ChangeKind): void;
  secret(obj: V1Secret, change: ChangeKind): void;
}

/** The Secrets the operator caches: every type but Helm's release records. */
export const SECRETS_READ = "type!=helm.sh/release.v1";

/** Creates (but does not start) the informers, calling `on` for every change. */
export const createInformers = (
  kc: KubeConfig,
  on: ChangeHandlers,
  metrics: OperatorMetrics,
  log: Logger,
): Informers => {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const common = { kc, metrics, log };
  const crPath = (plural: string): string => `/apis/${GROUP}/${VERSION}/${plural}`;
  // The custom-object list calls return untyped JSON; the API server has validated it against the CRD schema.
  const listCustom =
    <T extends KubernetesObject>(plural: string, clusterScoped: boolean) =>
    async (): Promise<KubernetesListObject<T>> =>
      clusterScoped
        ? custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural })
        : custom.listCustomObjectForAllNamespaces({ group: GROUP, version: VERSION, resourcePlural: plural });
  return {
    vpns: watchResource<Vpn & KubernetesObject>({
      ...common,
      resource: "vpns",
      path: crPath("vpns"),
      list: listCustom("vpns", true),
      onChange: on.vpn,
    }),
    functions: watchResource<SwitchboardFunction & KubernetesObject>({
      ...common,
      resource: "functions",
      path: crPath("functions"),
      list: listCustom("functions", false),
      onChange: on.fn,
    }),
    subscriptions: watchResource<Subscription & KubernetesObject>({
      ...common,
      resource: "subscriptions",
      path: crPath("subscriptions"),
      list: listCustom("subscriptions", false),
      onChange: on.subscription,
    }),
    namespaces: watchResource({
      ...common,
      resource: "namespaces",
      path: "/api/v1/namespaces",
      list: () => core.listNamespace(),
      onChange: on.namespace,
    }),
    services: watchResource({
      ...common,
      resource: "services",
      path: "/api/v1/services",
      list: () => core.listServiceForAllNamespaces(),
      onChange: on.service,
    }),
    endpointSlices: watchResource({
      ...common,
      resource: "endpointslices",
      path: "/apis/discovery.k8s.io/v1/endpointslices",
      list: () => discovery.listEndpointSliceForAllNamespaces(),
      onChange: on.endpointSlice,
    }),
    // Helm keeps every release revision as a Secret of this type (its whole manifest,
    // compressed: tens to hundreds of KiB each, ten revisions per release by default). No
    // reconciler reads one; cached, they would be most of the operator's memory in a cluster
    // with many releases.
    secrets: watchResource({
      ...common,
      resource: "secrets",
      path: "/api/v1/secrets",
      fieldSelector: SECRETS_READ,
      list: () => core.listSecretForAllNamespaces({ fieldSelector: SECRETS_READ }),
      onChange: on.secret,
    }),
  };
};

/** The World over the informers' caches and the registry's view of other clusters' functions. */
export const worldOver = (i: Informers, remoteFunction: World["remoteFunction"]): World => ({
  remoteFunction,
  vpns: () => i.vpns.list(),
  vpn: (name) => i.vpns.get(name),
  namespace: (name) => i.namespaces.get(name),
  namespaces: () => i.namespaces.list(),
  fn: (namespace, name) => i.functions.get(name, namespace),
  functions: () => i.functions.list(),
  subscriptions: () => i.subscriptions.list(),
  service: (namespace, name) => i.services.get(name, namespace),
  endpointSlices: (namespace, service) =>
    i.endpointSlices.list(namespace).filter((s) => s.metadata?.labels?.[SERVICE_NAME_LABEL] === service),
  secret: (namespace, name) => i.secrets.get(name, namespace),
});
