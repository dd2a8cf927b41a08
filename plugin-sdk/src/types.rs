//! Conveniences on the contract's types, so plugins stay short.

use crate::{Action, Alert, Display, Event, EventData, Info, Role};

impl Info {
    /// A description to fill in: no kinds yet (all of them, if none are
    /// added), the roles implemented, and name and version from the crate.
    pub fn new() -> Self {
        Info {
            name: String::new(),
            version: String::new(),
            kinds: Vec::new(),
            roles: Vec::new(),
            implements: Vec::new(),
        }
    }

    /// The event kinds to receive (see [`crate::kinds`]; `"*"` for all).
    pub fn kinds<I, S>(mut self, kinds: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.kinds = kinds.into_iter().map(Into::into).collect();
        self
    }

    /// The roles the host should call, when not every implemented one.
    pub fn roles(mut self, roles: impl IntoIterator<Item = Role>) -> Self {
        self.roles = roles.into_iter().collect();
        self
    }
}

impl Default for Info {
    fn default() -> Self {
        Info::new()
    }
}

impl Event {
    /// Whom an alert or post about this event should name: "An anonymous
    /// gifter" and "Anonymous" for anonymous gifts and cheers, the clip's
    /// creator, the broadcaster for stream events, a donation's giver or a
    /// Discord member (by the name their service gives), else the event's
    /// viewer, and "Someone" when nothing names anyone.
    pub fn who(&self) -> String {
        self.named().unwrap_or_else(|| "Someone".to_owned())
    }

    /// Whom this event names, as [`Event::who`], but `None` rather than
    /// "Someone" when nothing names anyone.
    pub fn named(&self) -> Option<String> {
        let named = match &self.data {
            EventData::Gift(g) if g.anonymous => Some("An anonymous gifter".to_owned()),
            EventData::Cheer(c) if c.anonymous => Some("Anonymous".to_owned()),
            EventData::Clip(c) => Some(c.creator_name.clone()),
            EventData::StreamOnline(s) => Some(s.broadcaster_name.clone()),
            EventData::StreamOffline(s) => Some(s.broadcaster_name.clone()),
            EventData::Donation(d) => Some(d.username.clone()),
            EventData::Discord(d) => Some(d.username.clone()),
            EventData::Other(json) => serde_json::from_str::<serde_json::Value>(json)
                .ok()
                .and_then(|v| crate::fields::lookup(&v, "username")),
            _ => None,
        };
        named
            .filter(|s| !s.trim().is_empty())
            .or_else(|| self.viewer.as_ref().map(|v| v.display_name.clone()))
            .filter(|s| !s.trim().is_empty())
    }

    /// A field by its JSON name, as text (see [`crate::fields`]).
    pub fn field(&self, name: &str) -> Option<String> {
        crate::fields::field(self, name)
    }

    /// The message a viewer attached (resub, cheer, chat, a public
    /// donation's), if not empty. A private donation's message is for the
    /// streamer only, so it is `None` here: read `Donation::message` to
    /// show it somewhere private.
    pub fn message(&self) -> Option<&str> {
        let text = match &self.data {
            EventData::Resub(r) => &r.message,
            EventData::Cheer(c) => &c.message,
            EventData::ChatMessage(c) => &c.text,
            EventData::Redemption(r) => &r.user_input,
            EventData::Donation(d) if d.is_public => &d.message,
            _ => return None,
        };
        Some(text.as_str()).filter(|t| !t.trim().is_empty())
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

    #[test]
    fn who_names_the_right_person() {
        assert_eq!(testing::gift(None, 5).who(), "An anonymous gifter");
        assert_eq!(testing::gift(Some("Gus"), 5).who(), "Gus");
        assert_eq!(testing::cheer("", 100, "").who(), "Anonymous");
        assert_eq!(testing::raid("Raider", 10).who(), "Raider");
        assert_eq!(testing::follow("Ann").who(), "Ann");
        assert_eq!(testing::follow(" ").who(), "Someone");
        assert_eq!(
            testing::donation("Ann", "5.00", "USD", "", true).who(),
            "Ann"
        );
        assert_eq!(
            testing::donation("", "5.00", "USD", "", true).who(),
            "Someone"
        );
        let joined = testing::discord(
            crate::kinds::DISCORD_MEMBER_JOIN,
            serde_json::json!({"username": "Zed"}),
        );
        assert_eq!(joined.who(), "Zed");
        // Nobody from outside Twitch is taken for a Twitch viewer.
        assert!(joined.viewer.is_none());
    }

    #[test]
    fn a_private_donation_keeps_its_message_out_of_message() {
        let public = testing::donation("Ann", "5.00", "USD", "thanks!", true);
        assert_eq!(public.message(), Some("thanks!"));
        let private = testing::donation("Ann", "5.00", "USD", "just for you", false);
        assert_eq!(private.message(), None);
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
        testing::set_settings(serde_json::json!({"a": 1}));
        assert_eq!(crate::host::settings()["a"], 1);
    }
}
