// A fake of the host interface stagehand:plugin/host@0.3.0 for tests run
// with Node: `register.js` makes that import resolve here. Values look as
// QuickJS hands them to a plugin (numbers for u64, null for none).

/** The fake host's state; `testing/index.js` reads and resets it. */
export const state = {
  kv: new Map(),
  logs: [],
  nowMs: 1_700_000_000_000,
  settings: "{}",
};

/** Empties the fake host, so each test starts from nothing. */
export function resetState() {
  state.kv = new Map();
  state.logs = [];
  state.nowMs = 1_700_000_000_000;
  state.settings = "{}";
}

const LEVELS = ["trace", "debug", "info", "warn", "error"];

/** Keeps the line for `logs()`, as the host would log it. */
export function log(level, message) {
  if (!LEVELS.includes(level)) throw new TypeError(`log: unknown level ${JSON.stringify(level)}`);
  state.logs.push({ level, message: String(message) });
}

/** The stored value, or null (QuickJS's none). */
export function kvGet(key) {
  return state.kv.has(key) ? state.kv.get(key) : null;
}

/** Stores one value at once (the SDK batches through `kvWrite` instead). */
export function kvSet(key, value) {
  state.kv.set(key, String(value));
}

/** Removes one key at once. */
export function kvDelete(key) {
  state.kv.delete(key);
}

/** Applies a call's batched writes in order (null value: delete). */
export function kvWrite(changes) {
  for (const { key, value } of changes) {
    if (value == null) state.kv.delete(key);
    else state.kv.set(key, String(value));
  }
}

/** The settable clock (`setNow`), as a number. */
export function nowMs() {
  return state.nowMs;
}

/** The settable settings JSON (`setSettings`). */
export function settings() {
  return state.settings;
}
