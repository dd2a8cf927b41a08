//! What the host accepts from a plugin, as numbers to check against before
//! returning: an action over a limit is refused (and logged to the
//! plugin's status), a call over its budget faults the plugin. The host
//! uses the same values; a test in the host keeps them equal.

/// Actions one `on_event` call may return; more is refused whole.
pub const MAX_ACTIONS_PER_EVENT: usize = 20;

/// A formatter's display, field by field, in bytes.
pub const MAX_DISPLAY_LABEL: usize = 64;
pub const MAX_DISPLAY_ICON: usize = 32;
pub const MAX_DISPLAY_COLOR: usize = 64;
pub const MAX_DISPLAY_TEXT: usize = 1024;

/// An alert's title, message and speech text, in bytes.
pub const MAX_ALERT_TITLE: usize = 1024;
pub const MAX_ALERT_MESSAGE: usize = 4096;
pub const MAX_ALERT_TTS: usize = 1024;
/// An alert's custom HTML and CSS, each, in bytes.
pub const MAX_ALERT_MARKUP: usize = 64 << 10;
/// A media URL, in bytes (a `data:` URL is the longest kind).
pub const MAX_MEDIA_URL: usize = 64 << 10;
/// The longest alert, in milliseconds.
pub const MAX_ALERT_DURATION_MS: u32 = 5 * 60 * 1000;
/// Overlay names are 1 to this many of `a-z`, `0-9` and `-`.
pub const MAX_OVERLAY_NAME: usize = 32;

/// A chat message, in characters (Twitch's own limit).
pub const MAX_CHAT_MESSAGE: usize = 500;

/// The longest TTS mute or cooldown, in minutes (30 days); a mute with no
/// minutes lasts until lifted.
pub const MAX_TTS_RULE_MINUTES: u32 = 30 * 24 * 60;
/// The longest gap a TTS cooldown imposes, in seconds.
pub const MAX_TTS_COOLDOWN_GAP_SECONDS: u32 = 60 * 60;

/// Key-value storage: all of a plugin's keys and values together, in bytes.
pub const MAX_KV_BYTES: usize = 16 << 20;
/// Key-value storage: number of keys.
pub const MAX_KV_KEYS: usize = 10_000;
/// Key-value storage: one key, in bytes.
pub const MAX_KV_KEY_BYTES: usize = 256;
/// Key-value storage: one value, in bytes.
pub const MAX_KV_VALUE_BYTES: usize = 64 << 10;
/// Key-value storage: what one call may write, in bytes.
pub const MAX_KV_WRITE_PER_CALL: usize = 256 << 10;

/// A log line, in bytes (longer ones are cut).
pub const MAX_LOG_LINE: usize = 2048;
/// An error string, in bytes (longer ones are cut).
pub const MAX_ERROR: usize = 1024;

/// The call deadline and memory budget a plugin gets without asking.
pub const DEFAULT_DEADLINE_MS: u64 = 50;
pub const DEFAULT_MEMORY_MIB: u64 = 64;
/// The most a plugin may ask for (the streamer must grant it).
pub const MAX_DEADLINE_MS: u64 = 5_000;
pub const MAX_MEMORY_MIB: u64 = 1_024;
