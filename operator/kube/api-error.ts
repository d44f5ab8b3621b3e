// What a failed Kubernetes API call says in one line: client-node's ApiException message carries
// the whole response (body and every header) on several lines; logs and readiness want the status,
// the Status reason and message, e.g. `HTTP 429 TooManyRequests: storage is (re)initializing`.
import { ApiException } from "@kubernetes/client-node";
import { errorMessage } from "../../common/errors.ts";

const field = (body: unknown, key: string): string | undefined => {
  if (typeof body !== "object" || body === null || !(key in body)) return undefined;
  const value: unknown = Reflect.get(body, key);
  return typeof value === "string" && value !== "" ? value : undefined;
};

/** The body as an object: client-node leaves it a JSON string when the code is not one it declares. */
const parsed = (body: unknown): unknown => {
  if (typeof body !== "string") return body;
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
};

/** One line for `err`: for an API error its HTTP status, reason and message; otherwise its message (a refused connection names the address). Never throws. */
export const apiErrorMessage = (err: unknown): string => {
  if (!(err instanceof ApiException)) return errorMessage(err);
  const body = parsed(err.body);
  const reason = field(body, "reason");
  const message = field(body, "message") ?? (typeof body === "string" && body !== "" ? body : undefined);
  return `HTTP ${err.code}${reason ? ` ${reason}` : ""}${message ? `: ${message}` : ""}`;
};
