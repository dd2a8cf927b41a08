//! A plugin of the frozen 0.1 contract, written the way 0.1 plugins were:
//! events carry a `details` JSON string, and kv writes are batched into one
//! `kv-write` per call as the 0.1 SDK did. The end-to-end test proves the
//! host still loads and runs it; the dispatch bench compares it with the
//! same logic on 0.2.

#[cfg(target_arch = "wasm32")]
mod bindings {
    wit_bindgen::generate!({ world: "plugin", path: "../../../plugin-sdk/wit/since_v0.1.0" });
}

use serde_json::Value;

/// The logic, apart from the bindings so it runs natively too.
pub mod logic {
    use super::Value;
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    /// The instance's kv as 0.1 plugins kept it: reads cached, writes
    /// pending until the call returns.
    #[derive(Default)]
    pub struct Kv {
        pub values: BTreeMap<String, Option<String>>,
        pub pending: Vec<(String, Option<String>)>,
    }

    thread_local! {
        pub static KV: RefCell<Kv> = RefCell::new(Kv::default());
    }

    pub fn get_u64(key: &str, read: impl Fn(&str) -> Option<String>) -> u64 {
        KV.with(|kv| {
            let mut kv = kv.borrow_mut();
            let value = match kv.values.get(key) {
                Some(v) => v.clone(),
                None => {
                    let v = read(key);
                    kv.values.insert(key.to_owned(), v.clone());
                    v
                }
            };
            value.and_then(|v| v.parse().ok()).unwrap_or(0)
        })
    }

    pub fn set(key: &str, value: String) {
        KV.with(|kv| {
            let mut kv = kv.borrow_mut();
            kv.values.insert(key.to_owned(), Some(value.clone()));
            kv.pending.push((key.to_owned(), Some(value)));
        });
    }

    /// Counts the event; for a follow, the alert's title and message.
    pub fn on_event(
        kind: &str,
        details: &str,
        read: impl Fn(&str) -> Option<String>,
    ) -> Option<(String, String)> {
        let count_key = format!("count:{kind}");
        let count = get_u64(&count_key, &read) + 1;
        set(&count_key, count.to_string());
        let total = get_u64("events", &read) + 1;
        set("events", total.to_string());
        if kind != "channel.follow" {
            return None;
        }
        let details: Value = serde_json::from_str(details).unwrap_or_default();
        let name = details["username"].as_str().unwrap_or("Someone").to_owned();
        Some((
            "New follower!".into(),
            format!("{name} just followed (#{count})"),
        ))
    }

    /// The display of a `test.legacy` event.
    pub fn format(kind: &str, details: &str) -> Option<(String, String)> {
        if kind != "test.legacy" {
            return None;
        }
        let details: Value = serde_json::from_str(details).unwrap_or_default();
        Some(("Legacy".into(), format!("legacy {}", details["n"])))
    }
}

#[cfg(target_arch = "wasm32")]
mod export {
    use super::bindings::stagehand::plugin::host;
    use super::bindings::stagehand::plugin::types::{
        Action, Alert, Display, Event, Info, KvChange, Role,
    };
    use super::logic;

    struct Legacy;

    fn flush() {
        let pending = logic::KV.with(|kv| std::mem::take(&mut kv.borrow_mut().pending));
        if !pending.is_empty() {
            let changes: Vec<KvChange> = pending
                .into_iter()
                .map(|(key, value)| KvChange { key, value })
                .collect();
            host::kv_write(&changes);
        }
    }

    impl super::bindings::Guest for Legacy {
        fn describe() -> Info {
            Info {
                name: "legacy-v01".into(),
                version: "0.1.0".into(),
                kinds: vec!["*".into()],
                roles: vec![Role::Actions, Role::Formatter],
            }
        }

        fn init(_settings: String) -> Result<(), String> {
            Ok(())
        }

        fn format(e: Event) -> Option<Display> {
            let (label, text) = logic::format(&e.kind, &e.details)?;
            Some(Display {
                label,
                icon: "📼".into(),
                color: "#777777".into(),
                text,
            })
        }

        fn on_event(e: Event) -> Result<Vec<Action>, String> {
            let alert = logic::on_event(&e.kind, &e.details, host::kv_get);
            flush();
            Ok(alert
                .map(|(title, message)| {
                    Action::ShowAlert(Alert {
                        overlay: "alerts".into(),
                        title,
                        message,
                        image_url: None,
                        sound_url: None,
                        video_url: None,
                        tts: None,
                        duration_ms: 5_000,
                        html: None,
                        css: None,
                    })
                })
                .into_iter()
                .collect())
        }

        fn render(_a: Alert) -> Option<Alert> {
            None
        }
    }

    super::bindings::export!(Legacy with_types_in super::bindings);
}

#[cfg(test)]
mod tests {
    use super::logic;

    #[test]
    fn follows_are_counted_and_named() {
        let first = logic::on_event("channel.follow", r#"{"username": "Ann"}"#, |_| None);
        assert_eq!(
            first,
            Some(("New follower!".into(), "Ann just followed (#1)".into()))
        );
        let second = logic::on_event("channel.follow", r#"{"username": "Bo"}"#, |_| None);
        assert_eq!(second.unwrap().1, "Bo just followed (#2)");
        assert_eq!(logic::on_event("channel.cheer", "{}", |_| None), None);
        assert_eq!(
            logic::format("test.legacy", r#"{"n": 3}"#),
            Some(("Legacy".into(), "legacy 3".into()))
        );
    }
}
