//! An event's fields by name, as text: what `{name}` means in a template
//! and what conditions compare. The names are those of the event's JSON
//! form (the "details" the API shows, listed per kind in the kinds
//! reference), so a template written against the dashboard's events works
//! unchanged: `{username}`, `{bits}`, `{tier}`, `{reward.title}`, ...
//!
//! Besides the kind's own fields: `{username}` is whom to name (see
//! [`crate::Event::who`]), `{kind}` the kind, `{tier_name}` the tier as
//! people say it ("Tier 1", see [`crate::text::tier_name`]; a donation's
//! own `tier_name` for donations), `{data.…}` a dotted path into a Discord
//! event's `data` object, `{viewer.login}`,
//! `{viewer.id}` and `{viewer.display_name}` the event's viewer.

use serde_json::Value;

use crate::{Event, EventData};

/// The field `name` of `event`, if it has one.
pub fn field(event: &Event, name: &str) -> Option<String> {
    match name {
        "username" => return Some(event.who()),
        "kind" => return Some(event.kind.clone()),
        // A donation names its own (membership) tier; Twitch kinds have a
        // number that reads as "Tier 1".
        "tier_name" => {
            return match &event.data {
                EventData::Donation(d) => Some(d.tier_name.clone()),
                _ => field(event, "tier").map(|t| crate::text::tier_name(&t)),
            };
        }
        "viewer.login" => return event.viewer.as_ref().map(|v| v.login.clone()),
        "viewer.id" => return event.viewer.as_ref().map(|v| v.id.clone()),
        "viewer.display_name" => return event.viewer.as_ref().map(|v| v.display_name.clone()),
        _ => {}
    }
    let text = |s: &str| Some(s.to_owned());
    let num = |n: u64| Some(n.to_string());
    let flag = |b: bool| Some(b.to_string());
    match (&event.data, name) {
        (EventData::Follow(f), "followed_at") => f.followed_at_ms.map(|ms| ms.to_string()),
        (EventData::Ban(b), "is_permanent") => flag(b.permanent),
        (EventData::Ban(b), "duration_seconds") => b.duration_seconds.map(|s| s.to_string()),
        (EventData::Ban(b), "expires_at") => b.expires_at_ms.map(|ms| ms.to_string()),
        (EventData::Ban(b), "reason") => b.reason.clone(),
        (EventData::Ban(b), "moderator_username") => b.moderator_name.clone(),
        (EventData::Ban(b), "moderator_id") => b.moderator_id.clone(),
        (EventData::Subscribe(s), "tier") => num(s.tier.into()),
        (EventData::Subscribe(s), "is_gift") => flag(s.is_gift),
        (EventData::Resub(r), "tier") => num(r.tier.into()),
        (EventData::Resub(r), "cumulative_months") => num(r.cumulative_months.into()),
        (EventData::Resub(r), "message") => text(&r.message),
        (EventData::SubscriptionEnd(s), "tier") => num(s.tier.into()),
        (EventData::Gift(g), "tier") => num(g.tier.into()),
        (EventData::Gift(g), "total") => num(g.total.into()),
        (EventData::Gift(g), "is_anonymous") => flag(g.anonymous),
        (EventData::Cheer(c), "bits") => num(c.bits.into()),
        (EventData::Cheer(c), "message") => text(&c.message),
        (EventData::Cheer(c), "is_anonymous") => flag(c.anonymous),
        (EventData::Raid(r), "viewers") => num(r.viewers.into()),
        (EventData::Redemption(r), "reward.id") => text(&r.reward.id),
        (EventData::Redemption(r), "reward.title") => text(&r.reward.title),
        (EventData::Redemption(r), "reward.cost") => num(r.reward.cost.into()),
        (EventData::Redemption(r), "reward.prompt") => text(&r.reward.prompt),
        (EventData::Redemption(r), "user_input") => text(&r.user_input),
        (EventData::Redemption(r), "status") => text(&r.status),
        (EventData::ChatMessage(c), "text" | "message") => text(&c.text),
        (EventData::StreamOnline(s), "type") => text(&s.stream_type),
        (EventData::StreamOnline(s), "started_at") => s.started_at_ms.map(|ms| ms.to_string()),
        (EventData::Clip(c), "clip_title") => text(&c.title),
        (EventData::Clip(c), "clip_url") => text(&c.url),
        (EventData::Clip(c), "creator_username") => text(&c.creator_name),
        (EventData::Clip(c), "view_count") => num(c.view_count),
        (EventData::Donation(d), "amount") => text(&d.amount),
        (EventData::Donation(d), "currency") => text(&d.currency),
        (EventData::Donation(d), "message") => text(&d.message),
        (EventData::Donation(d), "is_public") => flag(d.is_public),
        (EventData::Donation(d), "source") => text(&d.source),
        (EventData::Donation(d), "donation_type") => text(&d.donation_type),
        (EventData::Donation(d), "tier_name") => text(&d.tier_name),
        (EventData::Discord(d), "guild_id") => text(&d.guild_id),
        (EventData::Discord(d), "user_id") => text(&d.user_id),
        (EventData::Discord(d), "giveaway_id") => text(&d.giveaway_id),
        (EventData::Discord(d), "prize") => text(&d.prize),
        (EventData::Discord(d), "winner_id") => text(&d.winner_id),
        (EventData::Discord(d), "ticket_id") => text(&d.ticket_id),
        (EventData::Discord(d), path) => {
            let inner = path.strip_prefix("data.")?;
            let value: Value = serde_json::from_str(&d.data).ok()?;
            lookup(&value, inner)
        }
        (EventData::Other(json), path) => {
            let value: Value = serde_json::from_str(json).ok()?;
            lookup(&value, path)
        }
        _ => None,
    }
}

/// A field of a JSON object by dotted path (`reward.title`, `badges.0.id`)
/// as text: strings as they are, numbers and booleans printed; null,
/// objects and arrays have no text.
pub fn lookup(value: &Value, path: &str) -> Option<String> {
    let mut value = value;
    for key in path.split('.') {
        value = match value {
            Value::Object(map) => map.get(key)?,
            Value::Array(items) => items.get(key.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;
    use serde_json::json;

    #[test]
    fn fields_carry_the_json_names() {
        let e = testing::cheer("Bob", 500, "hype");
        assert_eq!(field(&e, "bits").as_deref(), Some("500"));
        assert_eq!(field(&e, "message").as_deref(), Some("hype"));
        assert_eq!(field(&e, "username").as_deref(), Some("Bob"));
        assert_eq!(field(&e, "kind").as_deref(), Some("channel.cheer"));
        assert_eq!(field(&e, "viewer.login").as_deref(), Some("bob"));
        assert_eq!(field(&e, "tier"), None);
        assert_eq!(field(&e, "tier_name"), None);
        let s = testing::subscribe("Ann", 2000);
        assert_eq!(field(&s, "tier_name").as_deref(), Some("Tier 2"));
        let r = testing::redemption("Ann", "Hydrate", 100, "");
        assert_eq!(field(&r, "reward.title").as_deref(), Some("Hydrate"));
        assert_eq!(field(&r, "reward.cost").as_deref(), Some("100"));
        let other = testing::other(
            "channel.hype_train.begin",
            json!({"level": 3, "top": [{"user": "x"}]}),
        );
        assert_eq!(field(&other, "level").as_deref(), Some("3"));
        assert_eq!(field(&other, "top.0.user").as_deref(), Some("x"));
    }

    #[test]
    fn donation_and_discord_fields_carry_the_json_names() {
        let d = testing::donation("Ann", "5.00", "EUR", "hi", false);
        assert_eq!(field(&d, "amount").as_deref(), Some("5.00"));
        assert_eq!(field(&d, "currency").as_deref(), Some("EUR"));
        assert_eq!(field(&d, "is_public").as_deref(), Some("false"));
        assert_eq!(field(&d, "source").as_deref(), Some("kofi"));
        assert_eq!(field(&d, "donation_type").as_deref(), Some("Donation"));
        assert_eq!(field(&d, "username").as_deref(), Some("Ann"));
        // The donation's own tier, not a Twitch tier's name.
        assert_eq!(field(&d, "tier_name").as_deref(), Some(""));
        let g = testing::discord(
            crate::kinds::DISCORD_GIVEAWAY_END,
            json!({"giveawayId": "g1", "winnerId": "42", "extra": {"n": 3}}),
        );
        assert_eq!(field(&g, "giveaway_id").as_deref(), Some("g1"));
        assert_eq!(field(&g, "winner_id").as_deref(), Some("42"));
        assert_eq!(field(&g, "data.extra.n").as_deref(), Some("3"));
        assert_eq!(field(&g, "data.winnerId").as_deref(), Some("42"));
        assert_eq!(field(&g, "nope"), None);
    }

    #[test]
    fn lookup_follows_dotted_paths() {
        let d = json!({"reward": {"title": "Hydrate"}, "bits": 5, "ok": true, "badges": [{"id": "1"}], "none": null});
        assert_eq!(lookup(&d, "reward.title").as_deref(), Some("Hydrate"));
        assert_eq!(lookup(&d, "bits").as_deref(), Some("5"));
        assert_eq!(lookup(&d, "ok").as_deref(), Some("true"));
        assert_eq!(lookup(&d, "badges.0.id").as_deref(), Some("1"));
        assert_eq!(lookup(&d, "none"), None);
        assert_eq!(lookup(&d, "reward"), None);
        assert_eq!(lookup(&d, "missing.path"), None);
    }
}
