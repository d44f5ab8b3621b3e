import assert from "node:assert/strict";
import { test } from "node:test";
import { buildRoutingTable } from "../routing/index.ts";
import { eventOf, functionRecord, snapshotOf, subscriptionRecord } from "../testing/routing.ts";
import { createDeliveryFeed, type DeliveryRecord } from "./deliveries.ts";

const table = buildRoutingTable(
  snapshotOf([
    functionRecord({ vpn: "blue", namespace: "team", name: "fn", cluster: "east" }),
    subscriptionRecord({ name: "one" }),
    subscriptionRecord({ name: "two" }),
  ]),
);
const route = (name: string) => {
  const r = table.route("blue", "team", name);
  assert.ok(r, name);
  return r;
};
const endpoint = { url: "http://10.0.0.1:8080/fn", cluster: "east", remote: false };
const ok = { outcome: { status: 200 }, headers: {}, body: undefined, attempts: 1, endpoint };

const none = (): void => {};

test("a follower sees the finished deliveries of its subscription only, until it stops", () => {
  const feed = createDeliveryFeed();
  const seen: DeliveryRecord[] = [];
  const stop = feed.follow("blue", "team/one", (r) => seen.push(r), none);
  assert.equal(typeof stop, "function");
  feed.observe(route("one"), undefined, eventOf({ id: "a" }), ok);
  feed.observe(route("two"), undefined, eventOf({ id: "b" }), ok);
  feed.observe(route("one"), undefined, eventOf({ id: "c", deadletterroute: "team/one" }), {
    ...ok,
    outcome: { error: "timeout" },
    attempts: 3,
  });
  if (typeof stop === "function") stop();
  feed.observe(route("one"), undefined, eventOf({ id: "d" }), ok);
  assert.deepEqual(
    seen.map((r) => [r.id, r.subscription, r.function, r.outcome, r.delivered, r.attempts, r.deadLetter]),
    [
      ["a", "team/one", "team/fn", "200", true, 1, false],
      ["c", "team/one", "team/fn", "timeout", false, 3, true],
    ],
  );
  assert.equal(seen[0]?.url, endpoint.url);
});

test("the feed holds at most 32 followers; close ends every one and refuses new ones", () => {
  const feed = createDeliveryFeed();
  let ended = 0;
  const stops = Array.from({ length: 32 }, () => feed.follow("blue", "team/one", none, () => ended++));
  assert.ok(stops.every((s) => typeof s === "function"));
  assert.equal(feed.follow("blue", "team/two", none, none), "full");
  const [first] = stops;
  if (typeof first === "function") first();
  assert.equal(typeof feed.follow("blue", "team/two", none, () => ended++), "function");
  feed.close();
  assert.equal(ended, 32);
  assert.equal(feed.follow("blue", "team/two", none, none), "closed");
});
