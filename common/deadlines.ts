// Deadlines kept by one shared timer instead of a Node timer per operation. Every delivery attempt
// has a deadline, and nearly all of them are cancelled long before it (the function answers in a
// millisecond; the deadline is seconds away): a setTimeout/clearTimeout pair per attempt was
// 1.5–1.8 µs of the gateway's CPU per request and a Timeout object per request to collect
// (bench/cost.ts, `insert`, `unenroll`, `clearTimeout` in node:timers), and with one request in
// flight at a time Node also built and dropped its list for that duration every time.
//
// The entries are the operations themselves (an intrusive doubly linked list: adding and removing
// allocate nothing). Entries of one duration are added in the order of their deadlines, so each
// duration's list is sorted and the earliest deadline is the head of one of them. The timer is
// armed for the earliest head and is not disarmed when entries go: it wakes, expires what is due
// and re-arms for what is left, or stops when nothing is.

/** An operation with a deadline: the fields are the list's, set by Deadlines. */
export interface DeadlineEntry {
  /** Called once, when the deadline passes before the entry was removed. */
  expire(): void;
  deadlineAt: number;
  prevDeadline: DeadlineEntry | undefined;
  nextDeadline: DeadlineEntry | undefined;
  deadlineList: DeadlineList | undefined;
}

/** An entry of its own for an operation that is not one already: `expire` called at its deadline. */
export const deadlineEntry = (expire: () => void): DeadlineEntry => ({
  expire,
  deadlineAt: 0,
  prevDeadline: undefined,
  nextDeadline: undefined,
  deadlineList: undefined,
});

/** The entries of one duration, earliest first. */
export interface DeadlineList {
  head: DeadlineEntry | undefined;
  tail: DeadlineEntry | undefined;
}

export class Deadlines {
  /** One list per duration (ms). */
  private readonly lists = new Map<number, DeadlineList>();
  private timer: NodeJS.Timeout | undefined;
  /** When the armed timer fires (performance.now()); Infinity when none is armed. */
  private armedAt = Number.POSITIVE_INFINITY;
  private readonly now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.now = now;
  }

  /** Expires `entry` in `ms` milliseconds unless it is removed first. */
  add(entry: DeadlineEntry, ms: number): void {
    if (entry.deadlineList) this.remove(entry);
    let list = this.lists.get(ms);
    if (!list) {
      list = { head: undefined, tail: undefined };
      this.lists.set(ms, list);
    }
    entry.deadlineAt = this.now() + ms;
    entry.deadlineList = list;
    entry.prevDeadline = list.tail;
    entry.nextDeadline = undefined;
    if (list.tail) list.tail.nextDeadline = entry;
    else list.head = entry;
    list.tail = entry;
    if (entry.deadlineAt < this.armedAt) this.arm(entry.deadlineAt);
  }

  /** Takes `entry` off its deadline (nothing when it has none). */
  remove(entry: DeadlineEntry): void {
    const list = entry.deadlineList;
    if (!list) return;
    const { prevDeadline: prev, nextDeadline: next } = entry;
    if (prev) prev.nextDeadline = next;
    else list.head = next;
    if (next) next.prevDeadline = prev;
    else list.tail = prev;
    entry.prevDeadline = undefined;
    entry.nextDeadline = undefined;
    entry.deadlineList = undefined;
  }

  /** Entries waiting for their deadline (for tests and metrics). */
  size(): number {
    let n = 0;
    for (const list of this.lists.values()) for (let e = list.head; e; e = e.nextDeadline) n++;
    return n;
  }

  private arm(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.armedAt = at;
    // Node's timers have millisecond resolution and may fire up to a millisecond early against
    // performance.now(): an early wake finds nothing due and re-arms.
    this.timer = setTimeout(() => this.fire(), Math.max(1, Math.ceil(at - this.now())));
    // The operations themselves (sockets, lookups) keep the process alive, not their deadlines.
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    this.armedAt = Number.POSITIVE_INFINITY;
    const now = this.now();
    let next = Number.POSITIVE_INFINITY;
    for (const [ms, list] of this.lists) {
      let head = list.head;
      while (head && head.deadlineAt <= now) {
        this.remove(head);
        head.expire();
        head = list.head;
      }
      if (head) next = Math.min(next, head.deadlineAt);
      else this.lists.delete(ms);
    }
    // An entry added by an expire() above may already have armed the timer.
    if (next < this.armedAt) this.arm(next);
  }
}
