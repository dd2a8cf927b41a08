//! The EventSub subscription types the look-alike offers, with the
//! condition each needs and the scopes that authorize it, per Twitch's
//! "EventSub Subscription Types" reference.

/// Which ids a subscription's condition names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionShape {
    /// `{broadcaster_user_id}`
    Broadcaster,
    /// `{broadcaster_user_id, moderator_user_id}` (`channel.follow` v2).
    BroadcasterAndModerator,
    /// `{broadcaster_user_id, user_id}` (chat read as a user).
    BroadcasterAndUser,
    /// `{to_broadcaster_user_id}` (raids into the channel).
    ToBroadcaster,
}

/// One subscription type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubscriptionType {
    pub kind: &'static str,
    pub version: &'static str,
    pub condition: ConditionShape,
    /// Any one of these authorizes it; empty: no scope needed.
    pub scopes: &'static [&'static str],
}

const fn t(
    kind: &'static str,
    version: &'static str,
    condition: ConditionShape,
    scopes: &'static [&'static str],
) -> SubscriptionType {
    SubscriptionType {
        kind,
        version,
        condition,
        scopes,
    }
}

const SUBSCRIPTIONS_READ: &[&str] = &["channel:read:subscriptions"];
const MODERATION_READ: &[&str] = &["moderation:read"];
const VIPS_READ: &[&str] = &["channel:read:vips", "channel:manage:vips"];
const CHANNEL_MODERATE: &[&str] = &["channel:moderate"];
const REDEMPTIONS_READ: &[&str] = &["channel:read:redemptions", "channel:manage:redemptions"];

/// Every type the look-alike serves.
pub const TYPES: &[SubscriptionType] = {
    use ConditionShape::*;
    &[
        t(
            "channel.follow",
            "2",
            BroadcasterAndModerator,
            &["moderator:read:followers"],
        ),
        t("channel.subscribe", "1", Broadcaster, SUBSCRIPTIONS_READ),
        t(
            "channel.subscription.end",
            "1",
            Broadcaster,
            SUBSCRIPTIONS_READ,
        ),
        t(
            "channel.subscription.gift",
            "1",
            Broadcaster,
            SUBSCRIPTIONS_READ,
        ),
        t(
            "channel.subscription.message",
            "1",
            Broadcaster,
            SUBSCRIPTIONS_READ,
        ),
        t("channel.cheer", "1", Broadcaster, &["bits:read"]),
        t("channel.raid", "1", ToBroadcaster, &[]),
        t("channel.moderator.add", "1", Broadcaster, MODERATION_READ),
        t(
            "channel.moderator.remove",
            "1",
            Broadcaster,
            MODERATION_READ,
        ),
        t("channel.vip.add", "1", Broadcaster, VIPS_READ),
        t("channel.vip.remove", "1", Broadcaster, VIPS_READ),
        t("channel.ban", "1", Broadcaster, CHANNEL_MODERATE),
        t("channel.unban", "1", Broadcaster, CHANNEL_MODERATE),
        t(
            "channel.chat.message",
            "1",
            BroadcasterAndUser,
            &["user:read:chat"],
        ),
        t("stream.online", "1", Broadcaster, &[]),
        t("stream.offline", "1", Broadcaster, &[]),
        t(
            "channel.channel_points_custom_reward_redemption.add",
            "1",
            Broadcaster,
            REDEMPTIONS_READ,
        ),
    ]
};

impl SubscriptionType {
    /// Whether a token with `granted` scopes may create it.
    pub fn is_authorized(&self, granted: &[String]) -> bool {
        self.scopes.is_empty() || self.scopes.iter().any(|s| granted.iter().any(|g| g == s))
    }

    /// The scope to name when it is missing.
    pub fn required_scope(&self) -> Option<&'static str> {
        self.scopes.first().copied()
    }
}

/// Twitch's answer to a type and version it does not offer (400).
pub const NOT_VALID: &str = "The combination of values in the type and version fields is not valid";

/// The type `kind` if offered.
pub fn find(kind: &str) -> Option<&'static SubscriptionType> {
    TYPES.iter().find(|t| t.kind == kind)
}

/// Every scope that authorizes some type (the first of each), plus chat
/// writing: what a fully authorized streamer token carries.
pub fn all_scopes() -> Vec<&'static str> {
    let mut scopes: Vec<&'static str> = Vec::new();
    for scope in TYPES.iter().filter_map(|t| t.scopes.first().copied()) {
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    scopes
}
