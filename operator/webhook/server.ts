// The operator's admission webhooks over HTTPS: POST /inject (sidecar injection, answered by
// review.ts) and POST /validate/vpn (namespace claims, answered by vpn-review.ts), each with an
// AdmissionReview. The serving certificate comes from files and is re-read every `reloadMs`;
// a changed, valid pair replaces the TLS context for new connections (no restart).

import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { Registry } from "prom-client";
import { errorMessage } from "../../common/errors.ts";
import type { Logger } from "../../common/log.ts";
import { BadReview } from "./admission.ts";
import { createWebhookMetrics, type WebhookMetrics } from "./metrics.ts";
import type { InjectorSettings } from "./plan.ts";
import { reviewAdmission } from "./review.ts";
import { reviewSubscription } from "./subscription-review.ts";
import { readServingCert, type ServingCert, sameCert } from "./tls.ts";
import { type ClaimsView, reviewVpnClaims } from "./vpn-review.ts";

/** Larger than any pod the API server accepts (etcd caps objects near 1.5 MiB). */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface WebhookServerOptions {
  host: string;
  port: number;
  certFile: string;
  keyFile: string;
  reloadMs: number;
  settings: InjectorSettings;
  /** The VPNs and namespaces the claim check reads; undefined until the operator's caches are synced (requests are then allowed, with a warning). */
  claims?: () => ClaimsView | undefined;
  registry: Registry;
  log: Logger;
}

export interface WebhookServer {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  /** Re-reads the certificate files every reloadMs until `signal` aborts, then closes the server. */
  run(signal: AbortSignal): Promise<void>;
}

/** A request the webhook cannot answer, with its HTTP status. */
class HttpError extends Error {
  override name = "HttpError";
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const readBody = async (req: IncomingMessage): Promise<Buffer> => {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > MAX_BODY_BYTES) throw new HttpError(413, `body over ${MAX_BODY_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
};

const INJECT = "/inject";
const VALIDATE_VPN = "/validate/vpn";
const VALIDATE_SUBSCRIPTION = "/validate/subscription";

const readReview = async (req: IncomingMessage, path: string): Promise<unknown> => {
  if (req.method !== "POST") throw new HttpError(405, `method not allowed: POST ${path}`);
  const type = req.headers["content-type"] ?? "";
  if (!type.startsWith("application/json")) throw new HttpError(415, "content-type must be application/json");
  try {
    return JSON.parse((await readBody(req)).toString("utf8"));
  } catch (err) {
    if (err instanceof HttpError) throw err;
    throw new HttpError(400, `body is not JSON: ${errorMessage(err)}`);
  }
};

const inject = (
  body: unknown,
  opts: Pick<WebhookServerOptions, "settings" | "log">,
  metrics: WebhookMetrics,
) => {
  const reviewed = reviewAdmission(body, opts.settings);
  metrics.requests.inc({ result: reviewed.outcome });
  if (reviewed.outcome === "injected") opts.log.info({ pod: reviewed.pod }, "gateway sidecar injected");
  else if (reviewed.outcome === "denied")
    opts.log.info({ pod: reviewed.pod, why: reviewed.detail }, "pod refused");
  else opts.log.debug({ pod: reviewed.pod, why: reviewed.detail }, "pod skipped");
  return reviewed.review;
};

const validateVpn = (
  body: unknown,
  opts: Pick<WebhookServerOptions, "claims" | "log">,
  metrics: WebhookMetrics,
) => {
  const reviewed = reviewVpnClaims(body, opts.claims?.());
  metrics.vpnClaims.inc({ result: reviewed.outcome });
  if (reviewed.outcome === "refused")
    opts.log.info({ vpn: reviewed.vpn, why: reviewed.detail }, "VPN refused");
  else if (reviewed.outcome === "unchecked")
    opts.log.warn({ vpn: reviewed.vpn, why: reviewed.detail }, "VPN admitted unchecked");
  return reviewed.review;
};

const validateSubscription = (body: unknown, log: Logger, metrics: WebhookMetrics) => {
  const reviewed = reviewSubscription(body);
  metrics.subscriptionChecks.inc({ result: reviewed.outcome });
  if (reviewed.outcome === "refused")
    log.info({ subscription: reviewed.subscription, why: reviewed.detail }, "Subscription refused");
  return reviewed.review;
};

const handle = async (
  req: IncomingMessage,
  opts: Pick<WebhookServerOptions, "settings" | "claims" | "log">,
  metrics: WebhookMetrics,
): Promise<string> => {
  const path = (req.url ?? "").split("?")[0] ?? "";
  if (path === INJECT) return JSON.stringify(inject(await readReview(req, path), opts, metrics));
  if (path === VALIDATE_VPN) return JSON.stringify(validateVpn(await readReview(req, path), opts, metrics));
  if (path === VALIDATE_SUBSCRIPTION)
    return JSON.stringify(validateSubscription(await readReview(req, path), opts.log, metrics));
  throw new HttpError(
    404,
    `not found: the webhook serves POST ${INJECT}, ${VALIDATE_VPN} and ${VALIDATE_SUBSCRIPTION}`,
  );
};

const respond = (res: ServerResponse, status: number, body: string, type: string): void => {
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body) });
  res.end(body);
};

/** Maps a failed request to HTTP once: client mistakes to 4xx, anything else to 500 (logged). */
const onError = (err: unknown, res: ServerResponse, log: Logger, metrics: WebhookMetrics): void => {
  if (err instanceof HttpError || err instanceof BadReview) {
    metrics.requests.inc({ result: "invalid" });
    log.warn({ err: err.message }, "bad admission request");
    respond(res, err instanceof HttpError ? err.status : 400, `${err.message}\n`, "text/plain");
    return;
  }
  metrics.requests.inc({ result: "error" });
  log.error({ err: errorMessage(err) }, "admission request failed");
  respond(res, 500, "internal error\n", "text/plain");
};

const listen = (server: Server, host: string, port: number): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const address = server.address();
      resolve(typeof address === "object" && address !== null ? address.port : port);
    });
  });

/** Loads the certificate (throws when it is unusable) and starts listening; resolves once it does. */
export const serveWebhook = async (opts: WebhookServerOptions): Promise<WebhookServer> => {
  const metrics = createWebhookMetrics(opts.registry);
  const log = opts.log.child({ component: "webhook" });
  let current: ServingCert = readServingCert(opts.certFile, opts.keyFile);
  metrics.certificateExpiry.set(current.notAfter.getTime() / 1000);
  const server = createServer({ cert: current.cert, key: current.key, minVersion: "TLSv1.2" }, (req, res) => {
    handle(req, { ...opts, log }, metrics).then(
      (body) => respond(res, 200, body, "application/json"),
      (err: unknown) => onError(err, res, log, metrics),
    );
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  const port = await listen(server, opts.host, opts.port);
  let lastError = "";
  const reload = (): void => {
    try {
      const next = readServingCert(opts.certFile, opts.keyFile);
      lastError = "";
      if (sameCert(next, current)) return;
      server.setSecureContext({ cert: next.cert, key: next.key, minVersion: "TLSv1.2" });
      current = next;
      metrics.certificateExpiry.set(next.notAfter.getTime() / 1000);
      metrics.certificateReloads.inc({ result: "success" });
      log.info({ notAfter: next.notAfter.toISOString() }, "webhook certificate reloaded");
    } catch (err) {
      // Kept serving the previous certificate; counted every time, logged once per distinct problem.
      const message = errorMessage(err);
      metrics.certificateReloads.inc({ result: "error" });
      if (message !== lastError)
        log.error({ err: message }, "webhook certificate not reloaded; serving the previous one");
      lastError = message;
    }
  };
  return {
    port,
    run: async (signal) => {
      const timer = setInterval(reload, opts.reloadMs);
      await new Promise((r) => signal.addEventListener("abort", r, { once: true }));
      clearInterval(timer);
      await new Promise<void>((done) => {
        server.close(() => done());
        server.closeIdleConnections();
      });
    },
  };
};
