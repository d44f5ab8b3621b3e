// Request bodies read with a byte cap, so a large or endless body costs at most `max` bytes.
import { payloadTooLarge } from "./problem.ts";

/** The whole body, or a 413 ProblemError once it exceeds `max` bytes. */
export const readBody = async (req: Request, max: number): Promise<Uint8Array> => {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > max) throw payloadTooLarge(`the request body (${declared} bytes) exceeds ${max} bytes`);
  if (!req.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req.body) {
    size += chunk.byteLength;
    if (size > max) throw payloadTooLarge(`the request body exceeds ${max} bytes`);
    chunks.push(chunk);
  }
  return chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks, size);
};
