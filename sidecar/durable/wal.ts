// The delivery log: accepted async events are appended here before the gateway answers 202, and
// acknowledged once delivered, dead-lettered or dropped. After a crash, `recovered` holds exactly
// the events appended and not acknowledged: at-least-once, never loss.
//
// - Segments `<first seq, 16 digits>.seg` in one directory per gateway; a new one every
//   `segmentBytes`. A segment is deleted once every event in it is acknowledged.
// - Group commit: appends made while a write is in progress share the next write and fsync.
//   Acknowledgements are written without an fsync of their own (a lost ack means a duplicate
//   delivery, never a loss).
// - A torn or corrupt tail (a crash mid-write) is detected by length and CRC, reported, and
//   truncated; a corrupt record elsewhere ends the reading of that segment and is reported.
// - The total size is capped: an append that would exceed it fails with WalFullError (the
//   gateway answers 503 with Retry-After) before anything is written.
import { mkdirSync, readdirSync, readFileSync, truncateSync, unlinkSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../../common/log.ts";
import type { CloudEvent } from "../types.ts";
import { ACK, decodeAt, type Enqueued, encodeAck, encodeEnqueue } from "./codec.ts";

export type { Enqueued };

/** The log is at its size cap; nothing of the append was written. */
export class WalFullError extends Error {
  override name = "WalFullError";
}

export interface WalOptions {
  dir: string;
  durability: "fsync" | "none";
  maxBytes: number;
  segmentBytes?: number;
  log: Logger;
  /** Told about each truncated tail or corrupt record found at open. */
  onCorruption?: (file: string, offset: number, reason: string) => void;
}

export interface Wal {
  /** Events appended before a crash and never acknowledged, in append order. */
  readonly recovered: readonly Enqueued[];
  /** Appends durably (per `durability`); resolves with the sequence numbers once written. Throws WalFullError at the cap. */
  append(entries: readonly { routeKey: string; event: CloudEvent }[]): Promise<number[]>;
  /** Acknowledges an event: it will not be replayed (persisted with the next write). */
  ack(seq: number): void;
  /** Bytes of segment files on disk, including writes in progress. */
  bytes(): number;
  /** Writes pending acknowledgements and closes the file. */
  close(): Promise<void>;
}

interface Segment {
  name: string;
  size: number;
  outstanding: number;
}

const SEGMENT = /^\d{16}\.seg$/;
const segmentName = (seq: number): string => `${String(seq).padStart(16, "0")}.seg`;

interface Replay {
  segments: Segment[];
  pending: Map<number, Enqueued>;
  segmentOf: Map<number, Segment>;
  nextSeq: number;
}

const replay = (dir: string, onCorruption: NonNullable<WalOptions["onCorruption"]>): Replay => {
  const names = readdirSync(dir)
    .filter((n) => SEGMENT.test(n))
    .sort();
  const segments: Segment[] = [];
  const pending = new Map<number, Enqueued>();
  const segmentOf = new Map<number, Segment>();
  let nextSeq = 1;
  names.forEach((name, i) => {
    const path = join(dir, name);
    const buf = readFileSync(path);
    const segment: Segment = { name, size: buf.length, outstanding: 0 };
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
        const owner = segmentOf.get(record.seq);
        if (pending.delete(record.seq) && owner) owner.outstanding--;
        segmentOf.delete(record.seq);
      } else {
        pending.set(record.entry.seq, record.entry);
        segmentOf.set(record.entry.seq, segment);
        segment.outstanding++;
        nextSeq = Math.max(nextSeq, record.entry.seq + 1);
      }
      offset = decoded.next;
    }
    segments.push(segment);
  });
  return { segments, pending, segmentOf, nextSeq };
};

/** Opens (or creates) the log in `dir`, replaying what a previous run left. */
export const openWal = async ({
  dir,
  durability,
  maxBytes,
  segmentBytes = 16 * 1024 * 1024,
  log,
  onCorruption,
}: WalOptions): Promise<Wal> => {
  mkdirSync(dir, { recursive: true });
  const report = (file: string, offset: number, reason: string): void => {
    log.warn(
      { file, offset, reason },
      "delivery log: corrupt or torn record; the rest of that segment is ignored and a torn tail truncated",
    );
    onCorruption?.(file, offset, reason);
  };
  const state = replay(dir, report);
  const { pending, segmentOf } = state;
  let segments = state.segments;
  let nextSeq = state.nextSeq;
  let total = segments.reduce((n, s) => n + s.size, 0);
  const recovered = [...pending.values()].sort((a, b) => a.seq - b.seq);
  let active: Segment = { name: segmentName(nextSeq), size: 0, outstanding: 0 };
  let fh: FileHandle = await open(join(dir, active.name), "a");
  segments.push(active);

  const removeDone = (): void => {
    const keep: Segment[] = [];
    for (const s of segments) {
      if (s !== active && s.outstanding <= 0) {
        unlinkSync(join(dir, s.name));
        total -= s.size;
      } else keep.push(s);
    }
    segments = keep;
  };
  removeDone();

  let queue: { buf: Buffer; seq?: number; done?: PromiseWithResolvers<void> }[] = [];
  let flushing: Promise<void> | undefined;

  const writeBatch = async (batch: typeof queue): Promise<void> => {
    const good = active.size;
    const size = batch.reduce((n, b) => n + b.buf.length, 0);
    try {
      await fh.writev(batch.map((b) => b.buf));
      if (durability === "fsync" && batch.some((b) => b.done)) await fh.datasync();
      active.size += size;
      // Events belong to the segment they were written to (a rotation may come between append and write).
      for (const b of batch) {
        if (b.seq === undefined) continue;
        segmentOf.set(b.seq, active);
        active.outstanding++;
      }
      for (const b of batch) b.done?.resolve();
    } catch (err) {
      // Never leave a partial record in the middle of a segment: later appends follow it.
      await fh.truncate(good).catch(() => {});
      total -= size;
      for (const b of batch) {
        b.done?.reject(err);
      }
    }
  };

  // The loop's last look at the queue and the reset of `flushing` happen with no await between
  // them, so an append either lands in this loop's queue or starts a new loop.
  const flush = (): Promise<void> => {
    if (flushing) return flushing;
    flushing = (async () => {
      try {
        while (queue.length > 0) {
          const batch = queue;
          queue = [];
          await writeBatch(batch);
          if (active.size >= segmentBytes) await rotate();
        }
      } finally {
        flushing = undefined;
      }
    })();
    return flushing;
  };

  const rotate = async (): Promise<void> => {
    await fh.close();
    active = { name: segmentName(nextSeq), size: 0, outstanding: 0 };
    fh = await open(join(dir, active.name), "a");
    segments.push(active);
    removeDone();
  };

  return {
    recovered,
    append: async (entries) => {
      const bufs = entries.map((e) => {
        const seq = nextSeq++;
        return { seq, buf: encodeEnqueue({ seq, routeKey: e.routeKey, event: e.event }), entry: e };
      });
      const size = bufs.reduce((n, b) => n + b.buf.length, 0);
      if (total + size > maxBytes) {
        throw new WalFullError(
          `the delivery log holds ${total} bytes; ${size} more would exceed its cap of ${maxBytes}`,
        );
      }
      total += size;
      const done = Promise.withResolvers<void>();
      for (const [i, b] of bufs.entries()) {
        queue.push({ buf: b.buf, seq: b.seq, ...(i === bufs.length - 1 ? { done } : {}) });
      }
      void flush();
      await done.promise;
      return bufs.map((b) => b.seq);
    },
    ack: (seq) => {
      const owner = segmentOf.get(seq);
      if (!owner) return;
      segmentOf.delete(seq);
      owner.outstanding--;
      const buf = encodeAck(seq);
      total += buf.length;
      queue.push({ buf });
      if (owner !== active && owner.outstanding <= 0) removeDone();
      setImmediate(() => void flush());
    },
    bytes: () => total,
    close: async () => {
      await flush();
      await fh.close();
    },
  };
};
