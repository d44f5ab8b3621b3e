// The gRPC deframer gives back exactly the messages framed into a byte stream, however the stream
// is cut into chunks: inside a header, inside a message, several messages in one chunk, empty
// messages and chunks; a compressed message is refused.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Deframer, frame } from "./transport.ts";

const messages = [
  Buffer.from("first"),
  Buffer.alloc(0),
  Buffer.from("x"),
  Buffer.alloc(70_000, 7),
  Buffer.from("last message"),
];
const stream = Buffer.concat(messages.map(frame));

/** What a deframer gives back for `stream` cut at `cuts` (ascending offsets). */
const deframed = (cuts: number[]): Buffer[] => {
  const d = new Deframer();
  const out: Buffer[] = [];
  let from = 0;
  for (const at of [...cuts, stream.length]) {
    out.push(...d.push(stream.subarray(from, at)));
    from = at;
  }
  assert.equal(d.received, stream.length);
  return out;
};

test("one chunk holding every message", () => {
  assert.deepEqual(deframed([]), messages);
});

test("every cut inside the first 40 bytes (headers and short messages split anywhere)", () => {
  for (let at = 0; at <= 40; at++) assert.deepEqual(deframed([at]), messages, `cut at ${at}`);
});

test("byte by byte around the large message, then in 16 KiB frames", () => {
  const cuts: number[] = [];
  for (let at = 1; at < 40; at++) cuts.push(at);
  for (let at = 40; at < stream.length; at += 16_384) cuts.push(at);
  assert.deepEqual(deframed(cuts), messages);
});

test("random cuts, including empty chunks", () => {
  let seed = 42;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let run = 0; run < 50; run++) {
    const cuts = Array.from({ length: 12 }, () => Math.floor(random() * (stream.length + 1))).sort(
      (a, b) => a - b,
    );
    assert.deepEqual(deframed(cuts), messages, `cuts ${cuts.join(",")}`);
  }
});

test("a message is complete only with its last byte; what follows it waits for the rest", () => {
  const d = new Deframer();
  const two = Buffer.concat([frame(Buffer.from("abc")), frame(Buffer.from("defg"))]);
  assert.deepEqual(d.push(two.subarray(0, 7)), []);
  assert.deepEqual(d.push(two.subarray(7, 10)), [Buffer.from("abc")]);
  assert.deepEqual(d.push(two.subarray(10)), [Buffer.from("defg")]);
});

test("a compressed message is refused", () => {
  const compressed = frame(Buffer.from("zz"));
  compressed[0] = 1;
  assert.throws(() => new Deframer().push(compressed), /compressed gRPC message/);
});
