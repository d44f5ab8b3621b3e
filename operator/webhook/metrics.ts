// The webhook's Prometheus metrics, on the operator's injected registry. (Kept beside the webhook
// rather than in metrics.ts so the webhook can be served, and tested, on its own registry.)
import { Counter, Gauge, type Registry } from "prom-client";

export interface WebhookMetrics {
  requests: Counter<"result">;
  vpnClaims: Counter<"result">;
  subscriptionChecks: Counter<"result">;
  certificateExpiry: Gauge;
  certificateReloads: Counter<"result">;
}

/** Registers the webhook's metrics on `registry`. */
export const createWebhookMetrics = (registry: Registry): WebhookMetrics => ({
  requests: new Counter({
    name: "switchboard_operator_webhook_requests_total",
    help: "Admission requests by result (injected, skipped, denied; invalid and error on either path).",
    labelNames: ["result"],
    registers: [registry],
  }),
  vpnClaims: new Counter({
    name: "switchboard_operator_webhook_vpn_claims_total",
    help: "VPN creates and updates checked for namespace claims, by result (allowed, refused, unchecked).",
    labelNames: ["result"],
    registers: [registry],
  }),
  subscriptionChecks: new Counter({
    name: "switchboard_operator_webhook_subscription_checks_total",
    help: "Subscription creates and updates checked for what the gateways would refuse (CEL), by result (allowed, refused).",
    labelNames: ["result"],
    registers: [registry],
  }),
  certificateExpiry: new Gauge({
    name: "switchboard_operator_webhook_certificate_expiry_timestamp_seconds",
    help: "When the webhook's serving certificate expires (Unix time).",
    registers: [registry],
  }),
  certificateReloads: new Counter({
    name: "switchboard_operator_webhook_certificate_reloads_total",
    help: "Serving certificate reloads after the files changed, by result (success, error).",
    labelNames: ["result"],
    registers: [registry],
  }),
});
