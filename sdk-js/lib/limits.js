// What the host accepts from a plugin, as numbers to check against before
// returning: an action over a limit is refused (and logged to the plugin's
// status), a call over its budget faults the plugin. The same values as the
// Rust SDK's `limits` module (a test compares them).

/** Actions one `onEvent` call may return; more is refused whole. */
export const MAX_ACTIONS_PER_EVENT = 20;

/** A formatter's display, field by field, in bytes. */
export const MAX_DISPLAY_LABEL = 64;
export const MAX_DISPLAY_ICON = 32;
export const MAX_DISPLAY_COLOR = 64;
export const MAX_DISPLAY_TEXT = 1024;

/** An alert's title, message and speech text, in bytes. */
export const MAX_ALERT_TITLE = 1024;
export const MAX_ALERT_MESSAGE = 4096;
export const MAX_ALERT_TTS = 1024;
/** An alert's custom HTML and CSS, each, in bytes. */
export const MAX_ALERT_MARKUP = 64 << 10;
/** A media URL, in bytes (a `data:` URL is the longest kind). */
export const MAX_MEDIA_URL = 64 << 10;
/** The longest alert, in milliseconds. */
export const MAX_ALERT_DURATION_MS = 5 * 60 * 1000;
/** Overlay names are 1 to this many of `a-z`, `0-9` and `-`. */
export const MAX_OVERLAY_NAME = 32;

/** A chat message, in characters (Twitch's own limit). */
export const MAX_CHAT_MESSAGE = 500;

/** The longest TTS mute or cooldown, in minutes (30 days); a mute with no minutes lasts until lifted. */
export const MAX_TTS_RULE_MINUTES = 30 * 24 * 60;
/** The longest gap a TTS cooldown imposes, in seconds. */
export const MAX_TTS_COOLDOWN_GAP_SECONDS = 60 * 60;

/** Key-value storage: all of a plugin's keys and values together, in bytes. */
export const MAX_KV_BYTES = 16 << 20;
/** Key-value storage: number of keys. */
export const MAX_KV_KEYS = 10_000;
/** Key-value storage: one key, in bytes. */
export const MAX_KV_KEY_BYTES = 256;
/** Key-value storage: one value, in bytes. */
export const MAX_KV_VALUE_BYTES = 64 << 10;
/** Key-value storage: what one call may write, in bytes. */
export const MAX_KV_WRITE_PER_CALL = 256 << 10;

/** A log line, in bytes (longer ones are cut). */
export const MAX_LOG_LINE = 2048;
/** An error string, in bytes (longer ones are cut). */
export const MAX_ERROR = 1024;

/** The call deadline and memory budget a plugin gets without asking. */
export const DEFAULT_DEADLINE_MS = 50;
export const DEFAULT_MEMORY_MIB = 64;
/** The most a plugin may ask for (the streamer must grant it). */
export const MAX_DEADLINE_MS = 5_000;
export const MAX_MEMORY_MIB = 1_024;
