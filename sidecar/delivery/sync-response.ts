// The answer to a sync caller: the function's status, headers and body, or a problem saying why
// there is none (no endpoint, overloaded, timeout, unreachable, refused by the egress policy).

import { badGateway, gatewayTimeout, unavailable } from "../problem.ts";
import type { Reply, Route } from "../types.ts";
import type { Final } from "./index.ts";

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "proxy-authenticate",
  "proxy-authorization",
  "content-length",
]);

/** The answer to a finished sync delivery; throws a ProblemError when the function gave no answer. */
export const syncResponse = (route: Route, final: Final): Reply => {
  const outcome = final.outcome;
  if ("error" in outcome) {
    const fn = `${route.subscription.function.namespace}/${route.subscription.function.name}`;
    const attempts = { members: { attempts: final.attempts } };
    switch (outcome.error) {
      case "no-endpoints":
        throw unavailable(`function ${fn} has no ready endpoint`, 1, { slug: "no-endpoints", ...attempts });
      case "overloaded":
        throw unavailable(`function ${fn} is at its concurrency limit`, 1, {
          slug: "overloaded",
          ...attempts,
        });
      case "abandoned":
        // Never read: the publisher is gone.
        throw unavailable(`the publisher went away before function ${fn} was called`, 1, {
          slug: "abandoned",
          ...attempts,
        });
      case "timeout":
        throw gatewayTimeout(`function ${fn} did not answer in time`, attempts);
      case "network":
        throw badGateway(`function ${fn} could not be reached`, { slug: "unreachable", ...attempts });
      case "egress-denied":
        throw badGateway(`function ${fn} was not called: ${outcome.reason}`, {
          slug: "egress-denied",
          title: "Refused by the egress policy",
          members: { attempts: final.attempts, function: fn },
        });
    }
  }
  const headers: Record<string, string | string[]> = {};
  for (const k in final.headers) {
    const v = final.headers[k];
    if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = v;
  }
  const noBody = outcome.status === 204 || outcome.status === 304;
  return { status: outcome.status, headers, ...(noBody || !final.body ? {} : { body: final.body }) };
};
