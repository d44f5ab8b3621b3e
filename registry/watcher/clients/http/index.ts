// The registry client over etcd's gRPC-gateway HTTP/JSON API (POST /v3/kv/range, streaming
// POST /v3/watch) with undici. Lighter than etcd3, but etcd's HTTP gateway cannot authenticate a
// client certificate's user once auth is on, so the gateway uses ../grpc/ instead.
// Several endpoints (the next one when one cannot be reached), a deadline per request, TLS with
// client certificates. A list page's answer is limited to `maxResponseBytes` of JSON (base64
// values: about 3 MiB of records in 4 MiB), like gRPC's default receive limit.

import { ListPageTooLargeError, type RegistryClient } from "../../client.ts";
import { readTlsFiles, type TlsFiles } from "../endpoints.ts";
import { decodeHeader, decodeRange } from "./decode.ts";
import { createTransport, ResponseTooLargeError } from "./transport.ts";
import { httpWatch } from "./watch.ts";

export { EtcdResponseError } from "./decode.ts";
export { EtcdRequestError } from "./transport.ts";

export interface HttpRegistryClientOptions {
  /** etcd client URLs (http:// or https://). */
  endpoints: readonly string[];
  /** Paths of PEM files: the CA that signed etcd's certificate, this client's certificate and key. */
  tls?: TlsFiles;
  /** Largest list page answer accepted, in bytes of JSON. */
  maxResponseBytes?: number;
}

export interface HttpRegistryClient extends RegistryClient {
  /** Closes every connection (watches in flight end). */
  close(): Promise<void>;
}

/** Point reads are one key: their answers are small. */
const READ_BYTES = 2 * 1024 * 1024;

/** A client of `endpoints`; reads the TLS files now (throws if they are missing) and throws TypeError on a non-http(s) URL. */
export const httpRegistryClient = ({
  endpoints,
  tls = {},
  maxResponseBytes = 4 * 1024 * 1024,
}: HttpRegistryClientOptions): HttpRegistryClient => {
  const transport = createTransport({
    endpoints,
    tls: readTlsFiles(tls),
  });
  return {
    range: async ({ start, end, limit, revision, timeoutMs }) => {
      const body = {
        key: start.toString("base64"),
        range_end: end.toString("base64"),
        limit: String(limit),
        ...(revision === undefined ? {} : { revision: String(revision) }),
      };
      const answer = await transport
        .call("/v3/kv/range", body, { timeoutMs, maxBytes: maxResponseBytes })
        .catch((err: unknown) => {
          throw err instanceof ResponseTooLargeError ? new ListPageTooLargeError(limit, err) : err;
        });
      return decodeRange(answer);
    },
    read: async (key, timeoutMs) => {
      const body = { key: Buffer.from(key).toString("base64"), keys_only: true };
      return decodeHeader(await transport.call("/v3/kv/range", body, { timeoutMs, maxBytes: READ_BYTES }));
    },
    watch: (request, handlers) => httpWatch(transport, request, handlers),
    close: () => transport.close(),
  };
};
