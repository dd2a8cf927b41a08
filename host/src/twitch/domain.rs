//! Applies a [`DomainChange`] (from an EventSub notification or a poller's
//! diff) to the domain tables (follower_history, viewer_roles,
//! viewer_subscriptions, viewer_bans). Plain functions on a connection: the
//! pipeline runs them in the transaction that stores the event, so an event
//! and its domain update commit together.

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::normalize::DomainChange;
use crate::event::{Event, EventKind, Source};
use crate::pipeline::StoreHook;
use crate::store::announcements::{self, Announcement};
use crate::store::bans::{self, BanUpsert};
use crate::store::followers::{self, FollowAction};
use crate::store::subscriptions::{self, SubscriptionTerms, Upserted};
use crate::store::{StoreError, roles, viewers};

/// Writes `change` for the channel `channel_id`, detected at `at`. Returns
/// whether it changed anything: false when the tables already showed it
/// (another source delivered it first, or a redelivery).
pub fn apply(
    conn: &Connection,
    channel_id: &str,
    change: &DomainChange,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let changed = match change {
        // A gift names the gifter; each recipient arrives as its own
        // `channel.subscribe`, which records the subscription.
        DomainChange::None | DomainChange::Gifted { .. } => true,
        DomainChange::Follow {
            viewer,
            followed_at,
        } => {
            let id = viewers::get_or_create(conn, viewer, at)?;
            follow(conn, channel_id, id, *followed_at, at)?
        }
        DomainChange::RoleGranted { viewer, role } => {
            let id = viewers::get_or_create(conn, viewer, at)?;
            roles::grant(conn, channel_id, id, *role, at)?
        }
        DomainChange::RoleRevoked { viewer, role } => {
            let id = viewers::get_or_create(conn, viewer, at)?;
            roles::revoke(conn, channel_id, id, *role, at)?
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
            subscriptions::upsert(conn, channel_id, id, &terms, at)? != Upserted::Unchanged
        }
        DomainChange::SubscriptionEnded { viewer } => {
            let id = viewers::get_or_create(conn, viewer, at)?;
            subscriptions::end(conn, channel_id, id, at)?
        }
        DomainChange::Banned {
            viewer,
            banned_at,
            expires_at,
            reason,
            moderator_login,
        } => {
            let id = viewers::get_or_create(conn, viewer, at)?;
            bans::upsert(
                conn,
                channel_id,
                id,
                banned_at.unwrap_or(at),
                *expires_at,
                reason.as_deref(),
                moderator_login.as_deref(),
            )? != BanUpsert::Unchanged
        }
        DomainChange::Unbanned { viewer } => {
            let id = viewers::get_or_create(conn, viewer, at)?;
            bans::remove(conn, channel_id, id)?
        }
        DomainChange::TimeoutEnded { viewer, expires_at } => {
            let id = viewers::get_or_create(conn, viewer, at)?;
            bans::remove_timeout(conn, channel_id, id, *expires_at)?
        }
        DomainChange::Unfollowed { viewer } => {
            let id = viewers::get_or_create(conn, viewer, at)?;
            followers::record(conn, channel_id, id, FollowAction::Unfollow, None, at)?
        }
    };
    Ok(changed)
}

/// A follow is new unless the same follow (same `followed_at`, to the
/// second) is current; a current follow with another time is a re-follow
/// the history missed.
fn follow(
    conn: &Connection,
    channel_id: &str,
    viewer_id: i64,
    followed_at: Option<DateTime<Utc>>,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let followed_at = followed_at.or(Some(at));
    match followers::latest(conn, channel_id, viewer_id)? {
        Some((true, known)) => {
            let same = match (known, followed_at) {
                (Some(a), Some(b)) => (a - b).num_seconds().abs() < 1,
                _ => true,
            };
            if same {
                return Ok(false);
            }
            followers::record_refollow(conn, channel_id, viewer_id, followed_at, at)?;
            Ok(true)
        }
        _ => followers::record(
            conn,
            channel_id,
            viewer_id,
            FollowAction::Follow,
            followed_at,
            at,
        ),
    }
}

/// The fact a change is about, as `domain_announcements` names it, and
/// whether the change makes it hold. None for changes that announce no fact
/// (a gift's own event, nothing at all).
pub fn subject(change: &DomainChange) -> Option<(String, bool)> {
    Some(match change {
        DomainChange::None | DomainChange::Gifted { .. } => return None,
        DomainChange::Follow { viewer, .. } => (format!("follow:{}", viewer.id), true),
        DomainChange::Unfollowed { viewer } => (format!("follow:{}", viewer.id), false),
        DomainChange::RoleGranted { viewer, role } => {
            (format!("role:{}:{}", role.as_str(), viewer.id), true)
        }
        DomainChange::RoleRevoked { viewer, role } => {
            (format!("role:{}:{}", role.as_str(), viewer.id), false)
        }
        DomainChange::Subscribed { viewer, .. } => (format!("sub:{}", viewer.id), true),
        DomainChange::SubscriptionEnded { viewer } => (format!("sub:{}", viewer.id), false),
        DomainChange::Banned { viewer, .. } => (format!("ban:{}", viewer.id), true),
        DomainChange::Unbanned { viewer } | DomainChange::TimeoutEnded { viewer, .. } => {
            (format!("ban:{}", viewer.id), false)
        }
    })
}

/// Applies `change` for the event `event_id` (from `source`) and decides
/// whether the event is news. It is a duplicate only when the tables
/// already showed the change *and* that state was announced by a stored
/// event (from either source): a removal of something never seen (a ban
/// made before Stagehand first polled, a baseline taken silently) is still
/// news, and is recorded as announced by this event.
pub fn announce(
    conn: &Connection,
    channel_id: &str,
    change: &DomainChange,
    event_id: &str,
    source: Source,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let changed = apply(conn, channel_id, change, at)?;
    let Some((subject, present)) = subject(change) else {
        return Ok(changed);
    };
    let announced = announcements::last(conn, channel_id, &subject)?;
    let already = !changed && announced.is_some_and(|a| a.present == present);
    if already {
        return Ok(false);
    }
    let announcement = Announcement {
        present,
        event_id: event_id.to_owned(),
        source: source.as_str().to_owned(),
    };
    announcements::record(conn, channel_id, &subject, &announcement, at)?;
    Ok(true)
}

/// The change as a [`StoreHook`] for the pipeline, for `event`: the event
/// is kept only if the change is news (see [`announce`]), so a change both
/// EventSub and a poller saw is stored once, whichever came first. A resub
/// message is an event in its own right: it updates the tables and is
/// always kept. `None` when there is nothing to write.
pub fn hook(event: &Event, change: DomainChange) -> Option<StoreHook> {
    if matches!(change, DomainChange::None | DomainChange::Gifted { .. }) {
        return None;
    }
    let always_keep = event.kind == EventKind::SubscriptionMessage;
    let (channel_id, event_id, source, at) = (
        event.channel_id.clone(),
        event.id.clone(),
        event.source,
        event.occurred_at,
    );
    Some(std::sync::Arc::new(move |conn: &Connection| {
        let news = announce(conn, &channel_id, &change, &event_id, source, at)?;
        Ok(news || always_keep)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, Viewer};
    use crate::store::roles::Role;
    use crate::store::testing::memory_db;

    fn alice() -> Viewer {
        Viewer::new("42", "alice", "Alice")
    }

    /// An event of `kind` from `source` in channel 1.
    fn event(kind: EventKind, source: Source) -> Event {
        Event::new(kind, source, "1")
    }

    fn announce_as(conn: &Connection, change: &DomainChange, source: Source) -> bool {
        let id = crate::event::new_event_id();
        announce(conn, "1", change, &id, source, Utc::now()).unwrap()
    }

    #[test]
    fn a_removal_of_something_never_seen_is_news_and_announced_once() {
        let conn = memory_db();
        for removal in [
            DomainChange::Unbanned { viewer: alice() },
            DomainChange::RoleRevoked {
                viewer: alice(),
                role: Role::Vip,
            },
            DomainChange::RoleRevoked {
                viewer: alice(),
                role: Role::Moderator,
            },
            DomainChange::SubscriptionEnded { viewer: alice() },
        ] {
            assert!(
                announce_as(&conn, &removal, Source::Eventsub),
                "{removal:?}: never seen, still news"
            );
            let (subject, present) = subject(&removal).unwrap();
            let announced = announcements::last(&conn, "1", &subject).unwrap().unwrap();
            assert!(!announced.present && !present);
            assert_eq!(announced.source, "eventsub");
            // The same removal from the poller: already announced.
            assert!(!announce_as(&conn, &removal, Source::Poll), "{removal:?}");
        }
    }

    #[test]
    fn a_change_seen_first_by_polling_is_dropped_when_eventsub_brings_it() {
        let conn = memory_db();
        let ban = DomainChange::Banned {
            viewer: alice(),
            banned_at: None,
            expires_at: None,
            reason: None,
            moderator_login: None,
        };
        assert!(announce_as(&conn, &ban, Source::Eventsub));
        let unban = DomainChange::Unbanned { viewer: alice() };
        assert!(
            announce_as(&conn, &unban, Source::Poll),
            "the poller saw it first"
        );
        assert!(!announce_as(&conn, &unban, Source::Eventsub), "stored once");
    }

    #[test]
    fn a_state_applied_silently_is_not_an_announcement() {
        let conn = memory_db();
        // A baseline (or the role sync) records the VIP without an event.
        let grant = DomainChange::RoleGranted {
            viewer: alice(),
            role: Role::Vip,
        };
        assert!(apply(&conn, "1", &grant, Utc::now()).unwrap());
        assert!(
            announce_as(&conn, &grant, Source::Eventsub),
            "EventSub's event for it was never stored: news"
        );
        assert!(!announce_as(&conn, &grant, Source::Poll));
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
        assert!(apply(&conn, "1", &change, Utc::now()).unwrap());
        assert!(
            !apply(&conn, "1", &change, Utc::now()).unwrap(),
            "already known"
        );
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
        assert!(
            hook(
                &event(EventKind::Cheer, Source::Eventsub),
                DomainChange::None
            )
            .is_none()
        );
        let gift = DomainChange::Gifted {
            gifter: None,
            tier: "1000".into(),
            total: 5,
        };
        let gifted = event(EventKind::SubscriptionGift, Source::Eventsub);
        assert!(hook(&gifted, gift).is_none());
    }

    #[test]
    fn a_refollow_with_another_time_is_new_and_the_same_follow_is_not() {
        let conn = memory_db();
        let t0 = Utc::now() - chrono::TimeDelta::days(3);
        let first = DomainChange::Follow {
            viewer: alice(),
            followed_at: Some(t0),
        };
        assert!(apply(&conn, "1", &first, Utc::now()).unwrap());
        let again = DomainChange::Follow {
            viewer: alice(),
            followed_at: Some(t0 + chrono::TimeDelta::milliseconds(300)),
        };
        assert!(
            !apply(&conn, "1", &again, Utc::now()).unwrap(),
            "same follow, sub-second noise"
        );
        let refollow = DomainChange::Follow {
            viewer: alice(),
            followed_at: Some(Utc::now()),
        };
        assert!(apply(&conn, "1", &refollow, Utc::now()).unwrap());
        assert!(followers::is_following(&conn, "1", viewer_id(&conn)).unwrap());
    }

    #[test]
    fn the_hook_keeps_an_event_only_when_its_change_is_new_except_resub_messages() {
        let conn = memory_db();
        let grant = || DomainChange::RoleGranted {
            viewer: alice(),
            role: Role::Moderator,
        };
        let h = hook(&event(EventKind::ModeratorAdd, Source::Eventsub), grant()).unwrap();
        assert!(h(&conn).unwrap());
        let h = hook(&event(EventKind::ModeratorAdd, Source::Poll), grant()).unwrap();
        assert!(!h(&conn).unwrap(), "a second source's copy is dropped");
        let resub = || DomainChange::Subscribed {
            viewer: alice(),
            tier: "1000".into(),
            is_gift: None,
            cumulative_months: Some(3),
        };
        let resub_event = || event(EventKind::SubscriptionMessage, Source::Eventsub);
        let h = hook(&resub_event(), resub()).unwrap();
        assert!(h(&conn).unwrap());
        let h = hook(&resub_event(), resub()).unwrap();
        assert!(h(&conn).unwrap(), "a resub message is always an event");
    }

    #[test]
    fn an_unfollow_is_recorded_once_and_only_for_a_follower() {
        let conn = memory_db();
        let unfollow = DomainChange::Unfollowed { viewer: alice() };
        assert!(
            !apply(&conn, "1", &unfollow, Utc::now()).unwrap(),
            "not a follower"
        );
        let follow = DomainChange::Follow {
            viewer: alice(),
            followed_at: Some(Utc::now()),
        };
        assert!(apply(&conn, "1", &follow, Utc::now()).unwrap());
        assert!(apply(&conn, "1", &unfollow, Utc::now()).unwrap());
        assert!(!apply(&conn, "1", &unfollow, Utc::now()).unwrap());
        assert!(!followers::is_following(&conn, "1", viewer_id(&conn)).unwrap());
        // Recorded by `apply` alone, the unfollow was never announced: the
        // first event about it is news, a second one is not.
        let h = hook(&event(EventKind::Unfollow, Source::Poll), unfollow.clone()).unwrap();
        assert!(h(&conn).unwrap(), "never announced: news");
        let h = hook(&event(EventKind::Unfollow, Source::Poll), unfollow).unwrap();
        assert!(
            !h(&conn).unwrap(),
            "an unfollow already announced is dropped"
        );
    }

    #[test]
    fn a_timeout_end_removes_only_that_timeout() {
        let conn = memory_db();
        let expires_at = Utc::now() - chrono::TimeDelta::seconds(5);
        let timeout = DomainChange::Banned {
            viewer: alice(),
            banned_at: Some(expires_at - chrono::TimeDelta::minutes(1)),
            expires_at: Some(expires_at),
            reason: None,
            moderator_login: None,
        };
        apply(&conn, "1", &timeout, Utc::now()).unwrap();
        // A permanent ban replaced the timeout before the poller saw it end.
        let ban = DomainChange::Banned {
            viewer: alice(),
            banned_at: None,
            expires_at: None,
            reason: Some("worse".into()),
            moderator_login: None,
        };
        apply(&conn, "1", &ban, Utc::now()).unwrap();
        let ended = DomainChange::TimeoutEnded {
            viewer: alice(),
            expires_at,
        };
        assert!(!apply(&conn, "1", &ended, Utc::now()).unwrap());
        assert_eq!(bans::active(&conn, "1").unwrap().len(), 1, "the ban stays");
        apply(
            &conn,
            "1",
            &DomainChange::Unbanned { viewer: alice() },
            Utc::now(),
        )
        .unwrap();
        apply(&conn, "1", &timeout, Utc::now()).unwrap();
        assert!(apply(&conn, "1", &ended, Utc::now()).unwrap());
        assert!(bans::active(&conn, "1").unwrap().is_empty());
    }

    #[test]
    fn bans_and_unbans_update_the_ban_table() {
        let conn = memory_db();
        let ban = DomainChange::Banned {
            viewer: alice(),
            banned_at: None,
            expires_at: Some(Utc::now() + chrono::TimeDelta::minutes(5)),
            reason: Some("spam".into()),
            moderator_login: Some("mod".into()),
        };
        assert!(apply(&conn, "1", &ban, Utc::now()).unwrap());
        assert!(!apply(&conn, "1", &ban, Utc::now()).unwrap());
        assert_eq!(bans::active(&conn, "1").unwrap().len(), 1);
        let unban = DomainChange::Unbanned { viewer: alice() };
        assert!(apply(&conn, "1", &unban, Utc::now()).unwrap());
        assert!(!apply(&conn, "1", &unban, Utc::now()).unwrap());
        assert!(bans::active(&conn, "1").unwrap().is_empty());
    }
}
