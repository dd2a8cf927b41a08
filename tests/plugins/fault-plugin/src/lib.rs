//! A plugin that misbehaves on request. Each `test.fault` event's details
//! say what to do (`mode`): answer normally, loop forever, exhaust memory,
//! panic, ask for effects it did not declare, return malformed output, or
//! send an alert with the `title` and `css` it was given (`styled`).
//! The end-to-end tests use it to prove one plugin's faults stay its own.

use stagehand_plugin_sdk::prelude::*;

pub struct FaultPlugin {
    /// `[settings] label`: shows which version or settings answered.
    label: String,
}

impl Plugin for FaultPlugin {
    fn new(settings: Settings) -> Result<Self, String> {
        Ok(FaultPlugin {
            label: settings.str_or("label", "?"),
        })
    }

    fn describe() -> Info {
        Info::new().kinds(["test.fault"])
    }
}

impl Formatter for FaultPlugin {
    fn format(&mut self, event: &Event) -> Option<Display> {
        if matches!(
            event.field("mode").as_deref(),
            Some("format-panic" | "always-panic")
        ) {
            panic!("fault-plugin was asked to panic while formatting");
        }
        let n = event.field("n").unwrap_or_default();
        Some(Display::new(
            "Fault test",
            "🧪",
            "#888888",
            format!("fault test {n}"),
        ))
    }
}

impl Actions for FaultPlugin {
    fn on_event(&mut self, event: &Event) -> Result<Vec<Action>, String> {
        let mode = event.field("mode").unwrap_or_default();
        let n = event.field("n").unwrap_or_default();
        let label = self.label.clone();
        match mode.as_str() {
            "loop" => {
                let mut x: u64 = 0;
                loop {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            }
            "oom" => {
                // Reserve without touching, so the cap is hit at once rather
                // than after seconds of filling pages.
                let mut hog: Vec<Vec<u8>> = Vec::new();
                loop {
                    hog.push(Vec::with_capacity(8 << 20));
                    std::hint::black_box(&hog);
                }
            }
            "panic" | "always-panic" => panic!("fault-plugin was asked to panic"),
            "error" => Err("fault-plugin was asked to fail".into()),
            "speak" => Ok(vec![Action::Speak(format!("say {n}"))]),
            "format-panic" => Ok(vec![Action::ShowAlert(Alert::new(
                label,
                "formatted badly",
            ))]),
            "chat" => Ok(vec![Action::SendChat("I was never allowed to chat".into())]),
            "tts" => Ok(vec![Action::MuteTts(TtsMute {
                login: "someone".into(),
                minutes: Some(5),
            })]),
            "styled" => {
                // Title and css as given: what any plugin might send.
                let mut alert = Alert::new(event.field("title").unwrap_or_default(), "");
                alert.css = event.field("css");
                Ok(vec![Action::ShowAlert(alert)])
            }
            "bad-alert" => {
                let mut alert = Alert::new("bad", "bad");
                alert.overlay = "Not A Valid Overlay!".into();
                Ok(vec![Action::ShowAlert(alert)])
            }
            "webhook" => Ok(vec![Action::Webhook(WebhookRequest {
                url: event.field("url").unwrap_or_default(),
                body: format!("{{\"n\": \"{n}\"}}"),
            })]),
            "escape" => {
                // Everything a sandboxed plugin must not reach.
                let env = std::env::vars().count();
                let file = std::fs::read_to_string("/etc/hostname").is_ok();
                let dir = std::fs::read_dir("/").is_ok();
                let net = std::net::TcpStream::connect("127.0.0.1:80").is_ok();
                Ok(vec![Action::ShowAlert(Alert::new(
                    "escape",
                    format!("env={env} file={file} dir={dir} net={net}"),
                ))])
            }
            "kv" => {
                let count = host::kv_get_u64("count") + 1;
                host::kv_set("count", &count.to_string());
                Ok(vec![Action::ShowAlert(Alert::new(
                    label,
                    format!("count {count}"),
                ))])
            }
            _ => Ok(vec![Action::ShowAlert(Alert::new(label, n))]),
        }
    }
}

stagehand_plugin_sdk::export!(FaultPlugin);

#[cfg(test)]
mod tests {
    use super::*;
    use stagehand_plugin_sdk::serde_json::json;
    use stagehand_plugin_sdk::testing;

    fn plugin(settings: stagehand_plugin_sdk::serde_json::Value) -> FaultPlugin {
        testing::reset();
        FaultPlugin::new(Settings::from_json(settings)).unwrap()
    }

    #[test]
    fn the_kv_mode_counts_across_calls() {
        let mut p = plugin(json!({"label": "v9"}));
        for expected in 1..=3 {
            let actions = p
                .on_event(&testing::other("test.fault", json!({"mode": "kv"})))
                .unwrap();
            let [Action::ShowAlert(a)] = actions.as_slice() else {
                panic!("one alert")
            };
            assert_eq!(a.title, "v9");
            assert_eq!(a.message, format!("count {expected}"));
        }
    }

    #[test]
    fn the_default_mode_echoes_n_under_the_label() {
        let mut p = plugin(json!({}));
        let actions = p
            .on_event(&testing::other("test.fault", json!({"n": 7})))
            .unwrap();
        let [Action::ShowAlert(a)] = actions.as_slice() else {
            panic!("one alert")
        };
        assert_eq!(a.message, "7");
    }
}
