// Writing a batch of records to the end of a segment file completely, or not at all.
import type { FileHandle } from "node:fs/promises";

/** Thrown when the file system accepts no more bytes (a short write that cannot be completed). */
export class ShortWriteError extends Error {
  override name = "ShortWriteError";
}

/**
 * Writes every byte of `bufs` at the end of `fh`, continuing after short writes (a file system
 * that is nearly full writes part of a request, and says how much). Throws the file system's
 * error (ENOSPC, EIO …) or ShortWriteError when a write makes no progress; the caller then
 * truncates the file back to its last good size.
 */
export const writeFully = async (fh: FileHandle, bufs: readonly Buffer[]): Promise<void> => {
  let rest = [...bufs];
  while (rest.length > 0) {
    const { bytesWritten } = await fh.writev(rest);
    if (bytesWritten <= 0) throw new ShortWriteError("the file system accepted no more bytes");
    let n = bytesWritten;
    const next: Buffer[] = [];
    for (const buf of rest) {
      if (n >= buf.length) n -= buf.length;
      else {
        next.push(n > 0 ? buf.subarray(n) : buf);
        n = 0;
      }
    }
    rest = next;
  }
};
