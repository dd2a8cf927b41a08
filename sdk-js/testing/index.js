// The test harness: a fake host (key-value storage, captured logs, a
// settable clock and settings) and builders for events, so a plugin is
// unit-tested with `node --test` and no WebAssembly. Run tests with
// `node --import @stagehand/plugin-sdk/testing/register --test`.

import { state, resetState } from "./fake-host.js";
import { flush, forget, forgetKey } from "../lib/host.js";
import * as kinds from "../lib/kinds.js";

/** Starts a test from a clean fake host (and a plugin kv cache that forgot everything). */
export function reset() {
  resetState();
  forget();
}

/** Sets the fake clock (ms since the Unix epoch); events built later carry it. */
export function setNow(ms) {
  state.nowMs = Number(ms);
}

/** Sets what the host's `settings()` answers (`Settings.fromHost()`). */
export function setSettings(settings) {
  state.settings = typeof settings === "string" ? settings : JSON.stringify(settings);
}

/** The log lines written so far, oldest first. */
export function logs() {
  return state.logs.map((line) => ({ ...line }));
}

/**
 * The stored key-value pairs, as a plain object sorted by key (writes the
 * plugin made outside `handler` calls are sent first, as the host would
 * get them when the call returns).
 */
export function kv() {
  flush();
  return Object.fromEntries([...state.kv.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Stores a value as if an earlier run of the plugin had (null: removes it). */
export function setKv(key, value) {
  flush();
  if (value == null) state.kv.delete(key);
  else state.kv.set(key, String(value));
  forgetKey(key);
}

/**
 * What the host learns from `describe`: the kinds wanted ("*" when none
 * were named), the roles played and those implemented.
 */
export function describe(handler) {
  return handler.describe();
}

/**
 * An event of `kind` carrying `data`, for channel "1000", from the
 * dashboard's test button (source "test"), about `viewer`, at the fake
 * clock's time.
 */
export function event(kind, viewer, data) {
  return {
    id: `test-${kind}-${state.nowMs}`,
    kind,
    source: "test",
    channelId: "1000",
    viewer: viewer ?? null,
    occurredAtMs: state.nowMs,
    data,
  };
}

/** A viewer whose login and display name derive from `name`. */
export function viewer(id, name) {
  return { id, login: name.trim().toLowerCase(), displayName: name };
}

function named(name) {
  return viewer("4242", name);
}

/** `name` followed. */
export function follow(name) {
  return event(kinds.FOLLOW, named(name), { tag: "follow", val: { followedAtMs: state.nowMs } });
}

/** `name` subscribed at `tier` (1000, 2000, 3000). */
export function subscribe(name, tier = 1000) {
  return event(kinds.SUBSCRIBE, named(name), { tag: "subscribe", val: { tier, isGift: false } });
}

/** `name` was gifted a sub at `tier`. */
export function giftedSub(name, tier = 1000) {
  return event(kinds.SUBSCRIBE, named(name), { tag: "subscribe", val: { tier, isGift: true } });
}

/** `name`'s sub at `tier` ended. */
export function subscriptionEnd(name, tier = 1000) {
  return event(kinds.SUBSCRIPTION_END, named(name), { tag: "subscription-end", val: { tier } });
}

/** `name` was banned for good by "Mod", for `reason` (none when empty). */
export function ban(name, reason = "") {
  return event(kinds.BAN, named(name), {
    tag: "ban",
    val: {
      permanent: true,
      durationSeconds: null,
      expiresAtMs: null,
      reason: reason === "" ? null : reason,
      moderatorName: "Mod",
      moderatorId: "7",
    },
  });
}

/** `name` was timed out for `seconds` by "Mod". */
export function timeout(name, seconds) {
  return event(kinds.BAN, named(name), {
    tag: "ban",
    val: {
      permanent: false,
      durationSeconds: seconds,
      expiresAtMs: state.nowMs + seconds * 1000,
      reason: null,
      moderatorName: "Mod",
      moderatorId: "7",
    },
  });
}

const ABOUT = {
  [kinds.UNFOLLOW]: "unfollow",
  [kinds.UNBAN]: "unban",
  [kinds.TIMEOUT_END]: "timeout-end",
  [kinds.VIP_ADD]: "vip-add",
  [kinds.VIP_REMOVE]: "vip-remove",
  [kinds.MODERATOR_ADD]: "moderator-add",
  [kinds.MODERATOR_REMOVE]: "moderator-remove",
};

/**
 * An event about `name` that carries nothing more: unfollow, unban,
 * timeout end, VIP and moderator changes (`kind` says which).
 */
export function about(kind, name) {
  const tag = ABOUT[kind];
  if (tag === undefined) throw new Error(`${kind} carries data; use its own builder`);
  return event(kind, named(name), { tag });
}

/** `broadcaster` went live. */
export function streamOnline(broadcaster) {
  return event(kinds.STREAM_ONLINE, null, {
    tag: "stream-online",
    val: { broadcasterName: broadcaster, streamType: "live", startedAtMs: state.nowMs },
  });
}

/** `broadcaster` went offline. */
export function streamOffline(broadcaster) {
  return event(kinds.STREAM_OFFLINE, null, {
    tag: "stream-offline",
    val: { broadcasterName: broadcaster },
  });
}

/** `creator` made a clip called `title`. */
export function clip(creator, title) {
  return event(kinds.CLIP_CREATED, null, {
    tag: "clip",
    val: { title, url: "https://clips.twitch.tv/Example", creatorName: creator, viewCount: 0 },
  });
}

/** `name` resubscribed (tier 1) for `months` with `message`. */
export function resub(name, months, message = "") {
  return event(kinds.RESUB, named(name), {
    tag: "resub",
    val: { tier: 1000, cumulativeMonths: months, message },
  });
}

/** `gifter` (null: anonymous) gave `total` tier 1 subs. */
export function gift(gifter, total) {
  return event(kinds.GIFT, gifter == null ? null : named(gifter), {
    tag: "gift",
    val: { tier: 1000, total, anonymous: gifter == null },
  });
}

/** `name` (empty: anonymous) cheered `bits` with `message`. */
export function cheer(name, bits, message = "") {
  const anonymous = name === "";
  return event(kinds.CHEER, anonymous ? null : named(name), {
    tag: "cheer",
    val: { bits, message, anonymous },
  });
}

/** `name` raided with `viewers`. */
export function raid(name, viewers) {
  return event(kinds.RAID, named(name), { tag: "raid", val: { viewers } });
}

/** `name` redeemed `title` for `cost` points, typing `input`. */
export function redemption(name, title, cost, input = "") {
  return event(kinds.REDEMPTION, named(name), {
    tag: "redemption",
    val: {
      reward: { id: "reward-1", title, cost, prompt: "" },
      userInput: input,
      status: "unfulfilled",
    },
  });
}

/** `name` said `text` in chat, with `badges` (set ids, e.g. "moderator"). */
export function chat(name, text, badges = []) {
  return event(kinds.CHAT_MESSAGE, named(name), {
    tag: "chat-message",
    val: { text, badges: badges.map((setId) => ({ setId, id: "1", info: "" })) },
  });
}

/**
 * `name` gave `amount` (a decimal string like "5.00") in `currency` through
 * Ko-fi, with `message`, publicly or not. Source "external", and no viewer:
 * a Ko-fi name is not a Twitch user.
 */
export function donation(name, amount, currency, message = "", isPublic = true) {
  const e = event(kinds.DONATION, null, {
    tag: "donation",
    val: {
      username: name,
      amount,
      currency,
      message,
      isPublic,
      source: "kofi",
      donationType: "Donation",
      tierName: "",
    },
  });
  e.source = "external";
  return e;
}

/**
 * A Discord event of `kind` (one of the `kinds.DISCORD_*`) as the bot sent
 * it: `data` is its `data` object, with the bot's camelCase keys (`userId`,
 * `username`, `giveawayId`, `prize`, `winnerId`, `ticketId`), which fill
 * the record's fields as the host does. Source "external", no viewer.
 */
export function discord(kind, data = {}) {
  const text = (key) => (typeof data[key] === "string" ? data[key] : "");
  const e = event(kind, null, {
    tag: "discord",
    val: {
      guildId: "900",
      userId: text("userId"),
      username: text("username"),
      giveawayId: text("giveawayId"),
      prize: text("prize"),
      winnerId: text("winnerId"),
      ticketId: text("ticketId"),
      data: JSON.stringify(data),
    },
  });
  e.source = "external";
  return e;
}

/** An event of a kind Stagehand does not model, with its JSON fields. */
export function other(kind, fields) {
  return event(kind, null, { tag: "other", val: JSON.stringify(fields) });
}
