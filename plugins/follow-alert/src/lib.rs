//! The smallest useful plugin: "New follower!" on the default overlay for
//! every follow. The SDK guide (plugin-sdk/README.md) walks through it.

use stagehand_plugin_sdk::prelude::*;

pub struct FollowAlert;

impl Plugin for FollowAlert {
    fn describe() -> Info {
        Info::new("follow-alert", env!("CARGO_PKG_VERSION")).kinds(["channel.follow"])
    }

    fn on_event(event: Event) -> Result<Vec<Action>, String> {
        let name = event.username().unwrap_or_else(|| "Someone".into());
        let mut alert = Alert::new("New follower!", format!("{name} just followed"));
        alert.tts = Some(format!("Thanks for the follow, {name}!"));
        Ok(vec![Action::ShowAlert(alert)])
    }
}

stagehand_plugin_sdk::export!(FollowAlert);

#[cfg(test)]
mod tests {
    use super::*;
    use stagehand_plugin_sdk::serde_json::json;
    use stagehand_plugin_sdk::testing;

    #[test]
    fn a_follow_becomes_one_alert_naming_the_follower() {
        testing::reset();
        let e = testing::event("channel.follow", json!({"username": "JaneDoe"}));
        let actions = FollowAlert::on_event(e).unwrap();
        assert_eq!(actions.len(), 1);
        let Action::ShowAlert(alert) = &actions[0] else {
            panic!("not an alert")
        };
        assert_eq!(alert.title, "New follower!");
        assert_eq!(alert.message, "JaneDoe just followed");
        assert_eq!(alert.overlay, "alerts");
    }

    #[test]
    fn it_asks_only_for_follows() {
        assert_eq!(FollowAlert::describe().kinds, vec!["channel.follow"]);
    }
}
