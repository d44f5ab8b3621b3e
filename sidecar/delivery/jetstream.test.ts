import assert from "node:assert/strict";
import { test } from "node:test";
import {
  consumerName,
  deadLetterStream,
  decodeStoredEvent,
  encodeStoredEvent,
  eventStream,
} from "./jetstream.ts";

test("a stored event reads back with its attributes and data, and no data stays no data", () => {
  const event = {
    attributes: { id: "1", source: "/s", type: "t", specversion: "1.0", n: 3 },
    data: Buffer.from("héllo"),
  };
  assert.deepEqual(decodeStoredEvent(encodeStoredEvent(event)), event);
  const bare = { attributes: { id: "2", source: "/s", type: "t", specversion: "1.0" }, data: undefined };
  assert.deepEqual(decodeStoredEvent(encodeStoredEvent(bare)), bare);
  const empty = {
    attributes: { id: "3", source: "/s", type: "t", specversion: "1.0" },
    data: Buffer.alloc(0),
  };
  assert.deepEqual(decodeStoredEvent(encodeStoredEvent(empty)), empty);
});

test("bytes that are not a stored event are refused, not guessed at", () => {
  assert.throws(() => decodeStoredEvent(new Uint8Array([1, 0])), /at least 5 bytes/);
  assert.throws(() => decodeStoredEvent(new Uint8Array([1, 0, 0, 1, 0, 0x7b])), /run past its end/);
  const noId = Buffer.concat([Buffer.from([0, 0, 0, 0, 2]), Buffer.from("{}")]);
  assert.throws(() => decodeStoredEvent(noId), /no id/);
});

test("stream and consumer names stay unique for names with dots (no name has an underscore)", () => {
  assert.equal(eventStream("pay.eu"), "SB_EVENTS_pay_eu");
  assert.equal(deadLetterStream("pay"), "SB_DEAD_pay");
  assert.equal(consumerName("shop", "orders.v2"), "shop_orders_v2");
  assert.notEqual(consumerName("a", "b.c"), consumerName("a-b", "c"));
});
