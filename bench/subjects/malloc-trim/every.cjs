// Preloaded (node --require) by bench/malloc-trim.ts: calls the trim() of the module at
// $MALLOC_TRIM_ADDON every $MALLOC_TRIM_EVERY_MS on the event loop, and at exit writes how many
// calls it made and how long they blocked the loop to $MALLOC_TRIM_STATS.
const { writeFileSync } = require("node:fs");

const addon = { exports: {} };
process.dlopen(addon, process.env.MALLOC_TRIM_ADDON);
const stats = { calls: 0, totalMs: 0, maxMs: 0 };
setInterval(
  () => {
    const started = performance.now();
    addon.exports.trim();
    const ms = performance.now() - started;
    stats.calls++;
    stats.totalMs += ms;
    stats.maxMs = Math.max(stats.maxMs, ms);
  },
  Number(process.env.MALLOC_TRIM_EVERY_MS ?? "1000"),
).unref();
process.on("exit", () => writeFileSync(process.env.MALLOC_TRIM_STATS, JSON.stringify(stats)));
