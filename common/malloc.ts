// What a block of bytes really holds in glibc's malloc, for the budgets that bound the gateway's
// memory (the queue's --queue-max-bytes, the ingress's --max-inflight-bytes).

/**
 * From this size on, glibc's malloc gives a block pages of its own (mmap), so a payload that large
 * holds whole pages. glibc's own threshold starts at 128 KiB; MALLOC_MMAP_THRESHOLD_ sets another
 * (the image leaves it: scripts/image/spec.ts says why).
 */
const OWN_PAGES_FROM = Number(process.env.MALLOC_MMAP_THRESHOLD_) || 128 * 1024;
const PAGE = 4096;

/** The memory a payload of `bytes` holds: the bytes, or the whole pages of a block mapped on its own (with malloc's 16-byte header). */
export const payloadBytes = (bytes: number, ownPagesFrom = OWN_PAGES_FROM): number =>
  bytes >= ownPagesFrom ? Math.ceil((bytes + 16) / PAGE) * PAGE : bytes;
