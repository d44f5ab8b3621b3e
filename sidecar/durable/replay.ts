// Reading the delivery log at open: every segment in order, the events enqueued and not
// acknowledged, and the sequence to continue from. A torn or corrupt record ends the reading of
// its segment (reported); in the last segment it is where a crash stopped a write, so the tail is
// truncated there and new records follow good ones.
import { readdirSync, readFileSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { ACK, decodeAt, type Enqueued } from "./codec.ts";

export interface Segment {
  readonly name: string;
  /** Bytes of the file that hold complete, checked records. */
  size: number;
  /** Events in this segment not yet acknowledged. */
  outstanding: number;
  /** Bytes of those events' records. */
  liveBytes: number;
}

export interface Replay {
  segments: Segment[];
  pending: Map<number, Enqueued>;
  /** For each pending event: the segment holding its newest copy, and its record's size. */
  placement: Map<number, { segment: Segment; bytes: number }>;
  nextSeq: number;
}

const SEGMENT = /^\d{16}\.seg$/;

/** The file name of a segment starting at `seq`. */
export const segmentName = (seq: number): string => `${String(seq).padStart(16, "0")}.seg`;

/** Reads the log in `dir`; `onCorruption` is told about each bad record (file, offset, reason). */
export const replay = (
  dir: string,
  onCorruption: (file: string, offset: number, reason: string) => void,
): Replay => {
  const names = readdirSync(dir)
    .filter((n) => SEGMENT.test(n))
    .sort();
  const segments: Segment[] = [];
  const pending = new Map<number, Enqueued>();
  const placement = new Map<number, { segment: Segment; bytes: number }>();
  let nextSeq = 1;
  const forget = (seq: number): void => {
    const at = placement.get(seq);
    if (at) {
      at.segment.outstanding--;
      at.segment.liveBytes -= at.bytes;
    }
    placement.delete(seq);
  };
  names.forEach((name, i) => {
    const path = join(dir, name);
    const buf = readFileSync(path);
    const segment: Segment = { name, size: buf.length, outstanding: 0, liveBytes: 0 };
    let offset = 0;
    while (offset < buf.length) {
      const decoded = decodeAt(buf, offset);
      if ("error" in decoded) {
        onCorruption(path, offset, decoded.error);
        if (i === names.length - 1) {
          truncateSync(path, offset);
          segment.size = offset;
        }
        break;
      }
      const { record } = decoded;
      if (record.type === ACK) {
        pending.delete(record.seq);
        forget(record.seq);
      } else {
        // A later copy (written by compaction) supersedes an earlier one of the same event.
        const seq = record.entry.seq;
        forget(seq);
        const bytes = decoded.next - offset;
        pending.set(seq, record.entry);
        placement.set(seq, { segment, bytes });
        segment.outstanding++;
        segment.liveBytes += bytes;
        nextSeq = Math.max(nextSeq, seq + 1);
      }
      offset = decoded.next;
    }
    segments.push(segment);
  });
  return { segments, pending, placement, nextSeq };
};
