//! What a plugin may ask of the host: logging, its own key-value storage,
//! the time and its settings. In a WebAssembly build these call the host;
//! natively they use the fake host of [`crate::testing`].

use crate::Level;

#[cfg(target_arch = "wasm32")]
use crate::bindings::stagehand::plugin::host as imports;

/// Writes a line to the host's log, tagged with the plugin's name.
pub fn log(level: Level, message: &str) {
    #[cfg(target_arch = "wasm32")]
    imports::log(level, message);
    #[cfg(not(target_arch = "wasm32"))]
    crate::testing::with(|h| h.logs.push((level, message.to_owned())));
}

/// Logs at info level.
pub fn info(message: &str) {
    log(Level::Info, message);
}

/// Logs at warn level.
pub fn warn(message: &str) {
    log(Level::Warn, message);
}

/// This plugin's stored value for `key`.
pub fn kv_get(key: &str) -> Option<String> {
    #[cfg(target_arch = "wasm32")]
    return imports::kv_get(key);
    #[cfg(not(target_arch = "wasm32"))]
    crate::testing::with(|h| h.kv.get(key).cloned())
}

/// Stores `value` under `key` (persisted; survives reloads and restarts).
pub fn kv_set(key: &str, value: &str) {
    #[cfg(target_arch = "wasm32")]
    imports::kv_set(key, value);
    #[cfg(not(target_arch = "wasm32"))]
    crate::testing::with(|h| {
        h.kv.insert(key.to_owned(), value.to_owned());
    });
}

/// Removes `key`.
pub fn kv_delete(key: &str) {
    #[cfg(target_arch = "wasm32")]
    imports::kv_delete(key);
    #[cfg(not(target_arch = "wasm32"))]
    crate::testing::with(|h| {
        h.kv.remove(key);
    });
}

/// Reads a counter stored with [`kv_set`] (0 when absent or not a number).
pub fn kv_get_u64(key: &str) -> u64 {
    kv_get(key).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// Milliseconds since the Unix epoch, UTC.
pub fn now_ms() -> u64 {
    #[cfg(target_arch = "wasm32")]
    return imports::now_ms();
    #[cfg(not(target_arch = "wasm32"))]
    crate::testing::with(|h| h.now_ms)
}

/// The plugin's `[settings]` from `plugin.toml`, parsed.
pub fn settings() -> serde_json::Value {
    #[cfg(target_arch = "wasm32")]
    let text = imports::settings();
    #[cfg(not(target_arch = "wasm32"))]
    let text = crate::testing::with(|h| h.settings.clone());
    serde_json::from_str(&text).unwrap_or(serde_json::Value::Object(Default::default()))
}
