// The answer to a sync caller: the function's status, headers and body, or a problem saying why
// there is none (no endpoint, overloaded, timeout, unreachable).

import type { Final } from "./delivery.ts";
import { ProblemError, unavailable } from "./problem.ts";
import type { Reply, Route } from "./types.ts";

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
  const fn = `${route.subscription.function.namespace}/${route.subscription.function.name}`;
  const outcome = final.outcome;
  if ("error" in outcome) {
    const attempts = { members: { attempts: final.attempts } };
    switch (outcome.error) {
      case "no-endpoints":
        throw unavailable(`function ${fn} has no ready endpoint`, 1, { slug: "no-endpoints", ...attempts });
      case "overloaded":
        throw unavailable(`function ${fn} is at its concurrency limit`, 1, {
          slug: "overloaded",
          ...attempts,
        });
      case "timeout":
        throw new ProblemError({
          status: 504,
          slug: "timeout",
          title: "Gateway Timeout",
          detail: `function ${fn} did not answer in time`,
          ...attempts,
        });
      case "network":
        throw new ProblemError({
          status: 502,
          slug: "unreachable",
          title: "Bad Gateway",
          detail: `function ${fn} could not be reached`,
          ...attempts,
        });
    }
  }
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(final.headers))
    if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = v;
  const noBody = outcome.status === 204 || outcome.status === 304;
  return { status: outcome.status, headers, ...(noBody || !final.body ? {} : { body: final.body }) };
};
