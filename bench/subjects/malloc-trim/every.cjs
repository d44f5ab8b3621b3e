// Preloaded (node --require) by bench/malloc-trim.ts: every $MALLOC_TRIM_EVERY_MS calls the module
// at $MALLOC_TRIM_ADDON, on the event loop (trim()) or, with MALLOC_TRIM_OFF_LOOP=1, on a thread of
// libuv's pool (trimOffLoop()); at exit writes how many calls it made and how long each took (on
// the event loop: how long it stopped the loop) to $MALLOC_TRIM_STATS.
const { writeFileSync } = require("node:fs");

const addon = { exports: {} };
process.dlopen(addon, process.env.MALLOC_TRIM_ADDON);
const offLoop = process.env.MALLOC_TRIM_OFF_LOOP === "1";
const stats = { offLoop, calls: 0, totalMs: 0, maxMs: 0 };
const count = (started) => {
  const ms = performance.now() - started;
  stats.calls++;
  stats.totalMs += ms;
  stats.maxMs = Math.max(stats.maxMs, ms);
};
let running = false;
setInterval(
  () => {
    const started = performance.now();
    if (!offLoop) {
      addon.exports.trim();
      count(started);
    } else if (!running) {
      running = true;
      addon.exports.trimOffLoop().then(() => {
        running = false;
        count(started);
      });
    }
  },
  Number(process.env.MALLOC_TRIM_EVERY_MS ?? "1000"),
).unref();
process.on("exit", () => writeFileSync(process.env.MALLOC_TRIM_STATS, JSON.stringify(stats)));
