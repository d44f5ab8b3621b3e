// A Map for per-request bookkeeping (counts in flight, bytes reserved, per-function slots) whose
// entries stay when they fall idle and are dropped in bulk once the map has grown.
//
// Why not delete an entry when its count reaches zero: V8 rebuilds a Map's hash table on a delete
// that leaves it sparse (OrderedHashMap::Shrink, even from one entry to none) and allocates the new
// table in the generation the old one lives in. A Map that lives as long as the gateway is in the
// old generation, so a set and a delete per request left 33–50 bytes of old-generation garbage per
// request (a loop of 100 000 set/delete pairs on a promoted Map, old space measured before and
// after; with the entry kept at zero: 5 KiB in all). Three such maps on the sync path made most of
// what the gateway promoted at 1000/s (bench/cost.ts, the allocation profile of what survived
// minor collections: `delete` was 62 %), and the old generation grew by several MiB between
// major collections.
//
// Entries whose value is idle are removed, all at once, when a new key would take the map past
// twice the size it had after the last sweep (at least `minSweepSize`): each sweep is paid for by
// as many insertions as it can remove, and a map whose keys come and go (VPNs, functions
// deleted) stays within twice its busy size.

/** A Map whose idle entries are kept until the map grows, then dropped together. */
export class IdleKeepingMap<K, V> {
  private readonly entries = new Map<K, V>();
  private readonly idle: (value: V) => boolean;
  private readonly minSweepSize: number;
  private sweepAt: number;

  /** `idle` says whether an entry may be dropped (a count of zero, a slot nobody holds or waits for). */
  constructor(idle: (value: V) => boolean, minSweepSize = 256) {
    this.idle = idle;
    this.minSweepSize = minSweepSize;
    this.sweepAt = minSweepSize;
  }

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  /** Sets `key`; a new key that would reach the sweep size first drops the idle entries. */
  set(key: K, value: V): void {
    if (this.entries.size >= this.sweepAt && !this.entries.has(key)) this.sweep();
    this.entries.set(key, value);
  }

  /** Entries held, idle ones not yet dropped included. */
  get size(): number {
    return this.entries.size;
  }

  private sweep(): void {
    for (const [key, value] of this.entries) if (this.idle(value)) this.entries.delete(key);
    this.sweepAt = Math.max(this.minSweepSize, 2 * this.entries.size);
  }
}

/** Counts by key, kept at zero (see IdleKeepingMap). */
export const idleKeepingCounts = <K>(minSweepSize?: number): IdleKeepingMap<K, number> =>
  new IdleKeepingMap<K, number>((n) => n <= 0, minSweepSize);
