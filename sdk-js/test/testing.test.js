// The fake host and the event builders.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as host from "stagehand:plugin/host@0.3.0";
import { kinds, kv, now, log } from "../index.js";
import * as testing from "../testing/index.js";

test("the fake host keeps kv, logs, time and settings, and reset empties it", () => {
  testing.reset();
  kv.set("k", "v");
  assert.equal(kv.get("k"), "v");
  assert.deepEqual(testing.kv(), { k: "v" });
  kv.delete("k");
  assert.equal(kv.get("k"), null);
  assert.deepEqual(testing.kv(), {});
  log.info("hello");
  assert.equal(testing.logs().length, 1);
  testing.setNow(42);
  assert.equal(now(), 42);
  testing.setSettings({ a: 1 });
  assert.equal(host.settings(), '{"a":1}');
  testing.reset();
  assert.equal(testing.logs().length, 0);
  assert.equal(now(), 1_700_000_000_000);
  assert.equal(host.settings(), "{}");
});

test("builders make events as the host sends them", () => {
  testing.reset();
  assert.deepEqual(testing.follow("JaneDoe"), {
    id: "test-channel.follow-1700000000000",
    kind: "channel.follow",
    source: "test",
    channelId: "1000",
    viewer: { id: "4242", login: "janedoe", displayName: "JaneDoe" },
    occurredAtMs: 1700000000000,
    data: { tag: "follow", val: { followedAtMs: 1700000000000 } },
  });
  assert.deepEqual(testing.about(kinds.VIP_ADD, "Ann").data, { tag: "vip-add" });
  assert.throws(() => testing.about(kinds.CHEER, "Ann"), /carries data/);
  assert.equal(testing.gift(null, 5).viewer, null);
  assert.equal(testing.cheer("", 5).viewer, null);
  assert.deepEqual(testing.chat("Ann", "hi", ["moderator"]).data.val.badges, [
    { setId: "moderator", id: "1", info: "" },
  ]);
  assert.equal(testing.timeout("Ann", 60).data.val.expiresAtMs, 1_700_000_060_000);
  assert.equal(testing.giftedSub("Ann", 2000).data.val.isGift, true);
  assert.equal(testing.subscriptionEnd("Ann").data.tag, "subscription-end");
  assert.equal(testing.streamOffline("Caster").data.val.broadcasterName, "Caster");
  assert.equal(testing.other("x.y", { a: 1 }).data.val, '{"a":1}');
  const kindsBuilt = [
    testing.follow("a"), testing.subscribe("a"), testing.giftedSub("a"), testing.subscriptionEnd("a"),
    testing.ban("a"), testing.timeout("a", 1), testing.streamOnline("a"), testing.streamOffline("a"),
    testing.clip("a", "t"), testing.resub("a", 2), testing.gift("a", 1), testing.cheer("a", 1),
    testing.raid("a", 1), testing.redemption("a", "t", 1), testing.chat("a", "t"),
  ].map((e) => e.kind);
  for (const k of kindsBuilt) assert.ok(kinds.KNOWN.includes(k), k);
});
