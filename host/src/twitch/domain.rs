//! Applies a notification's [`DomainChange`] to the domain tables
//! (follower_history, viewer_roles, viewer_subscriptions; seed 001). Plain
//! functions on a connection: the pipeline runs them in the transaction that
//! stores the event, so an event and its domain update commit together.

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::normalize::DomainChange;
use crate::pipeline::StoreHook;
use crate::store::followers::{self, FollowAction};
use crate::store::subscriptions::{self, SubscriptionTerms};
use crate::store::{StoreError, roles, viewers};

/// Writes `change` for the channel `channel_id`, detected at `at`.
pub fn apply(
    conn: &Connection,
    channel_id: &str,
    change: &DomainChange,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    match change {
        // A gift names the gifter; each recipient arrives as its own
        // `channel.subscribe`, which records the subscription.
        DomainChange::None | DomainChange::Gifted { .. } => {}
        DomainChange::Follow {
            viewer,
            followed_at,
        } => {
            let id = viewers::get_or_create(conn, viewer, at)?;
            followers::record(
                conn,
                channel_id,
                id,
                FollowAction::Follow,
                followed_at.or(Some(at)),
                at,
            )?;
        }
        DomainChange::RoleGranted { viewer, role } => {
            let id = viewers::get_or_create(conn, viewer, at)?;
            roles::grant(conn, channel_id, id, *role, at)?;
        }
        DomainChange::RoleRevoked { viewer, role } => {
            let id = viewers::get_or_create(conn, viewer, at)?;
            roles::revoke(conn, channel_id, id, *role, at)?;
        }
        DomainChange::Subscribed {
            viewer,
            tier,
            is_gift,
            cumulative_months,
        } => {
            let id = viewers::get_or_create(conn, viewer, at)?;
            let known = subscriptions::active_terms(conn, channel_id, id)?;
            let terms = SubscriptionTerms {
                tier: tier.clone(),
                // A resub message does not say; keep what is known.
                is_gift: is_gift.unwrap_or(known.is_some_and(|k| k.is_gift)),
                cumulative_months: *cumulative_months,
            };
            subscriptions::upsert(conn, channel_id, id, &terms, at)?;
        }
        DomainChange::SubscriptionEnded { viewer } => {
            let id = viewers::get_or_create(conn, viewer, at)?;
            subscriptions::end(conn, channel_id, id, at)?;
        }
    }
    Ok(())
}

/// The change as a [`StoreHook`] for the pipeline; `None` when there is
/// nothing to write.
pub fn hook(channel_id: String, change: DomainChange, at: DateTime<Utc>) -> Option<StoreHook> {
    if matches!(change, DomainChange::None | DomainChange::Gifted { .. }) {
        return None;
    }
    Some(Box::new(move |conn: &Connection| {
        apply(conn, &channel_id, &change, at)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Viewer;
    use crate::store::roles::Role;
    use crate::store::testing::memory_db;

    fn alice() -> Viewer {
        Viewer::new("42", "alice", "Alice")
    }

    fn viewer_id(conn: &Connection) -> i64 {
        viewers::by_twitch_id(conn, "42").unwrap().unwrap().id
    }

    #[test]
    fn a_follow_is_recorded_once() {
        let conn = memory_db();
        let change = DomainChange::Follow {
            viewer: alice(),
            followed_at: None,
        };
        apply(&conn, "1", &change, Utc::now()).unwrap();
        apply(&conn, "1", &change, Utc::now()).unwrap();
        let id = viewer_id(&conn);
        assert!(followers::is_following(&conn, "1", id).unwrap());
        let rows: i64 = conn
            .query_row("SELECT COUNT(*) FROM follower_history", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 1);
    }

    #[test]
    fn roles_are_granted_and_revoked() {
        let conn = memory_db();
        let grant = DomainChange::RoleGranted {
            viewer: alice(),
            role: Role::Vip,
        };
        apply(&conn, "1", &grant, Utc::now()).unwrap();
        let id = viewer_id(&conn);
        assert!(roles::has_role(&conn, "1", id, Role::Vip).unwrap());
        let revoke = DomainChange::RoleRevoked {
            viewer: alice(),
            role: Role::Vip,
        };
        apply(&conn, "1", &revoke, Utc::now()).unwrap();
        assert!(!roles::has_role(&conn, "1", id, Role::Vip).unwrap());
    }

    #[test]
    fn a_resub_keeps_the_gift_flag_and_an_end_closes_it() {
        let conn = memory_db();
        let gifted = DomainChange::Subscribed {
            viewer: alice(),
            tier: "1000".into(),
            is_gift: Some(true),
            cumulative_months: None,
        };
        apply(&conn, "1", &gifted, Utc::now()).unwrap();
        let resub = DomainChange::Subscribed {
            viewer: alice(),
            tier: "2000".into(),
            is_gift: None,
            cumulative_months: Some(7),
        };
        apply(&conn, "1", &resub, Utc::now()).unwrap();
        let id = viewer_id(&conn);
        let terms = subscriptions::active_terms(&conn, "1", id)
            .unwrap()
            .unwrap();
        assert_eq!(
            terms,
            SubscriptionTerms {
                tier: "2000".into(),
                is_gift: true,
                cumulative_months: Some(7)
            }
        );
        let end = DomainChange::SubscriptionEnded { viewer: alice() };
        apply(&conn, "1", &end, Utc::now()).unwrap();
        assert!(!subscriptions::is_subscriber(&conn, "1", id).unwrap());
    }

    #[test]
    fn gifts_and_plain_events_need_no_hook() {
        assert!(hook("1".into(), DomainChange::None, Utc::now()).is_none());
        let gift = DomainChange::Gifted {
            gifter: None,
            tier: "1000".into(),
            total: 5,
        };
        assert!(hook("1".into(), gift, Utc::now()).is_none());
    }
}
