//! Conveniences on the contract's types, so plugins stay short.

use serde_json::Value;

use crate::{Action, Alert, Display, Event, Info, Role};

impl Info {
    /// A plugin of the actions role that wants no kinds yet.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Info {
            name: name.into(),
            version: version.into(),
            kinds: Vec::new(),
            roles: vec![Role::Actions],
        }
    }

    /// The event kinds to receive ("*" for all).
    pub fn kinds<I, S>(mut self, kinds: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.kinds = kinds.into_iter().map(Into::into).collect();
        self
    }

    /// The roles played (default: actions only).
    pub fn roles(mut self, roles: impl IntoIterator<Item = Role>) -> Self {
        self.roles = roles.into_iter().collect();
        self
    }
}

impl Event {
    /// The details as JSON (an empty object if they do not parse).
    pub fn details_json(&self) -> Value {
        serde_json::from_str(&self.details).unwrap_or(Value::Object(Default::default()))
    }

    /// A details field as text (strings as they are, numbers and booleans printed).
    pub fn detail(&self, field: &str) -> Option<String> {
        match self.details_json().get(field)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    /// A details field as a number (numbers, or strings holding one).
    pub fn detail_f64(&self, field: &str) -> Option<f64> {
        match self.details_json().get(field)? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
    }

    /// A details field as a boolean.
    pub fn detail_bool(&self, field: &str) -> Option<bool> {
        self.details_json().get(field)?.as_bool()
    }

    /// Who the event is about: details `username` (or EventSub's
    /// `user_name`), else the viewer's display name.
    pub fn username(&self) -> Option<String> {
        self.detail("username")
            .filter(|s| !s.is_empty())
            .or_else(|| self.detail("user_name").filter(|s| !s.is_empty()))
            .or_else(|| self.viewer.as_ref().map(|v| v.display_name.clone()))
    }
}

impl Alert {
    /// An alert for the default overlay, shown for 5 seconds.
    pub fn new(title: impl Into<String>, message: impl Into<String>) -> Self {
        Alert {
            overlay: "alerts".into(),
            title: title.into(),
            message: message.into(),
            image_url: None,
            sound_url: None,
            video_url: None,
            tts: None,
            duration_ms: 5_000,
            html: None,
            css: None,
        }
    }
}

impl Display {
    pub fn new(
        label: impl Into<String>,
        icon: impl Into<String>,
        color: impl Into<String>,
        text: impl Into<String>,
    ) -> Self {
        Display {
            label: label.into(),
            icon: icon.into(),
            color: color.into(),
            text: text.into(),
        }
    }
}

impl Action {
    /// Shorthand for `Action::ShowAlert`.
    pub fn alert(alert: Alert) -> Self {
        Action::ShowAlert(alert)
    }
}

#[cfg(test)]
mod tests {
    use crate::testing;
    use serde_json::json;

    #[test]
    fn details_helpers_read_fields() {
        let mut e = testing::event(
            "channel.cheer",
            json!({"username": "a", "bits": 1000, "months": "12", "is_gift": true}),
        );
        assert_eq!(e.detail("username").as_deref(), Some("a"));
        assert_eq!(e.detail("bits").as_deref(), Some("1000"));
        assert_eq!(e.detail_f64("bits"), Some(1000.0));
        assert_eq!(e.detail_f64("months"), Some(12.0));
        assert_eq!(e.detail_bool("is_gift"), Some(true));
        assert_eq!(e.detail("missing"), None);
        e.details = json!({}).to_string();
        e.viewer = Some(testing::viewer("1", "Bob"));
        assert_eq!(e.username().as_deref(), Some("Bob"));
    }

    #[test]
    fn the_fake_host_keeps_kv_logs_and_time() {
        testing::reset();
        crate::host::kv_set("k", "v");
        assert_eq!(crate::host::kv_get("k").as_deref(), Some("v"));
        crate::host::kv_delete("k");
        assert_eq!(crate::host::kv_get("k"), None);
        crate::host::info("hello");
        assert_eq!(testing::logs().len(), 1);
        testing::set_now_ms(42);
        assert_eq!(crate::host::now_ms(), 42);
        testing::set_settings(json!({"a": 1}));
        assert_eq!(crate::host::settings()["a"], 1);
    }
}
