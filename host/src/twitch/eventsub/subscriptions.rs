//! The EventSub subscriptions Stagehand wants, and which of them the token
//! can have. Pure: [`plan`] turns (broadcaster, token user, granted scopes)
//! into the subscriptions to create and the ones to skip with a reason, and
//! [`create_body`] is the exact `POST /eventsub/subscriptions` request body.
//!
//! The plan is made once per session: after any close (not a
//! `session_reconnect`) every subscription must be created again.

use std::fmt;

use serde_json::{Map, Value, json};

use super::protocol::Subscription;

/// Which ids a subscription's condition names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionShape {
    /// `{broadcaster_user_id}`
    Broadcaster,
    /// `{broadcaster_user_id, moderator_user_id}`: the token's user must be
    /// the broadcaster or one of their moderators (`channel.follow` v2).
    BroadcasterAndModerator,
    /// `{broadcaster_user_id, user_id}`: read chat as the token's user.
    BroadcasterAndUser,
    /// `{to_broadcaster_user_id}`: raids into the channel.
    ToBroadcaster,
}

impl ConditionShape {
    /// The condition object for `broadcaster_id`, with `user_id` (the
    /// token's user) where the shape needs it.
    pub fn build(self, broadcaster_id: &str, user_id: &str) -> Map<String, Value> {
        let mut condition = Map::new();
        let mut put = |key: &str, value: &str| {
            condition.insert(key.to_owned(), Value::from(value));
        };
        match self {
            ConditionShape::Broadcaster => put("broadcaster_user_id", broadcaster_id),
            ConditionShape::BroadcasterAndModerator => {
                put("broadcaster_user_id", broadcaster_id);
                put("moderator_user_id", user_id);
            }
            ConditionShape::BroadcasterAndUser => {
                put("broadcaster_user_id", broadcaster_id);
                put("user_id", user_id);
            }
            ConditionShape::ToBroadcaster => put("to_broadcaster_user_id", broadcaster_id),
        }
        condition
    }
}

/// One row of the table: a subscription type we want and what it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubscriptionSpec {
    /// The subscription type, e.g. `channel.follow`.
    pub kind: &'static str,
    /// The version we speak (`2` for `channel.follow`, else `1`).
    pub version: &'static str,
    /// Which ids its condition names.
    pub condition: ConditionShape,
    /// Scopes of which any one authorizes it; the first is the one to ask
    /// for at login. Empty: no scope needed.
    pub scopes: &'static [&'static str],
}

impl SubscriptionSpec {
    /// The scope to ask for at login (and to name when it is missing);
    /// `None` when the subscription needs no authorization.
    pub fn required_scope(&self) -> Option<&'static str> {
        self.scopes.first().copied()
    }

    /// Whether a token with `granted` scopes may create this subscription.
    pub fn is_authorized(&self, granted: &[String]) -> bool {
        self.scopes.is_empty() || self.scopes.iter().any(|s| granted.iter().any(|g| g == s))
    }
}

const fn spec(
    kind: &'static str,
    version: &'static str,
    condition: ConditionShape,
    scopes: &'static [&'static str],
) -> SubscriptionSpec {
    SubscriptionSpec {
        kind,
        version,
        condition,
        scopes,
    }
}

const SUBSCRIPTIONS_READ: &[&str] = &["channel:read:subscriptions"];
const MODERATION_READ: &[&str] = &["moderation:read"];
// Twitch accepts the manage scope wherever the read scope is asked for.
const VIPS_READ: &[&str] = &["channel:read:vips", "channel:manage:vips"];
const CHANNEL_MODERATE: &[&str] = &["channel:moderate"];
const REDEMPTIONS_READ: &[&str] = &["channel:read:redemptions", "channel:manage:redemptions"];

/// Every subscription Stagehand wants, with the version and scopes Twitch's
/// EventSub reference gives. `stream.*` and `channel.raid` need no scope;
/// they cost 1 each against the limit of 10 unless the token's user is the
/// broadcaster.
pub const WANTED: &[SubscriptionSpec] = {
    use ConditionShape::*;
    &[
        spec(
            "channel.follow",
            "2",
            BroadcasterAndModerator,
            &["moderator:read:followers"],
        ),
        spec("channel.subscribe", "1", Broadcaster, SUBSCRIPTIONS_READ),
        spec(
            "channel.subscription.end",
            "1",
            Broadcaster,
            SUBSCRIPTIONS_READ,
        ),
        spec(
            "channel.subscription.gift",
            "1",
            Broadcaster,
            SUBSCRIPTIONS_READ,
        ),
        spec(
            "channel.subscription.message",
            "1",
            Broadcaster,
            SUBSCRIPTIONS_READ,
        ),
        spec("channel.cheer", "1", Broadcaster, &["bits:read"]),
        spec("channel.raid", "1", ToBroadcaster, &[]),
        spec("channel.moderator.add", "1", Broadcaster, MODERATION_READ),
        spec(
            "channel.moderator.remove",
            "1",
            Broadcaster,
            MODERATION_READ,
        ),
        spec("channel.vip.add", "1", Broadcaster, VIPS_READ),
        spec("channel.vip.remove", "1", Broadcaster, VIPS_READ),
        spec("channel.ban", "1", Broadcaster, CHANNEL_MODERATE),
        spec("channel.unban", "1", Broadcaster, CHANNEL_MODERATE),
        spec(
            "channel.chat.message",
            "1",
            BroadcasterAndUser,
            &["user:read:chat"],
        ),
        spec("stream.online", "1", Broadcaster, &[]),
        spec("stream.offline", "1", Broadcaster, &[]),
        spec(
            "channel.channel_points_custom_reward_redemption.add",
            "1",
            Broadcaster,
            REDEMPTIONS_READ,
        ),
    ]
};

/// The scopes to request at login so that no subscription is skipped, in
/// table order, each once.
pub fn login_scopes() -> Vec<&'static str> {
    let mut scopes: Vec<&'static str> = Vec::new();
    for scope in WANTED.iter().filter_map(SubscriptionSpec::required_scope) {
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    scopes
}

/// A subscription to create on the current session.
#[derive(Debug, Clone, PartialEq)]
pub struct WantedSubscription {
    /// The subscription type, e.g. `channel.follow`.
    pub kind: &'static str,
    /// The subscription type's version.
    pub version: &'static str,
    /// The condition object, ids filled in.
    pub condition: Map<String, Value>,
}

impl WantedSubscription {
    /// Whether an existing subscription (from Twitch's list, or a 409's
    /// duplicate) is this one: same type, version and condition. Used to
    /// find our own stale subscriptions and to avoid creating duplicates.
    pub fn matches(&self, existing: &Subscription) -> bool {
        existing.kind == self.kind
            && existing.version == self.version
            && existing.condition == self.condition
    }
}

/// A subscription left out because the token lacks its scope; its
/// `Display` is the log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The subscription type.
    pub kind: &'static str,
    /// The scope that would authorize it (the one to ask for at login).
    pub missing_scope: &'static str,
    /// Other scopes Twitch also accepts for it.
    pub also_accepted: &'static [&'static str],
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "skipping {}: the token lacks {}",
            self.kind, self.missing_scope
        )?;
        for other in self.also_accepted {
            write!(f, " (or {other})")?;
        }
        Ok(())
    }
}

/// Splits [`WANTED`] into the subscriptions to create for `broadcaster_id`
/// with a token of `user_id` holding `scopes`, and those to skip (with the
/// missing scope). Skipping, not failing, because one missing scope should
/// cost one kind of event, not the whole connection.
pub fn plan(
    broadcaster_id: &str,
    user_id: &str,
    scopes: &[String],
) -> (Vec<WantedSubscription>, Vec<Skipped>) {
    let mut wanted = Vec::new();
    let mut skipped = Vec::new();
    for spec in WANTED {
        match spec.scopes.split_first() {
            Some((missing_scope, also_accepted)) if !spec.is_authorized(scopes) => {
                skipped.push(Skipped {
                    kind: spec.kind,
                    missing_scope,
                    also_accepted,
                });
            }
            _ => wanted.push(WantedSubscription {
                kind: spec.kind,
                version: spec.version,
                condition: spec.condition.build(broadcaster_id, user_id),
            }),
        }
    }
    (wanted, skipped)
}

/// The JSON body of `POST /eventsub/subscriptions` creating `wanted` on the
/// WebSocket session `session_id`.
pub fn create_body(wanted: &WantedSubscription, session_id: &str) -> Value {
    json!({
        "type": wanted.kind,
        "version": wanted.version,
        "condition": wanted.condition,
        "transport": {"method": "websocket", "session_id": session_id},
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventKind;
    use chrono::{TimeZone, Utc};

    const BROADCASTER: &str = "12826";
    const MODERATOR: &str = "98765";

    fn scopes(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn all_scopes() -> Vec<String> {
        scopes(&login_scopes())
    }

    fn find<'a>(wanted: &'a [WantedSubscription], kind: &str) -> &'a WantedSubscription {
        wanted.iter().find(|w| w.kind == kind).unwrap()
    }

    #[test]
    fn the_table_has_every_wanted_type_once() {
        let kinds: Vec<&str> = WANTED.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [
                "channel.follow",
                "channel.subscribe",
                "channel.subscription.end",
                "channel.subscription.gift",
                "channel.subscription.message",
                "channel.cheer",
                "channel.raid",
                "channel.moderator.add",
                "channel.moderator.remove",
                "channel.vip.add",
                "channel.vip.remove",
                "channel.ban",
                "channel.unban",
                "channel.chat.message",
                "stream.online",
                "stream.offline",
                "channel.channel_points_custom_reward_redemption.add",
            ]
        );
    }

    #[test]
    fn every_wanted_type_is_a_known_event_kind() {
        for spec in WANTED {
            assert!(EventKind::from(spec.kind).is_known(), "{}", spec.kind);
        }
    }

    #[test]
    fn versions_and_scopes_match_twitchs_reference() {
        let expect = |kind: &str, version: &str, scope: Option<&str>| {
            let spec = WANTED.iter().find(|s| s.kind == kind).unwrap();
            assert_eq!(spec.version, version, "{kind}");
            assert_eq!(spec.required_scope(), scope, "{kind}");
        };
        expect("channel.follow", "2", Some("moderator:read:followers"));
        for kind in [
            "channel.subscribe",
            "channel.subscription.end",
            "channel.subscription.gift",
            "channel.subscription.message",
        ] {
            expect(kind, "1", Some("channel:read:subscriptions"));
        }
        expect("channel.cheer", "1", Some("bits:read"));
        expect("channel.raid", "1", None);
        expect("channel.moderator.add", "1", Some("moderation:read"));
        expect("channel.moderator.remove", "1", Some("moderation:read"));
        expect("channel.vip.add", "1", Some("channel:read:vips"));
        expect("channel.vip.remove", "1", Some("channel:read:vips"));
        expect("channel.ban", "1", Some("channel:moderate"));
        expect("channel.unban", "1", Some("channel:moderate"));
        expect("channel.chat.message", "1", Some("user:read:chat"));
        expect("stream.online", "1", None);
        expect("stream.offline", "1", None);
        expect(
            "channel.channel_points_custom_reward_redemption.add",
            "1",
            Some("channel:read:redemptions"),
        );
    }

    #[test]
    fn with_every_scope_nothing_is_skipped() {
        let (wanted, skipped) = plan(BROADCASTER, BROADCASTER, &all_scopes());
        assert_eq!(wanted.len(), WANTED.len());
        assert!(skipped.is_empty(), "{skipped:?}");
    }

    #[test]
    fn without_scopes_only_the_public_ones_remain() {
        let (wanted, skipped) = plan(BROADCASTER, BROADCASTER, &[]);
        let kinds: Vec<&str> = wanted.iter().map(|w| w.kind).collect();
        assert_eq!(kinds, ["channel.raid", "stream.online", "stream.offline"]);
        assert_eq!(skipped.len(), WANTED.len() - 3);
        let cheer = skipped.iter().find(|s| s.kind == "channel.cheer").unwrap();
        assert_eq!(cheer.missing_scope, "bits:read");
        assert_eq!(
            cheer.to_string(),
            "skipping channel.cheer: the token lacks bits:read"
        );
    }

    #[test]
    fn one_missing_scope_skips_only_its_subscriptions() {
        let mut granted = all_scopes();
        granted.retain(|s| s != "channel:read:subscriptions");
        let (wanted, skipped) = plan(BROADCASTER, BROADCASTER, &granted);
        let kinds: Vec<&str> = skipped.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [
                "channel.subscribe",
                "channel.subscription.end",
                "channel.subscription.gift",
                "channel.subscription.message",
            ]
        );
        assert!(
            skipped
                .iter()
                .all(|s| s.missing_scope == "channel:read:subscriptions")
        );
        assert_eq!(wanted.len(), WANTED.len() - 4);
    }

    #[test]
    fn manage_scopes_also_authorize() {
        let granted = scopes(&["channel:manage:vips", "channel:manage:redemptions"]);
        let (wanted, _) = plan(BROADCASTER, BROADCASTER, &granted);
        let kinds: Vec<&str> = wanted.iter().map(|w| w.kind).collect();
        assert!(kinds.contains(&"channel.vip.add"));
        assert!(kinds.contains(&"channel.vip.remove"));
        assert!(kinds.contains(&"channel.channel_points_custom_reward_redemption.add"));
    }

    #[test]
    fn skipped_lines_name_the_alternatives() {
        let (_, skipped) = plan(BROADCASTER, BROADCASTER, &[]);
        let vip = skipped
            .iter()
            .find(|s| s.kind == "channel.vip.add")
            .unwrap();
        assert_eq!(
            vip.to_string(),
            "skipping channel.vip.add: the token lacks channel:read:vips (or channel:manage:vips)"
        );
    }

    #[test]
    fn scopes_compare_exactly() {
        // A similar-looking scope is not the one Twitch checks.
        let granted = scopes(&["bits:read:extra", "BITS:READ"]);
        let (_, skipped) = plan(BROADCASTER, BROADCASTER, &granted);
        assert!(skipped.iter().any(|s| s.kind == "channel.cheer"));
    }

    #[test]
    fn conditions_name_the_right_ids() {
        let (wanted, _) = plan(BROADCASTER, MODERATOR, &all_scopes());
        let condition = |kind| Value::Object(find(&wanted, kind).condition.clone());
        assert_eq!(
            condition("channel.follow"),
            json!({"broadcaster_user_id": BROADCASTER, "moderator_user_id": MODERATOR})
        );
        assert_eq!(
            condition("channel.chat.message"),
            json!({"broadcaster_user_id": BROADCASTER, "user_id": MODERATOR})
        );
        assert_eq!(
            condition("channel.raid"),
            json!({"to_broadcaster_user_id": BROADCASTER})
        );
        for kind in [
            "channel.subscribe",
            "channel.cheer",
            "channel.ban",
            "channel.vip.add",
            "channel.moderator.remove",
            "stream.online",
            "channel.channel_points_custom_reward_redemption.add",
        ] {
            assert_eq!(
                condition(kind),
                json!({"broadcaster_user_id": BROADCASTER}),
                "{kind}"
            );
        }
    }

    #[test]
    fn the_create_body_is_exactly_what_twitch_expects() {
        let (wanted, _) = plan(BROADCASTER, BROADCASTER, &all_scopes());
        let body = create_body(
            find(&wanted, "channel.follow"),
            "AQoQexAWVYKSTIu4ec_2VAxyuhAB",
        );
        assert_eq!(
            body,
            json!({
                "type": "channel.follow",
                "version": "2",
                "condition": {
                    "broadcaster_user_id": BROADCASTER,
                    "moderator_user_id": BROADCASTER
                },
                "transport": {
                    "method": "websocket",
                    "session_id": "AQoQexAWVYKSTIu4ec_2VAxyuhAB"
                }
            })
        );
        let raid = create_body(find(&wanted, "channel.raid"), "s");
        assert_eq!(
            raid["condition"],
            json!({"to_broadcaster_user_id": BROADCASTER})
        );
        assert_eq!(raid["transport"]["method"], json!("websocket"));
    }

    #[test]
    fn an_existing_subscription_matches_on_type_version_and_condition() {
        let (wanted, _) = plan(BROADCASTER, BROADCASTER, &all_scopes());
        let follow = find(&wanted, "channel.follow");
        let created = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let existing = Subscription::websocket(
            "sub-1",
            "channel.follow",
            "2",
            follow.condition.clone(),
            "old-session",
            created,
        );
        assert!(follow.matches(&existing));

        let mut other_version = existing.clone();
        other_version.version = "1".to_owned();
        assert!(!follow.matches(&other_version));

        let mut other_channel = existing.clone();
        other_channel
            .condition
            .insert("broadcaster_user_id".to_owned(), json!("1"));
        assert!(!follow.matches(&other_channel));

        assert!(!find(&wanted, "channel.cheer").matches(&existing));
    }

    #[test]
    fn login_scopes_are_distinct_and_cover_the_table() {
        let scopes = login_scopes();
        let mut sorted = scopes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), scopes.len());
        assert_eq!(
            scopes,
            [
                "moderator:read:followers",
                "channel:read:subscriptions",
                "bits:read",
                "moderation:read",
                "channel:read:vips",
                "channel:moderate",
                "user:read:chat",
                "channel:read:redemptions",
            ]
        );
    }
}
