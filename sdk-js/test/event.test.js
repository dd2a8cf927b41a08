// who / named / field / lookup / message, with the Rust SDK's cases.
import { test } from "node:test";
import assert from "node:assert/strict";
import { who, named, field, lookup, message, kinds } from "../index.js";
import * as testing from "../testing/index.js";

test("who names the right person", () => {
  assert.equal(who(testing.gift(null, 5)), "An anonymous gifter");
  assert.equal(who(testing.gift("Gus", 5)), "Gus");
  assert.equal(who(testing.cheer("", 100, "")), "Anonymous");
  assert.equal(who(testing.raid("Raider", 10)), "Raider");
  assert.equal(who(testing.follow("Ann")), "Ann");
  assert.equal(who(testing.follow(" ")), "Someone");
  assert.equal(who(testing.clip("Clipper", "wow")), "Clipper");
  assert.equal(who(testing.streamOnline("Caster")), "Caster");
  assert.equal(who(testing.other("x.y", { username: "Olly" })), "Olly");
  assert.equal(named(testing.follow(" ")), null);
  assert.equal(named(testing.other("x.y", { n: 1 })), null);
});

test("fields carry the JSON names", () => {
  const e = testing.cheer("Bob", 500, "hype");
  assert.equal(field(e, "bits"), "500");
  assert.equal(field(e, "message"), "hype");
  assert.equal(field(e, "username"), "Bob");
  assert.equal(field(e, "kind"), "channel.cheer");
  assert.equal(field(e, "viewer.login"), "bob");
  assert.equal(field(e, "is_anonymous"), "false");
  assert.equal(field(e, "tier"), null);
  assert.equal(field(e, "tier_name"), null);
  const s = testing.subscribe("Ann", 2000);
  assert.equal(field(s, "tier_name"), "Tier 2");
  assert.equal(field(s, "is_gift"), "false");
  const r = testing.redemption("Ann", "Hydrate", 100, "");
  assert.equal(field(r, "reward.title"), "Hydrate");
  assert.equal(field(r, "reward.cost"), "100");
  const other = testing.other("channel.hype_train.begin", { level: 3, top: [{ user: "x" }] });
  assert.equal(field(other, "level"), "3");
  assert.equal(field(other, "top.0.user"), "x");
  const b = testing.ban("Troll", "");
  assert.equal(field(b, "reason"), null);
  assert.equal(field(b, "moderator_username"), "Mod");
  assert.equal(field(b, "is_permanent"), "true");
  const t = testing.timeout("Troll", 60);
  assert.equal(field(t, "duration_seconds"), "60");
  assert.equal(field(testing.resub("Ann", 12, "hi"), "cumulative_months"), "12");
  assert.equal(field(testing.chat("Ann", "hello"), "text"), "hello");
  assert.equal(field(testing.follow("Ann"), "followed_at"), "1700000000000");
  assert.equal(field(testing.clip("C", "wow"), "view_count"), "0");
  assert.equal(field(testing.streamOnline("C"), "type"), "live");
  assert.equal(field(testing.about(kinds.UNBAN, "Ann"), "username"), "Ann");
});

test("lookup follows dotted paths", () => {
  const d = { reward: { title: "Hydrate" }, bits: 5, ok: true, badges: [{ id: "1" }], none: null };
  assert.equal(lookup(d, "reward.title"), "Hydrate");
  assert.equal(lookup(d, "bits"), "5");
  assert.equal(lookup(d, "ok"), "true");
  assert.equal(lookup(d, "badges.0.id"), "1");
  assert.equal(lookup(d, "none"), null);
  assert.equal(lookup(d, "reward"), null);
  assert.equal(lookup(d, "missing.path"), null);
  assert.equal(lookup(d, "constructor"), null);
  assert.equal(lookup(d, "badges.x"), null);
});

test("message is what a viewer attached, if not blank", () => {
  assert.equal(message(testing.resub("Ann", 3, "yay")), "yay");
  assert.equal(message(testing.cheer("Bob", 5, "  ")), null);
  assert.equal(message(testing.chat("Ann", "hello")), "hello");
  assert.equal(message(testing.redemption("Ann", "Song", 5, "track")), "track");
  assert.equal(message(testing.follow("Ann")), null);
});

test("donations and Discord events name their person and carry their fields", () => {
  const d = testing.donation("Ann", "5.00", "EUR", "hi", false);
  assert.equal(d.source, "external");
  assert.equal(d.viewer, null);
  assert.equal(who(d), "Ann");
  assert.equal(who(testing.donation("", "5.00", "USD")), "Someone");
  assert.equal(field(d, "amount"), "5.00");
  assert.equal(field(d, "currency"), "EUR");
  assert.equal(field(d, "is_public"), "false");
  assert.equal(field(d, "source"), "kofi");
  assert.equal(field(d, "donation_type"), "Donation");
  assert.equal(field(d, "tier_name"), "");
  assert.equal(field(d, "username"), "Ann");
  const g = testing.discord(kinds.DISCORD_GIVEAWAY_END, { giveawayId: "g1", winnerId: "42", extra: { n: 3 } });
  assert.equal(g.kind, "discord.giveaway.end");
  assert.equal(field(g, "giveaway_id"), "g1");
  assert.equal(field(g, "winner_id"), "42");
  assert.equal(field(g, "data.extra.n"), "3");
  assert.equal(field(g, "data.winnerId"), "42");
  assert.equal(field(g, "nope"), null);
  assert.equal(who(testing.discord(kinds.DISCORD_MEMBER_JOIN, { username: "Zed" })), "Zed");
});

test("a private donation's message is not a message to show", () => {
  assert.equal(message(testing.donation("Ann", "5.00", "USD", "thanks!", true)), "thanks!");
  assert.equal(message(testing.donation("Ann", "5.00", "USD", "just for you", false)), null);
});
