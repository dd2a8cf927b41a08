//! The `event` objects of EventSub notifications, one builder per
//! subscription type, with exactly the field names of Twitch's "EventSub
//! Subscription Types" reference (user triples `*_id/_login/_name`,
//! timestamps in RFC 3339 with nanoseconds, nulls where Twitch sends null).
//!
//! Pure: every value comes in as an argument.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::state::UserInfo;
use crate::wire::format_timestamp;

/// Puts `{prefix}_id`, `{prefix}_login` and `{prefix}_name` for `user`
/// (nulls when `None`, as for an anonymous gifter or cheerer).
fn put_user(map: &mut Map<String, Value>, prefix: &str, user: Option<&UserInfo>) {
    let (id, login, name) = match user {
        Some(u) => (
            Value::from(u.id.as_str()),
            Value::from(u.login.as_str()),
            Value::from(u.display_name.as_str()),
        ),
        None => (Value::Null, Value::Null, Value::Null),
    };
    map.insert(format!("{prefix}_id"), id);
    map.insert(format!("{prefix}_login"), login);
    map.insert(format!("{prefix}_name"), name);
}

/// An event object with the user triples for `users` (prefix, user) and
/// then `fields`.
fn event(users: &[(&str, Option<&UserInfo>)], fields: Value) -> Value {
    let mut map = Map::new();
    for (prefix, user) in users {
        put_user(&mut map, prefix, *user);
    }
    if let Value::Object(fields) = fields {
        map.extend(fields);
    }
    Value::Object(map)
}

/// `channel.follow` v2.
pub fn follow(broadcaster: &UserInfo, user: &UserInfo, followed_at: DateTime<Utc>) -> Value {
    event(
        &[
            ("user", Some(user)),
            ("broadcaster_user", Some(broadcaster)),
        ],
        json!({ "followed_at": format_timestamp(followed_at) }),
    )
}

/// `channel.subscribe` v1 (a gifted sub names the recipient as `user`).
pub fn subscribe(broadcaster: &UserInfo, user: &UserInfo, tier: &str, is_gift: bool) -> Value {
    event(
        &[
            ("user", Some(user)),
            ("broadcaster_user", Some(broadcaster)),
        ],
        json!({ "tier": tier, "is_gift": is_gift }),
    )
}

/// `channel.subscription.end` v1.
pub fn subscription_end(
    broadcaster: &UserInfo,
    user: &UserInfo,
    tier: &str,
    is_gift: bool,
) -> Value {
    subscribe(broadcaster, user, tier, is_gift)
}

/// `channel.subscription.gift` v1: `gifter` `None` is an anonymous gift
/// (user fields null, `cumulative_total` null).
pub fn subscription_gift(
    broadcaster: &UserInfo,
    gifter: Option<&UserInfo>,
    total: u32,
    tier: &str,
    cumulative_total: Option<u32>,
) -> Value {
    let cumulative_total = gifter.and(cumulative_total);
    event(
        &[("user", gifter), ("broadcaster_user", Some(broadcaster))],
        json!({
            "total": total,
            "tier": tier,
            "cumulative_total": cumulative_total,
            "is_anonymous": gifter.is_none(),
        }),
    )
}

/// `channel.subscription.message` v1 (a resub shared in chat).
pub fn subscription_message(
    broadcaster: &UserInfo,
    user: &UserInfo,
    tier: &str,
    text: &str,
    cumulative_months: u32,
    streak_months: Option<u32>,
    duration_months: u32,
) -> Value {
    event(
        &[
            ("user", Some(user)),
            ("broadcaster_user", Some(broadcaster)),
        ],
        json!({
            "tier": tier,
            "message": { "text": text, "emotes": [] },
            "cumulative_months": cumulative_months,
            "streak_months": streak_months,
            "duration_months": duration_months,
        }),
    )
}

/// `channel.cheer` v1: `user` `None` is an anonymous cheer.
pub fn cheer(broadcaster: &UserInfo, user: Option<&UserInfo>, bits: u32, message: &str) -> Value {
    event(
        &[("user", user), ("broadcaster_user", Some(broadcaster))],
        json!({
            "is_anonymous": user.is_none(),
            "message": message,
            "bits": bits,
        }),
    )
}

/// `channel.raid` v1.
pub fn raid(from: &UserInfo, to: &UserInfo, viewers: u32) -> Value {
    event(
        &[
            ("from_broadcaster_user", Some(from)),
            ("to_broadcaster_user", Some(to)),
        ],
        json!({ "viewers": viewers }),
    )
}

/// `channel.moderator.add` / `.remove` v1 (same shape).
pub fn moderator_change(broadcaster: &UserInfo, user: &UserInfo) -> Value {
    event(
        &[
            ("broadcaster_user", Some(broadcaster)),
            ("user", Some(user)),
        ],
        json!({}),
    )
}

/// `channel.vip.add` / `.remove` v1 (same shape).
pub fn vip_change(broadcaster: &UserInfo, user: &UserInfo) -> Value {
    event(
        &[
            ("user", Some(user)),
            ("broadcaster_user", Some(broadcaster)),
        ],
        json!({}),
    )
}

/// `channel.ban` v1: `ends_at` `None` is a permanent ban, else a timeout.
pub fn ban(
    broadcaster: &UserInfo,
    user: &UserInfo,
    moderator: &UserInfo,
    reason: &str,
    banned_at: DateTime<Utc>,
    ends_at: Option<DateTime<Utc>>,
) -> Value {
    event(
        &[
            ("user", Some(user)),
            ("broadcaster_user", Some(broadcaster)),
            ("moderator_user", Some(moderator)),
        ],
        json!({
            "reason": reason,
            "banned_at": format_timestamp(banned_at),
            "ends_at": ends_at.map(format_timestamp),
            "is_permanent": ends_at.is_none(),
        }),
    )
}

/// `channel.unban` v1.
pub fn unban(broadcaster: &UserInfo, user: &UserInfo, moderator: &UserInfo) -> Value {
    event(
        &[
            ("user", Some(user)),
            ("broadcaster_user", Some(broadcaster)),
            ("moderator_user", Some(moderator)),
        ],
        json!({}),
    )
}

/// One chat badge (`set_id`, `id`, `info`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Badge {
    /// Badge set, e.g. `subscriber`, `moderator`, `vip`, `broadcaster`.
    pub set_id: String,
    /// Version within the set, e.g. `12` (months) or `1`.
    pub id: String,
    /// Extra info (subscriber: the exact months), else "".
    pub info: String,
}

impl Badge {
    /// A badge from its parts.
    pub fn new(set_id: &str, id: &str, info: &str) -> Self {
        Badge {
            set_id: set_id.to_owned(),
            id: id.to_owned(),
            info: info.to_owned(),
        }
    }

    /// Reads `set_id/id` (or `set_id/id/info`, or just `set_id` meaning
    /// version `1`), the form the trigger API takes.
    pub fn parse(text: &str) -> Self {
        let mut parts = text.splitn(3, '/');
        let set_id = parts.next().unwrap_or_default();
        let id = parts.next().unwrap_or("1");
        let info = parts.next().unwrap_or_default();
        Badge::new(set_id, id, info)
    }
}

/// `channel.chat.message` v1: a plain-text message (one text fragment), no
/// cheer, no reply, not from shared chat.
pub fn chat_message(
    broadcaster: &UserInfo,
    chatter: &UserInfo,
    message_id: &str,
    text: &str,
    badges: &[Badge],
    color: &str,
) -> Value {
    let badges: Vec<Value> = badges
        .iter()
        .map(|b| json!({ "set_id": b.set_id, "id": b.id, "info": b.info }))
        .collect();
    event(
        &[
            ("broadcaster_user", Some(broadcaster)),
            ("chatter_user", Some(chatter)),
        ],
        json!({
            "message_id": message_id,
            "message": {
                "text": text,
                "fragments": [{
                    "type": "text",
                    "text": text,
                    "cheermote": null,
                    "emote": null,
                    "mention": null,
                }],
            },
            "color": color,
            "badges": badges,
            "message_type": "text",
            "cheer": null,
            "reply": null,
            "channel_points_custom_reward_id": null,
            "channel_points_animation_id": null,
            "source_broadcaster_user_id": null,
            "source_broadcaster_user_login": null,
            "source_broadcaster_user_name": null,
            "source_message_id": null,
            "source_badges": null,
            "is_source_only": null,
        }),
    )
}

/// `stream.online` v1.
pub fn stream_online(broadcaster: &UserInfo, stream_id: &str, started_at: DateTime<Utc>) -> Value {
    event(
        &[("broadcaster_user", Some(broadcaster))],
        json!({
            "id": stream_id,
            "type": "live",
            "started_at": format_timestamp(started_at),
        }),
    )
}

/// `stream.offline` v1.
pub fn stream_offline(broadcaster: &UserInfo) -> Value {
    event(&[("broadcaster_user", Some(broadcaster))], json!({}))
}

/// A custom channel-points reward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reward {
    /// Reward id (a UUID).
    pub id: String,
    /// The reward's title.
    pub title: String,
    /// Its price in channel points.
    pub cost: u32,
    /// The prompt shown to viewers.
    pub prompt: String,
}

/// `channel.channel_points_custom_reward_redemption.add` v1.
pub fn redemption(
    broadcaster: &UserInfo,
    user: &UserInfo,
    redemption_id: &str,
    user_input: &str,
    reward: &Reward,
    redeemed_at: DateTime<Utc>,
) -> Value {
    event(
        &[
            ("broadcaster_user", Some(broadcaster)),
            ("user", Some(user)),
        ],
        json!({
            "id": redemption_id,
            "user_input": user_input,
            "status": "unfulfilled",
            "reward": {
                "id": reward.id,
                "title": reward.title,
                "cost": reward.cost,
                "prompt": reward.prompt,
            },
            "redeemed_at": format_timestamp(redeemed_at),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap() + chrono::TimeDelta::nanoseconds(123)
    }

    fn streamer() -> UserInfo {
        UserInfo::new("100000001", "stagehand_demo")
    }

    fn viewer() -> UserInfo {
        UserInfo::new("1234", "cool_user")
    }

    fn keys(value: &Value) -> Vec<&str> {
        let mut keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        keys
    }

    /// Every payload names the channel it happened in, as Twitch's do
    /// (Stagehand's own parser is run over every trigger in its tests).
    fn assert_normalizes(kind: &str, event: &Value) {
        let channel = if kind == "channel.raid" {
            &event["to_broadcaster_user_id"]
        } else {
            &event["broadcaster_user_id"]
        };
        assert_eq!(channel, "100000001", "{kind}: {event}");
    }

    #[test]
    fn follow_has_the_v2_fields() {
        let event = follow(&streamer(), &viewer(), at());
        assert_eq!(
            event,
            json!({
                "user_id": "1234", "user_login": "cool_user", "user_name": "Cool_user",
                "broadcaster_user_id": "100000001",
                "broadcaster_user_login": "stagehand_demo",
                "broadcaster_user_name": "Stagehand_demo",
                "followed_at": "2025-03-01T12:00:00.000000123Z"
            })
        );
        assert_normalizes("channel.follow", &event);
    }

    #[test]
    fn subscription_events_have_their_fields() {
        let sub = subscribe(&streamer(), &viewer(), "1000", true);
        assert_eq!(sub["tier"], "1000");
        assert_eq!(sub["is_gift"], true);
        assert_normalizes("channel.subscribe", &sub);
        let end = subscription_end(&streamer(), &viewer(), "2000", false);
        assert_eq!(end["tier"], "2000");
        assert_normalizes("channel.subscription.end", &end);
        let resub = subscription_message(&streamer(), &viewer(), "1000", "hi", 15, None, 1);
        assert_eq!(
            keys(&resub),
            [
                "broadcaster_user_id",
                "broadcaster_user_login",
                "broadcaster_user_name",
                "cumulative_months",
                "duration_months",
                "message",
                "streak_months",
                "tier",
                "user_id",
                "user_login",
                "user_name",
            ]
        );
        assert_eq!(resub["message"], json!({"text": "hi", "emotes": []}));
        assert_eq!(resub["streak_months"], Value::Null);
        assert_normalizes("channel.subscription.message", &resub);
    }

    #[test]
    fn an_anonymous_gift_has_null_user_fields() {
        let named = subscription_gift(&streamer(), Some(&viewer()), 5, "1000", Some(12));
        assert_eq!(named["is_anonymous"], false);
        assert_eq!(named["cumulative_total"], 12);
        assert_normalizes("channel.subscription.gift", &named);
        let anonymous = subscription_gift(&streamer(), None, 5, "1000", Some(12));
        assert_eq!(anonymous["user_id"], Value::Null);
        assert_eq!(anonymous["user_login"], Value::Null);
        assert_eq!(anonymous["user_name"], Value::Null);
        assert_eq!(anonymous["cumulative_total"], Value::Null);
        assert_eq!(anonymous["is_anonymous"], true);
        assert_eq!(anonymous["total"], 5);
        assert_normalizes("channel.subscription.gift", &anonymous);
    }

    #[test]
    fn cheer_raid_and_roles() {
        let c = cheer(&streamer(), Some(&viewer()), 100, "Cheer100 nice");
        assert_eq!(
            (c["bits"].clone(), c["is_anonymous"].clone()),
            (json!(100), json!(false))
        );
        assert_normalizes("channel.cheer", &c);
        assert_normalizes("channel.cheer", &cheer(&streamer(), None, 1, "Cheer1"));
        let r = raid(&viewer(), &streamer(), 42);
        assert_eq!(r["from_broadcaster_user_login"], "cool_user");
        assert_eq!(r["to_broadcaster_user_id"], "100000001");
        assert_eq!(r["viewers"], 42);
        assert_normalizes("channel.raid", &r);
        for kind in ["channel.moderator.add", "channel.moderator.remove"] {
            let e = moderator_change(&streamer(), &viewer());
            assert_eq!(keys(&e).len(), 6);
            assert_normalizes(kind, &e);
        }
        for kind in ["channel.vip.add", "channel.vip.remove"] {
            assert_normalizes(kind, &vip_change(&streamer(), &viewer()));
        }
    }

    #[test]
    fn bans_and_timeouts() {
        let moderator = UserInfo::new("77", "a_mod");
        let permanent = ban(&streamer(), &viewer(), &moderator, "spam", at(), None);
        assert_eq!(permanent["is_permanent"], true);
        assert_eq!(permanent["ends_at"], Value::Null);
        assert_eq!(permanent["moderator_user_login"], "a_mod");
        assert_normalizes("channel.ban", &permanent);
        let ends = at() + chrono::TimeDelta::seconds(600);
        let timeout = ban(&streamer(), &viewer(), &moderator, "", at(), Some(ends));
        assert_eq!(timeout["is_permanent"], false);
        assert_eq!(timeout["ends_at"], format_timestamp(ends));
        let lifted = unban(&streamer(), &viewer(), &moderator);
        assert_eq!(lifted["moderator_user_id"], "77");
        assert_normalizes("channel.unban", &lifted);
    }

    #[test]
    fn chat_message_has_fragments_and_badges() {
        let badges = [Badge::parse("subscriber/12/14"), Badge::parse("vip")];
        let event = chat_message(&streamer(), &viewer(), "abc", "Hi chat", &badges, "#FF0000");
        assert_eq!(event["chatter_user_login"], "cool_user");
        assert_eq!(event["message"]["text"], "Hi chat");
        assert_eq!(event["message"]["fragments"][0]["type"], "text");
        assert_eq!(
            event["badges"],
            json!([
                {"set_id": "subscriber", "id": "12", "info": "14"},
                {"set_id": "vip", "id": "1", "info": ""}
            ])
        );
        assert_eq!(event["message_type"], "text");
        assert_eq!(event["reply"], Value::Null);
        assert_normalizes("channel.chat.message", &event);
    }

    #[test]
    fn stream_and_redemption() {
        let online = stream_online(&streamer(), "9001", at());
        assert_eq!(online["type"], "live");
        assert_eq!(online["id"], "9001");
        assert_normalizes("stream.online", &online);
        assert_normalizes("stream.offline", &stream_offline(&streamer()));
        let reward = Reward {
            id: "r-1".into(),
            title: "Hydrate".into(),
            cost: 500,
            prompt: "Drink water".into(),
        };
        let redeemed = redemption(&streamer(), &viewer(), "x-1", "", &reward, at());
        assert_eq!(redeemed["reward"]["title"], "Hydrate");
        assert_eq!(redeemed["status"], "unfulfilled");
        assert_eq!(redeemed["user_login"], "cool_user");
        assert_normalizes(
            "channel.channel_points_custom_reward_redemption.add",
            &redeemed,
        );
    }
}
