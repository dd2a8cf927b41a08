//! A plugin of the frozen 0.2 contract, written against that WIT directly
//! as a plugin compiled before 0.3 was: typed data for the kinds 0.2
//! models, `other` JSON for the rest. The end-to-end test proves the host
//! still loads and runs it, and that kinds 0.3 added (a donation) reach it
//! as `other`.

#[cfg(target_arch = "wasm32")]
mod bindings {
    wit_bindgen::generate!({ world: "plugin", path: "../../../plugin-sdk/wit/since_v0.2.0" });
}

use serde_json::Value;

/// The logic, apart from the bindings so it runs natively too.
pub mod logic {
    use super::Value;

    /// A follow's alert: the follower and their number (from kv).
    pub fn follow(name: &str, count: u64) -> (String, String) {
        (
            "New follower!".into(),
            format!("{name} just followed (#{count})"),
        )
    }

    /// What a 0.2 plugin makes of a kind it does not model: an alert naming
    /// the kind, the source and the fields it can read from the JSON.
    pub fn other(kind: &str, source: &str, json: &str) -> (String, String) {
        let fields: Value = serde_json::from_str(json).unwrap_or_default();
        let text = |key: &str| fields[key].as_str().unwrap_or("").to_owned();
        let message = match kind {
            "donation" => format!(
                "{} gave {} {} via {}",
                text("username"),
                text("amount"),
                text("currency"),
                text("source")
            ),
            _ => format!("{} fields", fields.as_object().map_or(0, |m| m.len())),
        };
        (format!("other {kind} from {source}"), message)
    }

    /// The display of a `test.legacy` event.
    pub fn format(kind: &str, json: &str) -> Option<(String, String)> {
        if kind != "test.legacy" {
            return None;
        }
        let fields: Value = serde_json::from_str(json).unwrap_or_default();
        Some(("Legacy 0.2".into(), format!("legacy-v02 {}", fields["n"])))
    }
}

#[cfg(target_arch = "wasm32")]
mod export {
    use super::bindings::exports::stagehand::plugin::handler::Guest;
    use super::bindings::stagehand::plugin::host;
    use super::bindings::stagehand::plugin::types::{
        Action, Alert, Display, Event, EventData, Info, Role, Source,
    };
    use super::logic;

    struct Legacy;

    fn alert(title: String, message: String) -> Action {
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
    }

    fn source(s: Source) -> &'static str {
        match s {
            Source::Eventsub => "eventsub",
            Source::Poll => "poll",
            Source::Chat => "chat",
            Source::Test => "test",
        }
    }

    impl Guest for Legacy {
        fn describe() -> Info {
            Info {
                name: "legacy-v02".into(),
                version: "0.2.0".into(),
                kinds: vec!["*".into()],
                roles: vec![Role::Actions, Role::Formatter],
                implements: vec![Role::Formatter, Role::Actions],
            }
        }

        fn configure(_settings: String) -> Result<(), String> {
            Ok(())
        }

        fn format(e: Event) -> Option<Display> {
            let EventData::Other(json) = &e.data else {
                return None;
            };
            let (label, text) = logic::format(&e.kind, json)?;
            Some(Display {
                label,
                icon: "📼".into(),
                color: "#777777".into(),
                text,
            })
        }

        fn on_event(e: Event) -> Result<Vec<Action>, String> {
            let (title, message) = match &e.data {
                EventData::Follow(_) => {
                    let count = host::kv_get("follows")
                        .and_then(|v| v.parse::<u64>().ok())
                        .unwrap_or(0)
                        + 1;
                    host::kv_set("follows", &count.to_string());
                    let name = e
                        .viewer
                        .as_ref()
                        .map_or("Someone", |v| v.display_name.as_str());
                    logic::follow(name, count)
                }
                EventData::Other(json) if e.kind != "test.legacy" => {
                    logic::other(&e.kind, source(e.source), json)
                }
                _ => return Ok(Vec::new()),
            };
            Ok(vec![alert(title, message)])
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
    fn kinds_0_2_does_not_model_are_read_from_their_json() {
        let json = r#"{"username": "Ann", "amount": "5.00", "currency": "USD", "source": "kofi"}"#;
        assert_eq!(
            logic::other("donation", "eventsub", json),
            (
                "other donation from eventsub".into(),
                "Ann gave 5.00 USD via kofi".into()
            )
        );
        assert_eq!(
            logic::other("discord.member.join", "eventsub", r#"{"a": 1, "b": 2}"#).1,
            "2 fields"
        );
        assert_eq!(
            logic::follow("Ann", 2),
            ("New follower!".into(), "Ann just followed (#2)".into())
        );
        assert_eq!(
            logic::format("test.legacy", r#"{"n": 3}"#),
            Some(("Legacy 0.2".into(), "legacy-v02 3".into()))
        );
        assert_eq!(logic::format("other", "{}"), None);
    }
}
