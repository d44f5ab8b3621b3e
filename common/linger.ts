// Refusing a request whose body has not been read, without reading it and without losing the
// answer: the connection is closed after the answer, the gentle way (docs/architecture.md,
// "Security model").
//
// Evidence for doing this by hand (Node 24, measured against a client still sending a 300 MB body):
// - closing at once (Node's own `Connection: close` handling: end, then destroy) resets the
//   connection while the client is sending, and undici and node:http clients then fail with EPIPE
//   about half the time without ever seeing the answer;
// - leaving it to Node's keep-alive handling reads and discards the whole rest of the body, and
//   @hono/node-server's clean-up (it served the admin routes before common/admin.ts did) reads
//   up to 64 MiB of it: tens of MB of RSS churn per request;
// - when a response finishes, Node's HTTP server dumps the unread request, which resumes the
//   socket from a scheduled 'resume' event, so pausing alone is undone a tick later.
import type { IncomingMessage } from "node:http";

/** How long a refused connection stays half-open for its client to read the answer. */
export const LINGER_MS = 2_000;

/**
 * Makes Node's close of `incoming`'s connection (after a `Connection: close` answer) gentle: the
 * answer and a FIN go out, nothing more is read (the unread rest stays in kernel buffers), and the
 * socket is destroyed when the client closes or after LINGER_MS. Call it before answering.
 */
export const lingerUnread = (incoming: IncomingMessage): void => {
  const socket = incoming.socket;
  socket.destroySoon = () => {
    socket.removeAllListeners("resume");
    incoming.pause();
    socket.pause();
    socket.end();
    socket.once("end", () => socket.destroy());
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  };
};

/**
 * Whether the answer to `incoming` must close its connection because part of its body was not
 * read; if so, the close is made gentle (lingerUnread). Call it when answering. A request without
 * a body never must: `complete` is not yet set while the handler that received it runs.
 */
export const closesUnread = (incoming: IncomingMessage): boolean => {
  if (incoming.complete) return false;
  const headers = incoming.headers;
  if (!(Number(headers["content-length"] ?? "0") > 0) && headers["transfer-encoding"] === undefined)
    return false;
  lingerUnread(incoming);
  return true;
};
