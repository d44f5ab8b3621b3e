// The registry client over etcd's own gRPC API (KV.Range, Watch.Watch) on node:http2, with the few
// protobuf messages encoded by hand (./proto.ts): what the gateway uses. It keeps everything the
// etcd3 package gives the watcher (client-certificate auth that etcd's RBAC accepts, several
// endpoints, a deadline per call, watches from a revision with compaction reported) without
// loading etcd3, gRPC and protobufjs (bench/registry-client.ts measures the difference). A list
// page's answer is limited to `maxMessageBytes`, gRPC's default receive limit.
import { errorMessage } from "../../../../common/errors.ts";
import {
  ListPageTooLargeError,
  type RegistryClient,
  type WatchStream,
  type WatchStreamEnd,
} from "../../client.ts";
import { readTlsFiles, type TlsFiles } from "../endpoints.ts";
import {
  decodeHeaderOnly,
  decodeLeaseResponse,
  decodeRangeResponse,
  decodeWatchResponse,
  encodeLeaseGrant,
  encodeLeaseId,
  encodePutRequest,
  encodeRangeRequest,
  encodeWatchCreate,
} from "./proto.ts";
import { createGrpcTransport, MessageTooLargeError } from "./transport.ts";

export { ProtoError } from "./proto.ts";
export { GrpcStatusError } from "./transport.ts";

export interface GrpcRegistryClientOptions {
  /** etcd client URLs (http:// or https://). */
  endpoints: readonly string[];
  /** Paths of PEM files: the CA that signed etcd's certificate, this client's certificate and key. */
  tls?: TlsFiles;
  /** Largest list page answer accepted, in bytes. */
  maxMessageBytes?: number;
}

/** The writes of a gateway's presence record (sidecar/routing/presence.ts): one key bound to one lease. */
export interface PresenceWrites {
  /** A lease of `ttlSeconds`; its id. */
  grantLease(ttlSeconds: number, timeoutMs: number): Promise<bigint>;
  /** Renews the lease; the seconds it has left, 0 or less when it no longer exists. */
  keepAlive(lease: bigint, timeoutMs: number): Promise<number>;
  /** Ends the lease, deleting the keys bound to it. */
  revokeLease(lease: bigint, timeoutMs: number): Promise<void>;
  /** Writes `value` at `key` bound to `lease`; the revision of the write. */
  put(key: string, value: Buffer, lease: bigint, timeoutMs: number): Promise<number>;
}

export interface GrpcRegistryClient extends RegistryClient, PresenceWrites {
  /** Closes every connection (watches in flight end). */
  close(): Promise<void>;
}

/** Point reads are one key, keys only: their answers are small. */
const READ_BYTES = 1024 * 1024;

/** A client of `endpoints`; reads the TLS files now (throws if they are missing) and throws TypeError on a non-http(s) URL. */
export const grpcRegistryClient = ({
  endpoints,
  tls = {},
  maxMessageBytes = 4 * 1024 * 1024,
}: GrpcRegistryClientOptions): GrpcRegistryClient => {
  const transport = createGrpcTransport({
    endpoints,
    tls: readTlsFiles(tls),
  });
  return {
    range: async ({ start, end, limit, revision, timeoutMs }) => {
      const request = encodeRangeRequest({
        key: start,
        rangeEnd: end,
        limit,
        ...(revision === undefined ? {} : { revision }),
      });
      const answer = await transport
        .unary("/etcdserverpb.KV/Range", request, { timeoutMs, maxBytes: maxMessageBytes })
        .catch((err: unknown) => {
          throw err instanceof MessageTooLargeError ? new ListPageTooLargeError(limit, err) : err;
        });
      const { clusterId, revision: at, kvs, more } = decodeRangeResponse(answer);
      return { revision: at, clusterId, kvs, more };
    },
    read: async (key, timeoutMs) => {
      const request = encodeRangeRequest({ key: Buffer.from(key), keysOnly: true });
      const { clusterId, revision } = decodeRangeResponse(
        await transport.unary("/etcdserverpb.KV/Range", request, { timeoutMs, maxBytes: READ_BYTES }),
      );
      return { revision, clusterId };
    },
    watch: ({ range, fromRevision }, handlers): WatchStream => {
      let done = false;
      const end = (reason: WatchStreamEnd["reason"], detail: string): void => {
        if (done) return;
        done = true;
        cancel();
        handlers.onEnd({ reason, detail });
      };
      let cancel: () => void = () => {};
      // Never synchronously: handlers run only after watch() has returned.
      queueMicrotask(() => {
        if (done) return;
        cancel = transport.stream(
          "/etcdserverpb.Watch/Watch",
          encodeWatchCreate(range.start, range.end, fromRevision),
          {
            onMessage: (message) => {
              if (done) return;
              let res: ReturnType<typeof decodeWatchResponse>;
              try {
                res = decodeWatchResponse(message);
              } catch (err) {
                return end("watch_canceled", `watcher error: ${errorMessage(err)}`);
              }
              if (res.canceled) {
                const why =
                  res.cancelReason ||
                  (res.compactRevision > 0
                    ? `revision ${fromRevision} is compacted (compact revision ${res.compactRevision})`
                    : "no reason given");
                return end("watch_canceled", `watcher error: Watcher canceled: ${why}`);
              }
              if (res.fragment)
                return end("watch_canceled", "watcher error: fragmented watch response (never requested)");
              if (res.created) handlers.onCreated(res.revision);
              else handlers.onResponse(res.events, res.revision);
            },
            onEnd: (err) =>
              err === undefined
                ? end("watch_ended", "watch ended")
                : end("watch_error", `watch disconnected: ${errorMessage(err)}`),
          },
        );
      });
      return {
        cancel: async () => {
          done = true;
          cancel();
          return "";
        },
      };
    },
    grantLease: async (ttlSeconds, timeoutMs) => {
      const answer = decodeLeaseResponse(
        await transport.unary("/etcdserverpb.Lease/LeaseGrant", encodeLeaseGrant(ttlSeconds), {
          timeoutMs,
          maxBytes: READ_BYTES,
        }),
      );
      if (answer.error !== "") throw new Error(`etcd refused a lease: ${answer.error}`);
      return answer.id;
    },
    // LeaseKeepAlive is a bidirectional stream; one request and the end of the sending side get one
    // answer, then etcd ends the call: a unary call in all but name.
    keepAlive: async (lease, timeoutMs) =>
      decodeLeaseResponse(
        await transport.unary("/etcdserverpb.Lease/LeaseKeepAlive", encodeLeaseId(lease), {
          timeoutMs,
          maxBytes: READ_BYTES,
        }),
      ).ttl,
    revokeLease: async (lease, timeoutMs) => {
      await transport.unary("/etcdserverpb.Lease/LeaseRevoke", encodeLeaseId(lease), {
        timeoutMs,
        maxBytes: READ_BYTES,
      });
    },
    put: async (key, value, lease, timeoutMs) =>
      decodeHeaderOnly(
        await transport.unary("/etcdserverpb.KV/Put", encodePutRequest(Buffer.from(key), value, lease), {
          timeoutMs,
          maxBytes: READ_BYTES,
        }),
      ).revision,
    close: () => transport.close(),
  };
};
