// The delivery log: accepted async events are appended here before the gateway answers 202, and
// acknowledged once delivered, dead-lettered or dropped. After a crash, `recovered` holds exactly
// the events appended and not acknowledged: at-least-once, never loss (docs/durability.md).
//
// - Segments `<number, 16 digits>.seg` in one directory per gateway; a new one every
//   `segmentBytes` (by default an eighth of the cap, between 64 KiB and 16 MiB). Segments are
//   deleted oldest first, once every event in them is acknowledged.
// - Group commit: appends made while a write is in progress share the next write and fsync.
//   Acknowledgements are written without an fsync of their own (a lost ack means a duplicate
//   delivery, never a loss).
// - A write is complete or undone: short writes are continued (./write.ts); a write or fsync that
//   fails (ENOSPC, EIO) truncates the segment back to its last good record and fails every append
//   of that batch, so no 202 is ever given for bytes that are not on disk. The log then reports
//   itself failing (health(), /readyz) until a write succeeds or the file system has room again.
// - The cap (`maxBytes`) is on outstanding events: the records of events not yet acknowledged.
//   An append that would exceed it fails with WalFullError before anything is written.
//   Acknowledged records are garbage; when garbage exceeds four segments, the oldest segment is
//   compacted (its outstanding events copied to the active segment, then the file deleted), so
//   the disk holds at most the cap plus a bounded overhead (`maxBytes + 6 × segmentBytes`, also
//   enforced as a hard limit).
// - A torn or corrupt tail (a crash mid-write) is detected by length and CRC, reported, and
//   truncated; a corrupt record elsewhere ends the reading of that segment and is reported.
import { readFileSync, unlinkSync } from "node:fs";
import { type FileHandle, mkdir, open, statfs } from "node:fs/promises";
import { join } from "node:path";
import { errorMessage } from "../../common/errors.ts";
import type { Logger } from "../../common/log.ts";
import type { CloudEvent } from "../types.ts";
import { ACK, decodeAt, type Enqueued, encodeAck, encodeEnqueue } from "./codec.ts";
import { replay, type Segment, segmentName } from "./replay.ts";
import { writeFully } from "./write.ts";

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
  /** How often a failing log checks whether the file system has room again, in ms. */
  probeIntervalMs?: number;
}

/** ok; full (the last append was refused at the cap and nothing was acknowledged since); failing (the last write failed). */
export interface WalHealth {
  state: "ok" | "full" | "failing";
  detail?: string;
}

export interface Wal {
  /** Events appended before a crash and never acknowledged, in append order. */
  readonly recovered: readonly Enqueued[];
  /**
   * Appends durably (per `durability`); resolves with the sequence numbers once every byte is
   * written (and fsynced). Throws WalFullError at the cap, or the file system's error when the
   * write failed (nothing of it remains in the log).
   */
  append(entries: readonly { routeKey: string; event: CloudEvent }[]): Promise<number[]>;
  /** Acknowledges an event: it will not be replayed (persisted with the next write). */
  ack(seq: number): void;
  /** Bytes of segment files on disk, including writes in progress. */
  bytes(): number;
  /** Bytes of the records of events not yet acknowledged (what the cap measures). */
  liveBytes(): number;
  health(): WalHealth;
  /** Writes pending acknowledgements and closes the file. */
  close(): Promise<void>;
}

type Item =
  | { kind: "enqueue"; buf: Buffer; seq: number; done?: PromiseWithResolvers<void> }
  | { kind: "ack"; buf: Buffer }
  | { kind: "relocate"; buf: Buffer; seq: number; from: Segment };

const SEGMENT_NUMBER = /^(\d{16})\.seg$/;

/** Opens (or creates) the log in `dir`, replaying what a previous run left. */
export const openWal = async ({
  dir,
  durability,
  maxBytes,
  segmentBytes = Math.min(16 * 1024 * 1024, Math.max(64 * 1024, Math.floor(maxBytes / 8))),
  log,
  onCorruption,
  probeIntervalMs = 1000,
}: WalOptions): Promise<Wal> => {
  await mkdir(dir, { recursive: true });
  const report = (file: string, offset: number, reason: string): void => {
    log.warn(
      { file, offset, reason },
      "delivery log: corrupt or torn record; the rest of that segment is ignored and a torn tail truncated",
    );
    onCorruption?.(file, offset, reason);
  };
  const state = replay(dir, report);
  const { placement } = state;
  const segments = state.segments;
  let nextSeq = state.nextSeq;
  let lastNumber = Math.max(0, ...segments.map((s) => Number(SEGMENT_NUMBER.exec(s.name)?.[1] ?? 0)));
  let disk = segments.reduce((n, s) => n + s.size, 0);
  let live = segments.reduce((n, s) => n + s.liveBytes, 0);
  const maxDisk = maxBytes + 6 * segmentBytes;
  const recovered = [...state.pending.values()].sort((a, b) => a.seq - b.seq);

  let failure: string | undefined;
  let full = false;
  /** Acknowledgements whose write failed: written again with the next write. */
  let deferredAcks: Buffer[] = [];
  let compacting: Segment | undefined;

  const newSegment = async (): Promise<{ segment: Segment; fh: FileHandle }> => {
    lastNumber = Math.max(lastNumber + 1, nextSeq);
    const segment: Segment = { name: segmentName(lastNumber), size: 0, outstanding: 0, liveBytes: 0 };
    return { segment, fh: await open(join(dir, segment.name), "a") };
  };
  let { segment: active, fh } = await newSegment();
  segments.push(active);

  // Segments are deleted oldest first: a segment may hold the acknowledgements of events in older
  // ones, so deleting it while those exist would bring the events back on replay.
  const removeDone = (): void => {
    for (let s = segments[0]; s !== undefined && s !== active && s.outstanding <= 0; s = segments[0]) {
      try {
        unlinkSync(join(dir, s.name));
      } catch (err) {
        log.error(
          { file: s.name, err: errorMessage(err) },
          "delivery log: could not delete a finished segment",
        );
        return;
      }
      disk -= s.size;
      if (compacting === s) compacting = undefined;
      segments.shift();
    }
  };
  removeDone();

  let queue: Item[] = [];
  let flushing: Promise<void> | undefined;

  const place = (seq: number, segment: Segment, bytes: number): void => {
    placement.set(seq, { segment, bytes });
    segment.outstanding++;
    segment.liveBytes += bytes;
  };

  const written = (batch: readonly Item[]): void => {
    for (const item of batch) {
      if (item.kind === "enqueue") place(item.seq, active, item.buf.length);
      else if (item.kind === "relocate") {
        const at = placement.get(item.seq);
        if (at?.segment === item.from) {
          item.from.outstanding--;
          item.from.liveBytes -= at.bytes;
          place(item.seq, active, item.buf.length);
        } else {
          // Acknowledged while being copied: the copy must not outlive the ack on replay.
          queue.push({ kind: "ack", buf: encodeAck(item.seq) });
        }
      }
    }
  };

  const writeBatch = async (batch: Item[]): Promise<void> => {
    const good = active.size;
    const size = batch.reduce((n, b) => n + b.buf.length, 0);
    disk += size;
    try {
      await writeFully(
        fh,
        batch.map((b) => b.buf),
      );
      if (durability === "fsync" && batch.some((b) => b.kind === "enqueue" && b.done)) await fh.datasync();
      active.size += size;
      if (failure !== undefined) log.info({ was: failure }, "delivery log: writing again");
      failure = undefined;
      written(batch);
      for (const b of batch) if (b.kind === "enqueue") b.done?.resolve();
      removeDone();
    } catch (err) {
      disk -= size;
      // Never leave a partial record in the middle of a segment: later appends follow it.
      await fh.truncate(good).catch((truncateErr: unknown) => {
        log.error({ err: errorMessage(truncateErr) }, "delivery log: could not truncate a failed write");
      });
      if (failure === undefined)
        log.error(
          { err: errorMessage(err), bytes: size },
          "delivery log: write failed; appends refused until it can write again",
        );
      failure = errorMessage(err);
      for (const b of batch) {
        if (b.kind === "enqueue") {
          live -= b.buf.length;
          b.done?.reject(err);
        } else if (b.kind === "ack") deferredAcks.push(b.buf);
        else if (compacting === b.from) compacting = undefined;
      }
    }
  };

  /** Starts a new active segment; never throws (a failure to open one is the log's failure). */
  const rotate = async (): Promise<void> => {
    try {
      const next = await newSegment();
      await fh.close();
      ({ segment: active, fh } = next);
      segments.push(active);
      removeDone();
    } catch (err) {
      failure = `cannot start a new segment: ${errorMessage(err)}`;
      log.error({ err: errorMessage(err) }, "delivery log: cannot start a new segment");
    }
  };
  /** Full segments are sealed; so is an active segment holding only acknowledged events while the log fails (deleting it is what frees room). */
  const rotateDue = (): boolean =>
    active.size >= segmentBytes || (failure !== undefined && active.outstanding === 0 && active.size > 0);

  /**
   * When garbage exceeds four segments: copies the outstanding events of the oldest segment (what
   * keeps every later finished segment on disk) to the active one, so that it can be deleted.
   */
  const maybeCompact = (): void => {
    if (compacting !== undefined || failure !== undefined || disk - live <= 4 * segmentBytes) return;
    const victim = segments[0];
    if (victim === undefined || victim === active || victim.outstanding <= 0) return;
    let buf: Buffer;
    try {
      buf = readFileSync(join(dir, victim.name)).subarray(0, victim.size);
    } catch (err) {
      log.error(
        { file: victim.name, err: errorMessage(err) },
        "delivery log: could not read a segment to compact",
      );
      return;
    }
    const copies: Item[] = [];
    for (let offset = 0; offset < buf.length; ) {
      const decoded = decodeAt(buf, offset);
      if ("error" in decoded) break;
      const { record } = decoded;
      if (record.type !== ACK && placement.get(record.entry.seq)?.segment === victim)
        copies.push({
          kind: "relocate",
          seq: record.entry.seq,
          from: victim,
          buf: buf.subarray(offset, decoded.next),
        });
      offset = decoded.next;
    }
    // Nothing to copy (a segment whose events could not be read back): leave it, and stop compacting.
    compacting = victim;
    if (copies.length === 0) return;
    queue.push(...copies);
    void flush();
  };

  // The loop's last look at the queue and the reset of `flushing` happen with no await between
  // them, so an append either lands in this loop's queue or starts a new loop.
  const flush = (): Promise<void> => {
    if (flushing) return flushing;
    flushing = (async () => {
      try {
        while (queue.length > 0) {
          const batch = [...deferredAcks.map((buf): Item => ({ kind: "ack", buf })), ...queue];
          deferredAcks = [];
          queue = [];
          await writeBatch(batch);
          if (rotateDue()) await rotate();
          maybeCompact();
        }
      } finally {
        flushing = undefined;
      }
    })();
    return flushing;
  };

  // While failing: retry the deferred acknowledgements, or see whether the file system has room.
  const probe = setInterval(() => {
    if (failure === undefined || flushing) return;
    if (rotateDue()) {
      flushing = rotate().finally(() => {
        flushing = undefined;
      });
      return;
    }
    if (deferredAcks.length > 0) {
      queue.push(...deferredAcks.map((buf): Item => ({ kind: "ack", buf })));
      deferredAcks = [];
      void flush();
      return;
    }
    void statfs(dir).then(
      (fs) => {
        if (failure !== undefined && fs.bavail * fs.bsize >= 2 * segmentBytes) {
          log.info(
            { was: failure, freeBytes: fs.bavail * fs.bsize },
            "delivery log: the file system has room again",
          );
          failure = undefined;
        }
      },
      () => {},
    );
  }, probeIntervalMs);
  probe.unref();

  return {
    recovered,
    append: async (entries) => {
      const items = entries.map((e): Item & { kind: "enqueue" } => {
        const seq = nextSeq++;
        return { kind: "enqueue", seq, buf: encodeEnqueue({ seq, routeKey: e.routeKey, event: e.event }) };
      });
      const size = items.reduce((n, b) => n + b.buf.length, 0);
      if (live + size > maxBytes || disk + size > maxDisk) {
        full = true;
        throw new WalFullError(
          `the delivery log holds ${live} bytes of undelivered events (${disk} on disk); ${size} more would exceed its cap of ${maxBytes}`,
        );
      }
      live += size;
      const done = Promise.withResolvers<void>();
      const last = items.at(-1);
      if (last) last.done = done;
      queue.push(...items);
      void flush();
      await done.promise;
      return items.map((b) => b.seq);
    },
    ack: (seq) => {
      const at = placement.get(seq);
      if (!at) return;
      placement.delete(seq);
      at.segment.outstanding--;
      at.segment.liveBytes -= at.bytes;
      live -= at.bytes;
      full = false;
      queue.push({ kind: "ack", buf: encodeAck(seq) });
      if (at.segment !== active && at.segment.outstanding <= 0) removeDone();
      setImmediate(() => void flush());
    },
    bytes: () => disk,
    liveBytes: () => live,
    health: () =>
      failure !== undefined
        ? { state: "failing", detail: failure }
        : full
          ? { state: "full" }
          : { state: "ok" },
    close: async () => {
      clearInterval(probe);
      await flush();
      await fh.close();
    },
  };
};
