// What a plugin may ask of the host: logging, its own key-value storage and
// the time. Key-value reads are cached and writes are sent in one host call
// when the plugin call returns (as the Rust SDK does): a plugin's keys are
// written only by the plugin itself, and every host call has a cost.

import * as host from "stagehand:plugin/host@0.3.0";

/** Values read or written in this instance: key → text, or null when absent. */
const values = new Map();
/** This call's writes, in order, for one `kv-write`. */
let pending = [];

/**
 * This plugin's key-value storage: persisted, survives reloads and
 * restarts (unlike a plugin's fields). Values are strings; store numbers
 * with `String(n)` and objects with `JSON.stringify`.
 */
export const kv = Object.freeze({
  /** The stored value of `key`, or null. */
  get(key) {
    if (values.has(key)) return values.get(key);
    const value = host.kvGet(key) ?? null;
    values.set(key, value);
    return value;
  },
  /**
   * Stores `value` under `key`. Writes of one call reach the host together
   * when the call returns, and not at all if it traps.
   */
  set(key, value) {
    if (typeof value !== "string") {
      throw new TypeError(
        `kv.set(${JSON.stringify(key)}): the value must be a string (use String(n) or JSON.stringify)`,
      );
    }
    values.set(key, value);
    pending.push({ key, value });
  },
  /** Removes `key`. */
  delete(key) {
    values.set(key, null);
    pending.push({ key, value: null });
  },
  /** A number stored with `set` (0 when absent or not a number): for counters. */
  getNumber(key) {
    const text = kv.get(key);
    if (text == null || text.trim() === "") return 0;
    const n = Number(text);
    return Number.isFinite(n) ? n : 0;
  },
});

/** Sends this call's key-value writes to the host; `exportPlugin` calls it after every call. */
export function flush() {
  if (pending.length === 0) return;
  const changes = pending;
  pending = [];
  host.kvWrite(changes);
}

/** Forgets cached values and unsent writes (the test harness's `reset`). */
export function forget() {
  values.clear();
  pending = [];
}

/** Forgets one cached value (the test harness changed it behind the plugin's back). */
export function forgetKey(key) {
  values.delete(key);
}

function logAt(level) {
  return (message) => host.log(level, String(message));
}

/**
 * Lines in the host's log, tagged with the plugin's name (the streamer
 * sees them with `stagehand run`; lines are cut at `limits.MAX_LOG_LINE`).
 */
export const log = Object.freeze({
  trace: logAt("trace"),
  debug: logAt("debug"),
  info: logAt("info"),
  warn: logAt("warn"),
  error: logAt("error"),
});

/**
 * Milliseconds since the Unix epoch (UTC), as the host's clock says: a
 * plugin has no clock of its own. A number, ready for `new Date(now())`.
 */
export function now() {
  return Number(host.nowMs());
}
