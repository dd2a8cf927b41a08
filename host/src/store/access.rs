//! Access checks: whether a Twitch user holds a role in a channel right now,
//! as TTS access rules and plugins ask it. Only active rows count (a role
//! with `revoked_at` NULL, a subscription with `end_date` NULL); the
//! history the role sync keeps never grants anything. Bans are not roles:
//! a banned VIP is still a VIP here, and whoever enforces bans checks
//! `viewer_bans` separately.
//!
//! The checks take the Twitch user id (what chat messages and events
//! carry), so callers need not know local viewer ids; an unknown user holds
//! nothing.

use rusqlite::Connection;
use serde::Serialize;

use super::roles::{self, Role};
use super::{Store, StoreError, subscriptions, viewers};

/// Every role a viewer holds in a channel now, in one answer, so a rule
/// that accepts "VIPs or subscribers" needs one database read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ViewerRoles {
    /// Holds the VIP role.
    pub vip: bool,
    /// Holds the moderator role (the broadcaster is not a moderator unless
    /// Twitch lists them as one; check `broadcaster` too where the channel
    /// owner should pass).
    pub moderator: bool,
    /// Has an active subscription.
    pub subscriber: bool,
    /// Is the channel's owner: the user id is the channel id, or the
    /// broadcaster role is recorded for them.
    pub broadcaster: bool,
}

/// The roles `twitch_user_id` holds in `channel_id` (the broadcaster's user
/// id), on a connection: for callers already inside a read or write job.
pub fn viewer_roles(
    conn: &Connection,
    channel_id: &str,
    twitch_user_id: &str,
) -> Result<ViewerRoles, StoreError> {
    let owner = !twitch_user_id.is_empty() && twitch_user_id == channel_id;
    let Some(viewer) = viewers::by_twitch_id(conn, twitch_user_id)? else {
        return Ok(ViewerRoles {
            broadcaster: owner,
            ..ViewerRoles::default()
        });
    };
    Ok(ViewerRoles {
        vip: roles::has_role(conn, channel_id, viewer.id, Role::Vip)?,
        moderator: roles::has_role(conn, channel_id, viewer.id, Role::Moderator)?,
        subscriber: subscriptions::is_subscriber(conn, channel_id, viewer.id)?,
        broadcaster: owner || roles::has_role(conn, channel_id, viewer.id, Role::Broadcaster)?,
    })
}

/// Whether `twitch_user_id` holds `role` in `channel_id` now, on a
/// connection.
pub fn has_role(
    conn: &Connection,
    channel_id: &str,
    twitch_user_id: &str,
    role: Role,
) -> Result<bool, StoreError> {
    match viewers::by_twitch_id(conn, twitch_user_id)? {
        Some(viewer) => roles::has_role(conn, channel_id, viewer.id, role),
        None => Ok(false),
    }
}

/// Whether `twitch_user_id` is subscribed to `channel_id` now, on a
/// connection.
pub fn is_subscribed(
    conn: &Connection,
    channel_id: &str,
    twitch_user_id: &str,
) -> Result<bool, StoreError> {
    match viewers::by_twitch_id(conn, twitch_user_id)? {
        Some(viewer) => subscriptions::is_subscriber(conn, channel_id, viewer.id),
        None => Ok(false),
    }
}

/// Whether `twitch_user_id` is a VIP of `channel_id` now (TTS rules and
/// plugins gate features on it).
pub async fn is_vip(
    store: &Store,
    channel_id: &str,
    twitch_user_id: &str,
) -> Result<bool, StoreError> {
    role_check(store, channel_id, twitch_user_id, Role::Vip).await
}

/// Whether `twitch_user_id` is a moderator of `channel_id` now.
pub async fn is_moderator(
    store: &Store,
    channel_id: &str,
    twitch_user_id: &str,
) -> Result<bool, StoreError> {
    role_check(store, channel_id, twitch_user_id, Role::Moderator).await
}

/// Whether `twitch_user_id` has an active subscription to `channel_id`.
pub async fn is_subscriber(
    store: &Store,
    channel_id: &str,
    twitch_user_id: &str,
) -> Result<bool, StoreError> {
    let (channel_id, user_id) = (channel_id.to_owned(), twitch_user_id.to_owned());
    store
        .read(move |c| is_subscribed(c, &channel_id, &user_id))
        .await
}

/// Every role `twitch_user_id` holds in `channel_id` now, in one read.
pub async fn roles_of(
    store: &Store,
    channel_id: &str,
    twitch_user_id: &str,
) -> Result<ViewerRoles, StoreError> {
    let (channel_id, user_id) = (channel_id.to_owned(), twitch_user_id.to_owned());
    store
        .read(move |c| viewer_roles(c, &channel_id, &user_id))
        .await
}

async fn role_check(
    store: &Store,
    channel_id: &str,
    twitch_user_id: &str,
    role: Role,
) -> Result<bool, StoreError> {
    let (channel_id, user_id) = (channel_id.to_owned(), twitch_user_id.to_owned());
    store
        .read(move |c| has_role(c, &channel_id, &user_id, role))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Viewer;
    use crate::store::from_ms;
    use crate::store::subscriptions::SubscriptionTerms;
    use crate::store::testing::memory_db;

    fn terms() -> SubscriptionTerms {
        SubscriptionTerms {
            tier: "1000".into(),
            is_gift: false,
            cumulative_months: None,
        }
    }

    #[test]
    fn only_active_rows_count() {
        let conn = memory_db();
        let id =
            viewers::get_or_create(&conn, &Viewer::new("7", "seven", "Seven"), from_ms(0)).unwrap();
        assert_eq!(
            viewer_roles(&conn, "c", "7").unwrap(),
            ViewerRoles::default()
        );
        roles::grant(&conn, "c", id, Role::Vip, from_ms(1)).unwrap();
        roles::grant(&conn, "c", id, Role::Moderator, from_ms(1)).unwrap();
        subscriptions::upsert(&conn, "c", id, &terms(), from_ms(1)).unwrap();
        assert_eq!(
            viewer_roles(&conn, "c", "7").unwrap(),
            ViewerRoles {
                vip: true,
                moderator: true,
                subscriber: true,
                broadcaster: false
            }
        );
        assert!(has_role(&conn, "c", "7", Role::Vip).unwrap());
        assert!(is_subscribed(&conn, "c", "7").unwrap());
        assert!(
            !has_role(&conn, "other", "7", Role::Vip).unwrap(),
            "roles are per channel"
        );

        roles::revoke(&conn, "c", id, Role::Vip, from_ms(2)).unwrap();
        subscriptions::end(&conn, "c", id, from_ms(2)).unwrap();
        let after = viewer_roles(&conn, "c", "7").unwrap();
        assert!(!after.vip && !after.subscriber && after.moderator);
        assert!(!has_role(&conn, "c", "7", Role::Vip).unwrap());
        assert!(!is_subscribed(&conn, "c", "7").unwrap());
    }

    #[test]
    fn unknown_users_hold_nothing_but_the_owner_is_the_broadcaster() {
        let conn = memory_db();
        assert_eq!(
            viewer_roles(&conn, "c", "nobody").unwrap(),
            ViewerRoles::default()
        );
        assert!(!has_role(&conn, "c", "nobody", Role::Moderator).unwrap());
        assert!(!is_subscribed(&conn, "c", "nobody").unwrap());
        assert!(viewer_roles(&conn, "42", "42").unwrap().broadcaster);
        assert!(!viewer_roles(&conn, "", "").unwrap().broadcaster);

        let id =
            viewers::get_or_create(&conn, &Viewer::new("9", "owner", "Owner"), from_ms(0)).unwrap();
        roles::grant(&conn, "c", id, Role::Broadcaster, from_ms(1)).unwrap();
        assert!(viewer_roles(&conn, "c", "9").unwrap().broadcaster);
    }
}
