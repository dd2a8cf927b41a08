// A plugin's settings: the JSON object of its plugin.toml `[settings]` (or
// what the streamer saved), with typed getters that fall back to null
// instead of failing on a missing or mistyped value. Same rules as the
// Rust SDK's `Settings`.

import * as host from "stagehand:plugin/host@0.3.0";

export class Settings {
  #values;

  /**
   * Settings from the JSON text the host passes (empty text: no
   * settings), or from an object (for tests). Anything but a JSON object
   * throws a message the streamer sees.
   */
  constructor(json) {
    if (json == null) {
      this.#values = {};
    } else if (typeof json === "string") {
      this.#values = parseObject(json);
    } else if (typeof json === "object" && !Array.isArray(json)) {
      this.#values = { ...json };
    } else {
      throw new Error("settings must be a JSON object");
    }
  }

  /** Settings from JSON text, as the constructor; named for readability. */
  static parse(json) {
    return new Settings(json);
  }

  /** The settings as the host has them now (normally what the constructor got). */
  static fromHost() {
    return new Settings(host.settings());
  }

  /** The raw value of `key`, or undefined: for settings of any shape. */
  get(key) {
    return Object.hasOwn(this.#values, key) ? this.#values[key] : undefined;
  }

  /** Whether `key` is set at all, to tell "missing" from "mistyped". */
  has(key) {
    return Object.hasOwn(this.#values, key);
  }

  /** A text setting, or null when missing or not text. */
  str(key) {
    const v = this.get(key);
    return typeof v === "string" ? v : null;
  }

  /** A text setting, or `fallback` when missing or not text. */
  strOr(key, fallback) {
    return this.str(key) ?? fallback;
  }

  /**
   * A whole number ≥ 0 (a number, or a string holding one), or null:
   * counts and thresholds a streamer may type either way.
   */
  uint(key) {
    const v = this.get(key);
    if (typeof v === "number") return Number.isSafeInteger(v) && v >= 0 ? v : null;
    if (typeof v === "string" && /^\+?[0-9]+$/.test(v.trim())) {
      const n = Number(v.trim());
      return Number.isSafeInteger(n) ? n : null;
    }
    return null;
  }

  /** A number (or a string holding one), or null. */
  number(key) {
    const v = this.get(key);
    if (typeof v === "number") return v;
    if (typeof v === "string" && v.trim() !== "") {
      const n = Number(v.trim());
      return Number.isNaN(n) ? null : n;
    }
    return null;
  }

  /** A boolean setting, or null when missing or not a boolean. */
  bool(key) {
    const v = this.get(key);
    return typeof v === "boolean" ? v : null;
  }

  /** A copy of the whole object, for settings read by shape. */
  toJSON() {
    return { ...this.#values };
  }
}

function parseObject(json) {
  if (json.trim() === "") return {};
  let value;
  try {
    value = JSON.parse(json);
  } catch (e) {
    throw new Error(`settings are not valid JSON: ${e instanceof Error ? e.message : e}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Error("settings must be a JSON object");
  }
  return value;
}
