//! The smallest useful plugin: "New follower!" on the default overlay for
//! every follow, counting this session's followers. The SDK guide
//! (plugin-sdk/README.md) walks through it.

use stagehand_plugin_sdk::prelude::*;

pub struct FollowAlert {
    /// Follows seen since the plugin started (lost on reload: a count that
    /// must last would live in `host::kv_set`).
    followers: u64,
}

impl Plugin for FollowAlert {
    fn new(_settings: Settings) -> Result<Self, String> {
        Ok(FollowAlert { followers: 0 })
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
        let name = event.who();
        let mut alert = Alert::new("New follower!", format!("{name} just followed"));
        alert.tts = Some(format!("Thanks for the follow, {name}!"));
        Ok(vec![Action::ShowAlert(alert)])
    }
}

stagehand_plugin_sdk::export!(FollowAlert);

#[cfg(test)]
mod tests {
    use super::*;
    use stagehand_plugin_sdk::testing;

    fn plugin() -> FollowAlert {
        testing::reset();
        FollowAlert::new(Settings::default()).unwrap()
    }

    #[test]
    fn a_follow_becomes_one_alert_naming_the_follower() {
        let mut p = plugin();
        let actions = p.on_event(&testing::follow("JaneDoe")).unwrap();
        assert_eq!(actions.len(), 1);
        let Action::ShowAlert(alert) = &actions[0] else {
            panic!("not an alert")
        };
        assert_eq!(alert.title, "New follower!");
        assert_eq!(alert.message, "JaneDoe just followed");
        assert_eq!(alert.overlay, "alerts");
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
