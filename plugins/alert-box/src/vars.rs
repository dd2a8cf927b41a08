//! The variables templates and conditions see: the event's details, plus a
//! few the streamer would otherwise have to work out.

use stagehand_plugin_sdk::Event;
use stagehand_plugin_sdk::serde_json::Value;
pub use stagehand_plugin_sdk::text::{lookup, message, tier_name, who};

/// What `{name}` means for one event.
///
/// Besides every details field (nested by dots: `{reward.title}`):
/// `{username}` is who did it, spelled out for anonymous gifts and cheers and
/// taken from the raider for raids; `{tier_name}` is "Tier 1" for tier
/// "1000"; `{message}` is the text of a message even when EventSub sends an
/// object; `{kind}` is the event kind; `{count}` is this alert's number for
/// its kind (follower #{count}).
#[derive(Debug, Clone)]
pub struct Vars {
    details: Value,
    username: String,
    tier_name: Option<String>,
    message: Option<String>,
    kind: String,
    count: u64,
}

impl Vars {
    /// The variables of `event`, whose alert is number `count` of its kind.
    pub fn new(event: &Event, count: u64) -> Vars {
        let details = event.details_json();
        let username = who(event, &details);
        let tier_name = lookup(&details, "tier")
            .filter(|t| !t.trim().is_empty())
            .map(|t| tier_name(&t));
        let message = message(&details);
        Vars {
            username,
            tier_name,
            message,
            kind: event.kind.clone(),
            count,
            details,
        }
    }

    /// The value of `name`, if the event has one.
    pub fn get(&self, name: &str) -> Option<String> {
        match name {
            "username" => Some(self.username.clone()),
            "tier_name" => self.tier_name.clone(),
            "message" => self.message.clone(),
            "kind" => Some(self.kind.clone()),
            "count" => Some(self.count.to_string()),
            path => lookup(&self.details, path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stagehand_plugin_sdk::serde_json::json;
    use stagehand_plugin_sdk::testing;

    fn vars(kind: &str, details: Value) -> Vars {
        Vars::new(&testing::event(kind, details), 7)
    }

    #[test]
    fn details_fields_are_variables_nested_by_dots() {
        let v = vars(
            "channel.channel_points_custom_reward_redemption.add",
            json!({"user_name": "Bob", "user_input": "hi", "reward": {"title": "Hydrate", "cost": 500},
                   "list": [{"id": "a"}], "flag": true, "nothing": null}),
        );
        assert_eq!(v.get("username").as_deref(), Some("Bob"));
        assert_eq!(v.get("reward.title").as_deref(), Some("Hydrate"));
        assert_eq!(v.get("reward.cost").as_deref(), Some("500"));
        assert_eq!(v.get("list.0.id").as_deref(), Some("a"));
        assert_eq!(v.get("flag").as_deref(), Some("true"));
        assert_eq!(v.get("nothing"), None);
        assert_eq!(v.get("reward"), None);
        assert_eq!(v.get("list.9.id"), None);
        assert_eq!(v.get("user_input.x"), None);
        assert_eq!(
            v.get("kind").as_deref(),
            Some("channel.channel_points_custom_reward_redemption.add")
        );
        assert_eq!(v.get("count").as_deref(), Some("7"));
    }

    #[test]
    fn username_is_spelled_out_for_anonymous_and_raids() {
        let gift = json!({"username": "", "tier": "1000", "total": 5, "is_anonymous": true});
        assert_eq!(
            vars("channel.subscription.gift", gift)
                .get("username")
                .as_deref(),
            Some("An anonymous gifter")
        );
        let cheer = json!({"user_name": null, "is_anonymous": true, "bits": 100});
        assert_eq!(
            vars("channel.cheer", cheer).get("username").as_deref(),
            Some("Anonymous")
        );
        let raid = json!({"from_broadcaster_user_name": "Raider", "viewers": 10});
        assert_eq!(
            vars("channel.raid", raid).get("username").as_deref(),
            Some("Raider")
        );
        assert_eq!(
            vars("channel.follow", json!({})).get("username").as_deref(),
            Some("Someone")
        );
        let mut e = testing::event("channel.follow", json!({"username": "  "}));
        e.viewer = Some(testing::viewer("1", "Viewer"));
        assert_eq!(Vars::new(&e, 1).get("username").as_deref(), Some("Viewer"));
    }

    #[test]
    fn tier_name_and_message_are_derived() {
        let v = vars(
            "channel.subscription.message",
            json!({"tier": "2000", "message": {"text": "hello"}}),
        );
        assert_eq!(v.get("tier").as_deref(), Some("2000"));
        assert_eq!(v.get("tier_name").as_deref(), Some("Tier 2"));
        assert_eq!(v.get("message").as_deref(), Some("hello"));
        let v = vars(
            "channel.cheer",
            json!({"tier": "prime", "message": "plain"}),
        );
        assert_eq!(v.get("tier_name").as_deref(), Some("Prime"));
        assert_eq!(v.get("message").as_deref(), Some("plain"));
        assert_eq!(vars("channel.follow", json!({})).get("tier_name"), None);
    }

    #[test]
    fn odd_details_give_no_variables_but_no_panic() {
        let mut e = testing::event("channel.cheer", json!({}));
        for details in ["not json", "[1]", "null", "42"] {
            e.details = details.into();
            let v = Vars::new(&e, 1);
            assert_eq!(v.get("bits"), None);
            assert_eq!(v.get("username").as_deref(), Some("Someone"));
        }
    }
}
