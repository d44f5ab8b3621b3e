// The Switchboard resources (switchboard.dev/v1alpha1) as TypeScript types. The OpenAPI schemas
// in ./schema.ts describe exactly these shapes; crds/*.yaml is generated from them.

export const GROUP = "switchboard.dev";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;

/** metav1.Condition. */
export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  deletionTimestamp?: string | Date;
  creationTimestamp?: string | Date;
}

export interface CommonStatus {
  observedGeneration?: number;
  conditions?: Condition[];
}

/** metav1.LabelSelector. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: {
    key: string;
    operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
    values?: string[];
  }[];
}

export interface SecretKeyRef {
  /** Defaults to the referencing object's namespace; required for cluster-scoped VPNs. */
  namespace?: string;
  name: string;
  key: string;
}

// ---------------------------------------------------------------------------------------------
// VPN (cluster-scoped): a tenant. Nothing crosses VPNs.

export interface VpnSpec {
  /** The namespaces whose objects and pods belong to this VPN: exactly one of `names` or `selector`. */
  namespaces: { names?: string[]; selector?: LabelSelector };
  /** Publishers authenticate with a bearer token read from a Secret; only its SHA-256 reaches the registry. */
  publishers?: { name: string; tokenSecretRef: SecretKeyRef & { namespace: string } }[];
  limits?: VpnLimits;
  /** Egress allow entries for this VPN's deliveries (docs/gateway.md, "Egress policy"). */
  egress?: { allow?: string[] };
}

export interface VpnLimits {
  eventsPerSecond?: number;
  burst?: number;
  maxEventBytes?: number;
  maxInFlight?: number;
}

export interface VpnStatus extends CommonStatus {
  /** Member namespaces as resolved (conflicting ones excluded). */
  namespaces?: string[];
  publishers?: number;
}

export interface Vpn {
  apiVersion: typeof API_VERSION;
  kind: "VPN";
  metadata: ObjectMeta;
  spec: VpnSpec;
  status?: VpnStatus;
}

// ---------------------------------------------------------------------------------------------
// Function (namespaced): where events are delivered.

export interface FunctionSpec {
  vpn: string;
  /** Exactly one of `service` or `url`. */
  target: { service?: { name: string; port: number | string; path?: string }; url?: string };
  /** How gateways in other clusters reach this function. */
  external?: { url: string };
  /** Per-attempt timeout, a Go duration ("10s"). Default 30s. */
  timeout?: string;
  /** Max in-flight requests per gateway. Default 100. */
  concurrency?: number;
  /** Request headers added to every delivery; values literal or from a Secret in the same namespace. */
  headers?: { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }[];
}

export interface FunctionStatus extends CommonStatus {
  /** Ready endpoints in this cluster. */
  endpoints?: number;
  /** The target as one string ("svc/NAME:PORT/PATH" or the URL), for printer columns. */
  target?: string;
}

export interface SwitchboardFunction {
  apiVersion: typeof API_VERSION;
  kind: "Function";
  metadata: ObjectMeta;
  spec: FunctionSpec;
  status?: FunctionStatus;
}

// ---------------------------------------------------------------------------------------------
// Subscription (namespaced): which events go to which function, and how.

/** A CloudEvents Subscriptions API filter: exactly one dialect per object. */
export interface Filter {
  exact?: Record<string, string>;
  prefix?: Record<string, string>;
  suffix?: Record<string, string>;
  all?: Filter[];
  any?: Filter[];
  not?: Filter;
}

export interface DeliverySpec {
  /** Retries after the first attempt (0–100). Default 5 for async. */
  retry?: number;
  backoffPolicy?: "exponential" | "linear";
  /** Go durations. Defaults: backoffDelay 200ms, maxBackoff 1m, timeout = the function's. */
  backoffDelay?: string;
  maxBackoff?: string;
  timeout?: string;
  /** Where events go when retries run out; same namespace unless qualified "ns/name". */
  deadLetter?: { function: string };
}

export interface SubscriptionSpec {
  vpn: string;
  /** A Function in the same namespace, or "namespace/name" in the same VPN. */
  function: string;
  mode: "async" | "sync";
  /** All must match (AND). Empty: every event of the VPN. */
  filters?: Filter[];
  /** A CEL expression over `event` (attributes) and `data`, compiled by the operator. */
  cel?: string;
  /** For sync HTTP subscriptions: raw requests on this route become `http.request` events. */
  http?: { method: string; path: string };
  delivery?: DeliverySpec;
  rateLimit?: { eventsPerSecond: number; burst?: number };
}

export interface SubscriptionStatus extends CommonStatus {
  /** The registry key of this subscription's route, once written. */
  registryKey?: string;
}

export interface Subscription {
  apiVersion: typeof API_VERSION;
  kind: "Subscription";
  metadata: ObjectMeta;
  spec: SubscriptionSpec;
  status?: SubscriptionStatus;
}
