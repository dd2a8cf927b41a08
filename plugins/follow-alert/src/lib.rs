//! The smallest useful plugin: an alert on the default overlay for every
//! follow, counting this session's followers. Its title, message, spoken
//! thank-you, duration, picture and sound are settings the streamer edits
//! in a form on the dashboard (the `[[setting]]` tables of its
//! plugin.toml). The SDK guide (plugin-sdk/README.md) walks through it.

use stagehand_plugin_sdk::prelude::*;
use stagehand_plugin_sdk::text::render;

pub struct FollowAlert {
    /// Follows seen since the plugin started (lost on reload: a count that
    /// must last would live in `host::kv_set`).
    followers: u64,
    look: Look,
}

/// What the streamer set. The host has checked the values against the
/// schema and filled in the defaults, so the fallbacks here only matter
/// when the plugin runs without a host (its unit tests).
struct Look {
    title: String,
    message: String,
    tts: Option<String>,
    duration_ms: u32,
    image_url: Option<String>,
    sound_url: Option<String>,
}

impl Look {
    fn from(settings: &Settings) -> Look {
        let media = |key: &str| {
            settings
                .str(key)
                .filter(|u| !u.is_empty())
                .map(str::to_owned)
        };
        Look {
            title: settings.str_or("title", "New follower!"),
            message: settings.str_or("message", "{username} just followed"),
            tts: settings
                .bool("speak")
                .unwrap_or(true)
                .then(|| settings.str_or("tts", "Thanks for the follow, {username}!")),
            duration_ms: settings
                .u64("duration_ms")
                .and_then(|ms| u32::try_from(ms).ok())
                .unwrap_or(5_000),
            image_url: media("image_url"),
            sound_url: media("sound_url"),
        }
    }
}

impl Plugin for FollowAlert {
    fn new(settings: Settings) -> Result<Self, String> {
        Ok(FollowAlert {
            followers: 0,
            look: Look::from(&settings),
        })
    }

    fn describe() -> Info {
        Info::new().kinds([kinds::FOLLOW])
    }
}

impl Actions for FollowAlert {
    fn on_event(&mut self, event: &Event) -> Result<Vec<Action>, String> {
        let EventData::Follow(_) = &event.data else {
            return Ok(Vec::new());
        };
        self.followers += 1;
        let count = self.followers.to_string();
        let fill = |template: &str| {
            render(template, |name| match name {
                "count" => Some(count.clone()),
                name => event.field(name),
            })
        };
        let look = &self.look;
        let mut alert = Alert::new(look.title.clone(), fill(&look.message));
        alert.tts = look.tts.as_deref().map(fill);
        alert.duration_ms = look.duration_ms;
        alert.image_url = look.image_url.clone();
        alert.sound_url = look.sound_url.clone();
        Ok(vec![Action::ShowAlert(alert)])
    }
}

stagehand_plugin_sdk::export!(FollowAlert);

#[cfg(test)]
mod tests {
    use super::*;
    use stagehand_plugin_sdk::serde_json::json;
    use stagehand_plugin_sdk::testing;

    fn plugin() -> FollowAlert {
        testing::reset();
        FollowAlert::new(Settings::default()).unwrap()
    }

    fn only_alert(actions: Vec<Action>) -> Alert {
        assert_eq!(actions.len(), 1);
        let Action::ShowAlert(alert) = actions.into_iter().next().unwrap() else {
            panic!("not an alert")
        };
        alert
    }

    #[test]
    fn a_follow_becomes_one_alert_naming_the_follower() {
        let mut p = plugin();
        let alert = only_alert(p.on_event(&testing::follow("JaneDoe")).unwrap());
        assert_eq!(alert.title, "New follower!");
        assert_eq!(alert.message, "JaneDoe just followed");
        assert_eq!(
            alert.tts.as_deref(),
            Some("Thanks for the follow, JaneDoe!")
        );
        assert_eq!(alert.overlay, "alerts");
        assert_eq!(alert.duration_ms, 5_000);
        assert_eq!(alert.image_url, None);
    }

    #[test]
    fn the_streamers_settings_shape_the_alert() {
        testing::reset();
        let settings = Settings::from_json(json!({
            "title": "Welcome!",
            "message": "{username} is follower #{count}",
            "speak": false,
            "duration_ms": 8000,
            "image_url": "/media/heart.png",
            "sound_url": "",
        }));
        let mut p = FollowAlert::new(settings).unwrap();
        p.on_event(&testing::follow("A")).unwrap();
        let alert = only_alert(p.on_event(&testing::follow("Bo")).unwrap());
        assert_eq!(alert.title, "Welcome!");
        assert_eq!(alert.message, "Bo is follower #2");
        assert_eq!(alert.tts, None);
        assert_eq!(alert.duration_ms, 8_000);
        assert_eq!(alert.image_url.as_deref(), Some("/media/heart.png"));
        assert_eq!(alert.sound_url, None);
    }

    #[test]
    fn state_lasts_between_events() {
        let mut p = plugin();
        p.on_event(&testing::follow("A")).unwrap();
        p.on_event(&testing::follow("B")).unwrap();
        assert_eq!(p.followers, 2);
        // Other kinds are not follows.
        assert!(p.on_event(&testing::cheer("C", 5, "")).unwrap().is_empty());
        assert_eq!(p.followers, 2);
    }

    #[test]
    fn it_asks_only_for_follows_and_plays_the_actions_role() {
        let info = testing::describe::<FollowAlert>();
        assert_eq!(info.kinds, vec![kinds::FOLLOW]);
        assert_eq!(info.implements, vec![Role::Actions]);
        assert_eq!(info.name, "follow-alert");
    }
}
