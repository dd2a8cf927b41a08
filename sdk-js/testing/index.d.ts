// Declarations of @stagehand/plugin-sdk/testing: the fake host and event
// builders for plugin tests (run with
// `node --import @stagehand/plugin-sdk/testing/register --test`).

import type { Event, EventData, Handler, Info, Level, Viewer } from "../index.js";

/** Starts a test from a clean fake host. */
export function reset(): void;
/** Sets the fake clock (ms since the Unix epoch). */
export function setNow(ms: number): void;
/** Sets what the host's settings() answers (`Settings.fromHost()`). */
export function setSettings(settings: string | Record<string, unknown>): void;
/** The log lines written so far. */
export function logs(): { level: Level; message: string }[];
/** The stored key-value pairs, sorted by key. */
export function kv(): Record<string, string>;
/** Stores a value as if an earlier run had (null: removes it). */
export function setKv(key: string, value: string | null): void;
/** What the host learns from `describe`. */
export function describe(handler: Handler): Info;

/** An event of `kind` carrying `data`, about `viewer`, from the test button. */
export function event(kind: string, viewer: Viewer | null, data: EventData): Event;
/** A viewer whose login and display name derive from `name`. */
export function viewer(id: string, name: string): Viewer;
/** `name` followed. */
export function follow(name: string): Event;
/** `name` subscribed at `tier` (default 1000). */
export function subscribe(name: string, tier?: number): Event;
/** `name` was gifted a sub at `tier`. */
export function giftedSub(name: string, tier?: number): Event;
/** `name`'s sub at `tier` ended. */
export function subscriptionEnd(name: string, tier?: number): Event;
/** `name` was banned for good by "Mod", for `reason`. */
export function ban(name: string, reason?: string): Event;
/** `name` was timed out for `seconds` by "Mod". */
export function timeout(name: string, seconds: number): Event;
/** An event about `name` carrying nothing more (unfollow, unban, timeout end, VIP and moderator changes). */
export function about(kind: string, name: string): Event;
/** `broadcaster` went live. */
export function streamOnline(broadcaster: string): Event;
/** `broadcaster` went offline. */
export function streamOffline(broadcaster: string): Event;
/** `creator` made a clip called `title`. */
export function clip(creator: string, title: string): Event;
/** `name` resubscribed for `months` with `message`. */
export function resub(name: string, months: number, message?: string): Event;
/** `gifter` (null: anonymous) gave `total` tier 1 subs. */
export function gift(gifter: string | null, total: number): Event;
/** `name` (empty: anonymous) cheered `bits` with `message`. */
export function cheer(name: string, bits: number, message?: string): Event;
/** `name` raided with `viewers`. */
export function raid(name: string, viewers: number): Event;
/** `name` redeemed `title` for `cost` points, typing `input`. */
export function redemption(name: string, title: string, cost: number, input?: string): Event;
/** `name` said `text` in chat, with `badges` (set ids). */
export function chat(name: string, text: string, badges?: string[]): Event;
/** `name` gave `amount` ("5.00") in `currency` through Ko-fi (source "external", no viewer). */
export function donation(name: string, amount: string, currency: string, message?: string, isPublic?: boolean): Event;
/** A Discord event of `kind` from the bot's `data` object (camelCase keys; source "external", no viewer). */
export function discord(kind: string, data?: Record<string, unknown>): Event;
/** An event of a kind Stagehand does not model, with its JSON fields. */
export function other(kind: string, fields: unknown): Event;
