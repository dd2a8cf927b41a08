//! What the Helix endpoints return, with Twitch's field names. Parsing is
//! tolerant: unknown fields are ignored and nullable text reads as empty,
//! because Twitch adds and nulls fields without notice; ids and the times
//! the pollers order by stay required, so a broken answer is an error and
//! not a silently wrong list.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

/// One page of a list endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items on this page.
    pub data: Vec<T>,
    /// `pagination.cursor` for the next page; `None` on the last page.
    pub cursor: Option<String>,
    /// `total`, where the endpoint reports one (followers, subscriptions).
    pub total: Option<u64>,
}

/// `GET /users`: a Twitch account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// User id.
    pub id: String,
    /// Login name (lower case).
    #[serde(default, deserialize_with = "null_default")]
    pub login: String,
    /// Name as displayed.
    #[serde(default, deserialize_with = "null_default")]
    pub display_name: String,
    /// `admin`, `global_mod`, `staff` or empty.
    #[serde(rename = "type", default, deserialize_with = "null_default")]
    pub kind: String,
    /// `affiliate`, `partner` or empty.
    #[serde(default, deserialize_with = "null_default")]
    pub broadcaster_type: String,
    /// Channel description.
    #[serde(default, deserialize_with = "null_default")]
    pub description: String,
    /// Avatar URL (alerts show it).
    #[serde(default, deserialize_with = "null_default")]
    pub profile_image_url: String,
    /// Offline banner URL.
    #[serde(default, deserialize_with = "null_default")]
    pub offline_image_url: String,
    /// When the account was created.
    #[serde(default, deserialize_with = "optional_time")]
    pub created_at: Option<DateTime<Utc>>,
}

/// `GET /channels/followers`: one follower (newest first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Follower {
    /// Follower's user id.
    pub user_id: String,
    /// Follower's login.
    #[serde(default, deserialize_with = "null_default")]
    pub user_login: String,
    /// Follower's display name.
    #[serde(default, deserialize_with = "null_default")]
    pub user_name: String,
    /// When they followed (the list's order).
    pub followed_at: DateTime<Utc>,
}

/// `GET /subscriptions`: one subscriber of the channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscriber {
    /// Subscriber's user id.
    pub user_id: String,
    /// Subscriber's login.
    #[serde(default, deserialize_with = "null_default")]
    pub user_login: String,
    /// Subscriber's display name.
    #[serde(default, deserialize_with = "null_default")]
    pub user_name: String,
    /// `1000`, `2000` or `3000`.
    #[serde(default, deserialize_with = "null_default")]
    pub tier: String,
    /// Whether someone gifted it.
    #[serde(default, deserialize_with = "null_default")]
    pub is_gift: bool,
    /// Gifter's user id (`None` when not a gift; Twitch sends "").
    #[serde(default, deserialize_with = "empty_none")]
    pub gifter_id: Option<String>,
    /// Gifter's login.
    #[serde(default, deserialize_with = "empty_none")]
    pub gifter_login: Option<String>,
    /// Gifter's display name.
    #[serde(default, deserialize_with = "empty_none")]
    pub gifter_name: Option<String>,
    /// The plan's name, e.g. "Channel Subscription (streamer)".
    #[serde(default, deserialize_with = "null_default")]
    pub plan_name: String,
}

/// A user in a role list (`channels/vips`, `moderation/moderators`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRef {
    /// User id.
    pub user_id: String,
    /// Login.
    #[serde(default, deserialize_with = "null_default")]
    pub user_login: String,
    /// Display name.
    #[serde(default, deserialize_with = "null_default")]
    pub user_name: String,
}

/// `GET /moderation/banned`: a ban or timeout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BannedUser {
    /// Banned user's id.
    pub user_id: String,
    /// Banned user's login.
    #[serde(default, deserialize_with = "null_default")]
    pub user_login: String,
    /// Banned user's display name.
    #[serde(default, deserialize_with = "null_default")]
    pub user_name: String,
    /// When a timeout ends; `None` for a permanent ban (Twitch sends "").
    #[serde(default, deserialize_with = "optional_time")]
    pub expires_at: Option<DateTime<Utc>>,
    /// When the ban was made.
    #[serde(default, deserialize_with = "optional_time")]
    pub created_at: Option<DateTime<Utc>>,
    /// The moderator's reason (may be empty).
    #[serde(default, deserialize_with = "null_default")]
    pub reason: String,
    /// Who banned.
    #[serde(default, deserialize_with = "null_default")]
    pub moderator_id: String,
    /// Moderator's login.
    #[serde(default, deserialize_with = "null_default")]
    pub moderator_login: String,
    /// Moderator's display name.
    #[serde(default, deserialize_with = "null_default")]
    pub moderator_name: String,
}

/// `GET /clips`: a clip of the channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Clip {
    /// Clip id.
    pub id: String,
    /// Where to watch it.
    #[serde(default, deserialize_with = "null_default")]
    pub url: String,
    /// Embeddable player URL.
    #[serde(default, deserialize_with = "null_default")]
    pub embed_url: String,
    /// The channel's user id.
    #[serde(default, deserialize_with = "null_default")]
    pub broadcaster_id: String,
    /// The channel's display name.
    #[serde(default, deserialize_with = "null_default")]
    pub broadcaster_name: String,
    /// Who clipped it.
    #[serde(default, deserialize_with = "null_default")]
    pub creator_id: String,
    /// Clipper's display name.
    #[serde(default, deserialize_with = "null_default")]
    pub creator_name: String,
    /// The VOD it came from (may be empty).
    #[serde(default, deserialize_with = "null_default")]
    pub video_id: String,
    /// The category.
    #[serde(default, deserialize_with = "null_default")]
    pub game_id: String,
    /// Language code.
    #[serde(default, deserialize_with = "null_default")]
    pub language: String,
    /// Clip title.
    #[serde(default, deserialize_with = "null_default")]
    pub title: String,
    /// Views so far.
    #[serde(default, deserialize_with = "null_default")]
    pub view_count: u64,
    /// When it was made (pollers window on it).
    pub created_at: DateTime<Utc>,
    /// Thumbnail URL.
    #[serde(default, deserialize_with = "null_default")]
    pub thumbnail_url: String,
    /// Length in seconds.
    #[serde(default, deserialize_with = "null_default")]
    pub duration: f64,
    /// Offset into the VOD in seconds, when known.
    #[serde(default)]
    pub vod_offset: Option<u64>,
    /// Whether the streamer featured it.
    #[serde(default, deserialize_with = "null_default")]
    pub is_featured: bool,
}

/// `POST /chat/messages`: whether Twitch posted the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentChat {
    /// The new message's id (empty when dropped).
    #[serde(default, deserialize_with = "null_default")]
    pub message_id: String,
    /// False when Twitch dropped it (AutoMod, a blocked term, ...).
    pub is_sent: bool,
    /// Why it was dropped.
    #[serde(default)]
    pub drop_reason: Option<DropReason>,
}

/// Why Twitch dropped a chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DropReason {
    /// Machine-readable code, e.g. `msg_duplicate`.
    #[serde(default, deserialize_with = "null_default")]
    pub code: String,
    /// Twitch's explanation.
    #[serde(default, deserialize_with = "null_default")]
    pub message: String,
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.message.is_empty(), self.code.is_empty()) {
            (false, false) => write!(f, "{} ({})", self.message, self.code),
            (false, true) => f.write_str(&self.message),
            _ => f.write_str(&self.code),
        }
    }
}

/// The envelope of every Helix answer: `data`, `pagination`, `total`.
#[derive(Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub(crate) struct Envelope<T> {
    #[serde(default = "Vec::new", deserialize_with = "null_default")]
    pub data: Vec<T>,
    #[serde(default, deserialize_with = "null_default")]
    pub pagination: Pagination,
    #[serde(default)]
    pub total: Option<u64>,
}

/// `pagination`: `{}` or `{"cursor": ".."}` (empty on the last page).
#[derive(Default, Deserialize)]
pub(crate) struct Pagination {
    #[serde(default, deserialize_with = "empty_none")]
    pub cursor: Option<String>,
}

impl<T> Envelope<T> {
    /// The page this answer is.
    pub fn into_page(self) -> Page<T> {
        Page {
            data: self.data,
            cursor: self.pagination.cursor,
            total: self.total,
        }
    }
}

fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn empty_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|s| !s.is_empty()))
}

/// A time that may be absent, null or "" (all `None`); anything else must
/// be RFC 3339, so a timeout is never mistaken for a permanent ban.
fn optional_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    match Option::<String>::deserialize(d)?.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(text) => DateTime::parse_from_rfc3339(&text)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_permanent_ban_has_no_expiry_and_a_timeout_has_one() {
        let bans: Vec<BannedUser> = serde_json::from_value(json!([
            {"user_id": "1", "user_login": "a", "user_name": "A", "expires_at": "",
             "created_at": "2024-01-01T00:00:00Z", "reason": "spam",
             "moderator_id": "9", "moderator_login": "m", "moderator_name": "M", "new": 1},
            {"user_id": "2", "user_login": "b", "user_name": null,
             "expires_at": "2024-01-01T00:10:00Z", "created_at": "2024-01-01T00:00:00Z"}
        ]))
        .unwrap();
        assert_eq!(bans[0].expires_at, None);
        assert_eq!(bans[0].reason, "spam");
        assert!(bans[1].expires_at.is_some());
        assert_eq!(bans[1].user_name, "");
        let bad =
            serde_json::from_value::<BannedUser>(json!({"user_id": "3", "expires_at": "soon"}));
        assert!(bad.is_err());
    }

    #[test]
    fn gifts_without_a_gifter_read_as_none() {
        let subs: Vec<Subscriber> = serde_json::from_value(json!([
            {"broadcaster_id": "1", "user_id": "5", "user_login": "u", "user_name": "U",
             "tier": "1000", "is_gift": false, "gifter_id": "", "gifter_login": "",
             "gifter_name": "", "plan_name": "Channel Subscription"},
            {"user_id": "6", "tier": "2000", "is_gift": true, "gifter_id": "7",
             "gifter_login": "g", "gifter_name": "G"}
        ]))
        .unwrap();
        assert_eq!(subs[0].gifter_id, None);
        assert_eq!(subs[1].gifter_login.as_deref(), Some("g"));
        assert!(subs[1].is_gift);
    }

    #[test]
    fn envelopes_mark_the_last_page() {
        let last: Envelope<UserRef> =
            serde_json::from_value(json!({"data": [], "pagination": {}})).unwrap();
        assert_eq!(last.into_page().cursor, None);
        let more: Envelope<UserRef> = serde_json::from_value(json!({
            "data": [{"user_id": "1", "user_login": "a", "user_name": "A"}],
            "pagination": {"cursor": "abc"}, "total": 7
        }))
        .unwrap();
        let page = more.into_page();
        assert_eq!(
            (page.cursor.as_deref(), page.total, page.data.len()),
            (Some("abc"), Some(7), 1)
        );
        let empty_cursor: Envelope<UserRef> =
            serde_json::from_value(json!({"data": [], "pagination": {"cursor": ""}})).unwrap();
        assert_eq!(empty_cursor.into_page().cursor, None);
    }

    #[test]
    fn drop_reasons_read_well() {
        let sent: SentChat = serde_json::from_value(json!({
            "message_id": "", "is_sent": false,
            "drop_reason": {"code": "msg_duplicate", "message": "duplicate message"}
        }))
        .unwrap();
        assert_eq!(
            sent.drop_reason.unwrap().to_string(),
            "duplicate message (msg_duplicate)"
        );
    }
}
