//! The variables templates and conditions see: the event's fields, plus a
//! few the streamer would otherwise have to work out.

use stagehand_plugin_sdk::text::tier_name;
use stagehand_plugin_sdk::{Event, EventData};

/// A donation its giver asked to keep private.
fn is_private_donation(event: &Event) -> bool {
    matches!(&event.data, EventData::Donation(d) if !d.is_public)
}

/// What `{name}` means for one event.
///
/// Every field of the event by its JSON name (see
/// `stagehand_plugin_sdk::fields`: `{bits}`, `{tier}`, `{reward.title}`,
/// `{username}`, `{kind}`, …), plus `{tier_name}` ("Tier 1" for tier 1000)
/// and `{count}`, this alert's number for its kind (follower #{count}).
/// Kept apart from the event so templates and conditions share one lookup.
#[derive(Debug, Clone, Copy)]
pub struct Vars<'a> {
    event: &'a Event,
    count: u64,
}

impl<'a> Vars<'a> {
    /// The variables of `event`, whose alert is number `count` of its kind.
    pub fn new(event: &'a Event, count: u64) -> Vars<'a> {
        Vars { event, count }
    }

    /// The value of `name`, if the event has one.
    pub fn get(&self, name: &str) -> Option<String> {
        match name {
            "count" => Some(self.count.to_string()),
            // A donation names its own (membership) tier; Twitch kinds have
            // a number that reads as "Tier 1".
            "tier_name" => match &self.event.data {
                EventData::Donation(d) => Some(d.tier_name.clone()).filter(|t| !t.is_empty()),
                _ => self.event.field("tier").map(|t| tier_name(&t)),
            },
            // A private donation's message is never shown, whatever the
            // event carries (the host drops it before storing anyway).
            "message" if is_private_donation(self.event) => None,
            // An empty message is no message: a condition sees it missing.
            "message" => self.event.field("message").filter(|m| !m.trim().is_empty()),
            field => self.event.field(field),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stagehand_plugin_sdk::serde_json::json;
    use stagehand_plugin_sdk::{EventData, Resub, kinds, testing};

    /// A resub at `tier` (the SDK's builder is always tier 1000).
    fn resub(tier: u32, message: &str) -> Event {
        let data = EventData::Resub(Resub {
            tier,
            cumulative_months: 3,
            message: message.into(),
        });
        testing::event(kinds::RESUB, Some(testing::viewer("1", "Bob")), data)
    }

    #[test]
    fn event_fields_are_variables_by_their_json_names() {
        testing::reset();
        let e = testing::redemption("Bob", "Hydrate", 500, "hi");
        let v = Vars::new(&e, 7);
        assert_eq!(v.get("username").as_deref(), Some("Bob"));
        assert_eq!(v.get("reward.title").as_deref(), Some("Hydrate"));
        assert_eq!(v.get("reward.cost").as_deref(), Some("500"));
        assert_eq!(v.get("user_input").as_deref(), Some("hi"));
        assert_eq!(v.get("reward"), None);
        assert_eq!(v.get("user_input.x"), None);
        assert_eq!(v.get("bits"), None);
        assert_eq!(v.get("kind").as_deref(), Some(kinds::REDEMPTION));
        assert_eq!(v.get("count").as_deref(), Some("7"));
    }

    #[test]
    fn fields_of_kinds_without_a_type_nest_by_dots() {
        testing::reset();
        let e = testing::other(
            kinds::CHEER,
            json!({"list": [{"id": "a"}], "flag": true, "nothing": null, "reward": {"title": "x"}}),
        );
        let v = Vars::new(&e, 1);
        assert_eq!(v.get("list.0.id").as_deref(), Some("a"));
        assert_eq!(v.get("flag").as_deref(), Some("true"));
        assert_eq!(v.get("nothing"), None);
        assert_eq!(v.get("reward"), None);
        assert_eq!(v.get("list.9.id"), None);
        assert_eq!(v.get("reward.title").as_deref(), Some("x"));
    }

    #[test]
    fn username_is_spelled_out_for_anonymous_and_raids() {
        testing::reset();
        let name = |e: Event| Vars::new(&e, 1).get("username");
        assert_eq!(
            name(testing::gift(None, 5)).as_deref(),
            Some("An anonymous gifter")
        );
        assert_eq!(
            name(testing::cheer("", 100, "")).as_deref(),
            Some("Anonymous")
        );
        // The raiding channel is the raid's viewer.
        assert_eq!(name(testing::raid("Raider", 10)).as_deref(), Some("Raider"));
        let mut nobody = testing::follow("x");
        nobody.viewer = None;
        assert_eq!(name(nobody).as_deref(), Some("Someone"));
    }

    #[test]
    fn tier_name_and_message_are_derived() {
        testing::reset();
        let e = resub(2000, "hello");
        let v = Vars::new(&e, 1);
        assert_eq!(v.get("tier").as_deref(), Some("2000"));
        assert_eq!(v.get("tier_name").as_deref(), Some("Tier 2"));
        assert_eq!(v.get("message").as_deref(), Some("hello"));
        let e = resub(1000, "  ");
        assert_eq!(Vars::new(&e, 1).get("message"), None);
        let e = testing::cheer("Bob", 5, "plain");
        assert_eq!(Vars::new(&e, 1).get("message").as_deref(), Some("plain"));
        let e = testing::follow("Bob");
        assert_eq!(Vars::new(&e, 1).get("tier_name"), None);
        // A redemption's text is {user_input}, not {message}.
        let e = testing::redemption("Bob", "Hydrate", 5, "typed");
        assert_eq!(Vars::new(&e, 1).get("message"), None);
    }

    #[test]
    fn a_donation_names_its_tier_and_hides_a_private_message() {
        testing::reset();
        let public = testing::donation("Ann", "25.00", "EUR", "keep going", true);
        let v = Vars::new(&public, 1);
        assert_eq!(v.get("username").as_deref(), Some("Ann"));
        assert_eq!(v.get("amount").as_deref(), Some("25.00"));
        assert_eq!(v.get("currency").as_deref(), Some("EUR"));
        assert_eq!(v.get("message").as_deref(), Some("keep going"));
        assert_eq!(v.get("tier_name"), None, "no tier: no name");
        let private = testing::donation("Ann", "25.00", "EUR", "just for you", false);
        assert_eq!(Vars::new(&private, 1).get("message"), None);
        let mut member = testing::donation("Ann", "6.00", "USD", "", true);
        if let EventData::Donation(d) = &mut member.data {
            d.tier_name = "Gold".into();
        }
        assert_eq!(
            Vars::new(&member, 1).get("tier_name").as_deref(),
            Some("Gold")
        );
    }

    #[test]
    fn odd_untyped_data_gives_no_variables_but_no_panic() {
        testing::reset();
        for json in ["not json", "[1]", "null", "42"] {
            let e = testing::event(kinds::CHEER, None, EventData::Other(json.into()));
            let v = Vars::new(&e, 1);
            assert_eq!(v.get("bits"), None);
            assert_eq!(v.get("tier_name"), None);
            assert_eq!(v.get("username").as_deref(), Some("Someone"));
        }
    }
}
