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
    return kv_cache::get(key);
    #[cfg(not(target_arch = "wasm32"))]
    crate::testing::with(|h| h.kv.get(key).cloned())
}

/// Stores `value` under `key` (persisted; survives reloads and restarts).
/// Writes of one call reach the host together when the call returns, and
/// not at all if it traps.
pub fn kv_set(key: &str, value: &str) {
    #[cfg(target_arch = "wasm32")]
    kv_cache::set(key, Some(value));
    #[cfg(not(target_arch = "wasm32"))]
    crate::testing::with(|h| {
        h.kv.insert(key.to_owned(), value.to_owned());
    });
}

/// Removes `key`.
pub fn kv_delete(key: &str) {
    #[cfg(target_arch = "wasm32")]
    kv_cache::set(key, None);
    #[cfg(not(target_arch = "wasm32"))]
    crate::testing::with(|h| {
        h.kv.remove(key);
    });
}

/// The instance's view of its key-value data. A plugin's keys are written
/// only by the plugin itself, so values read once stay valid for the life of
/// the instance; writes are sent in one host call per plugin call. Host
/// calls cost more than anything a typical plugin does, so this halves a
/// kv-heavy plugin's cost per event.
#[cfg(target_arch = "wasm32")]
mod kv_cache {
    use std::cell::RefCell;
    // A BTreeMap: plugins keep few keys, and comparing short strings is
    // cheaper in wasm than SipHash.
    use std::collections::BTreeMap;

    use super::imports;
    use crate::bindings::stagehand::plugin::types::KvChange;

    thread_local! {
        static VALUES: RefCell<BTreeMap<String, Option<String>>> = const { RefCell::new(BTreeMap::new()) };
        static PENDING: RefCell<Vec<KvChange>> = const { RefCell::new(Vec::new()) };
    }

    pub fn get(key: &str) -> Option<String> {
        if let Some(known) = VALUES.with(|v| v.borrow().get(key).cloned()) {
            return known;
        }
        let value = imports::kv_get(key);
        VALUES.with(|v| v.borrow_mut().insert(key.to_owned(), value.clone()));
        value
    }

    pub fn set(key: &str, value: Option<&str>) {
        let value = value.map(str::to_owned);
        VALUES.with(|v| v.borrow_mut().insert(key.to_owned(), value.clone()));
        PENDING.with(|p| {
            p.borrow_mut().push(KvChange {
                key: key.to_owned(),
                value,
            })
        });
    }

    pub fn flush() {
        let changes = PENDING.with(|p| std::mem::take(&mut *p.borrow_mut()));
        if !changes.is_empty() {
            imports::kv_write(&changes);
        }
    }
}

/// Sends this call's key-value writes to the host; the export macro calls it
/// after every plugin call.
#[doc(hidden)]
pub fn __flush() {
    #[cfg(target_arch = "wasm32")]
    kv_cache::flush();
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
