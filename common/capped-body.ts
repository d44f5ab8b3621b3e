// A body read in chunks up to a size cap, joined once at its end: what the ingress reads of a
// request and the delivery clients of a response.

/** The chunks of one body, kept while it stays within `max` bytes. */
export class CappedBody {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  /** Keeps `chunk`; false, keeping nothing more, once the body is past `max` bytes. */
  add(chunk: Buffer): boolean {
    this.size += chunk.length;
    if (this.size > this.max) return false;
    this.chunks.push(chunk);
    return true;
  }

  /** The whole body: its only chunk itself (no copy) when it came in one. */
  joined(): Buffer {
    const [only] = this.chunks;
    return this.chunks.length === 1 && only ? only : Buffer.concat(this.chunks, this.size);
  }
}
