//! A fake host for native unit tests: key-value storage, captured logs, a
//! settable clock and settings, one per test thread. Also builders for
//! events.

use std::cell::RefCell;
use std::collections::BTreeMap;

use crate::{Event, Level, Source, Viewer};

/// The fake host's state.
#[derive(Debug, Clone)]
pub struct FakeHost {
    pub kv: BTreeMap<String, String>,
    pub logs: Vec<(Level, String)>,
    pub now_ms: u64,
    /// JSON object text.
    pub settings: String,
}

impl Default for FakeHost {
    fn default() -> Self {
        FakeHost {
            kv: BTreeMap::new(),
            logs: Vec::new(),
            now_ms: 1_700_000_000_000,
            settings: "{}".into(),
        }
    }
}

thread_local! {
    static HOST: RefCell<FakeHost> = RefCell::new(FakeHost::default());
}

/// Runs `f` on this thread's fake host.
pub fn with<T>(f: impl FnOnce(&mut FakeHost) -> T) -> T {
    HOST.with(|h| f(&mut h.borrow_mut()))
}

/// Starts a test from a clean fake host.
pub fn reset() {
    with(|h| *h = FakeHost::default());
}

/// Sets the fake clock.
pub fn set_now_ms(ms: u64) {
    with(|h| h.now_ms = ms);
}

/// Sets what `host::settings()` returns.
pub fn set_settings(json: serde_json::Value) {
    with(|h| h.settings = json.to_string());
}

/// Log lines written so far.
pub fn logs() -> Vec<(Level, String)> {
    with(|h| h.logs.clone())
}

/// The stored key-value pairs.
pub fn kv() -> BTreeMap<String, String> {
    with(|h| h.kv.clone())
}

/// An event of `kind` with `details`, from EventSub, for channel "1000".
pub fn event(kind: &str, details: serde_json::Value) -> Event {
    Event {
        id: format!("test-{kind}-{}", with(|h| h.now_ms)),
        kind: kind.to_owned(),
        source: Source::Test,
        channel_id: "1000".into(),
        viewer: None,
        occurred_at_ms: with(|h| h.now_ms),
        details: details.to_string(),
    }
}

/// A viewer whose login and display name derive from `name`.
pub fn viewer(id: &str, name: &str) -> Viewer {
    Viewer {
        id: id.into(),
        login: name.to_lowercase(),
        display_name: name.into(),
    }
}
