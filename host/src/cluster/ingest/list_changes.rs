//! What changed in one of a channel's lists (subscribers, VIPs, moderators,
//! bans), without I/O or clock: the list as recorded and the list Helix
//! shows now give the events to publish and the change to record. The
//! comparison itself is the single-streamer host's pure diffs
//! ([`crate::polling::diff`]) and the events are its pollers', so both modes
//! announce a change alike.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::twitch_app::{BannedUser, Subscriber, UserRef};
use crate::event::{Event, EventKind, Viewer};
use crate::polling::diff::bans::{self, CurrentBan, KnownBan};
use crate::polling::diff::{roles, subscriptions};
use crate::polling::pollers::{ban_event, listed_ban, listed_sub, role_event, sub_event};
use crate::storage::{Member, MemberList, Members};
use crate::store::roles::Role;

/// What one poll of a list found.
#[derive(Debug, Clone, Default)]
pub struct ListChanges {
    /// One per change, with ids made by [`event_id`].
    pub events: Vec<Event>,
    /// Members to record: new ones, and known ones whose names or terms
    /// changed (a rename changes the record without an event).
    pub upsert: Vec<Member>,
    /// Ids of members no longer listed.
    pub removed: Vec<String>,
}

impl ListChanges {
    /// Whether the record needs no change (then nothing is published).
    pub fn is_empty(&self) -> bool {
        self.upsert.is_empty() && self.removed.is_empty()
    }
}

/// The id of a polled change: the same for the same change of the same
/// recorded state, whichever node finds it and however often (a node killed
/// after publishing, before recording, publishes it again and the stream and
/// the store keep one), and another once the state moved on, so a role
/// granted again after a recorded revoke is announced again.
/// e.g. `poll-vip-add:1001:42:3`.
pub fn event_id(kind: &EventKind, channel: &str, user_id: &str, generation: i64) -> String {
    let kind = kind.as_str();
    let slug = kind
        .strip_prefix("channel.")
        .unwrap_or(kind)
        .replace('.', "-");
    format!("poll-{slug}:{channel}:{user_id}:{generation}")
}

/// Subscribers as Helix lists them, as members (tier and gift flag kept);
/// tiers the host does not know are left out, as the single host does.
pub fn subscriber_members(listed: &[Subscriber]) -> Vec<Member> {
    unique(
        listed
            .iter()
            .filter_map(listed_sub)
            .map(|s| member(&s.viewer, json!({"tier": s.tier, "is_gift": s.is_gift}))),
    )
}

/// VIPs or moderators as Helix lists them, as members.
pub fn role_members(listed: &[UserRef]) -> Vec<Member> {
    unique(listed.iter().map(|u| {
        member(
            &Viewer::new(&u.user_id, &u.user_login, &u.user_name),
            json!({}),
        )
    }))
}

/// Bans and timeouts as Helix lists them, as members (start, expiry,
/// reason and moderator kept).
pub fn ban_members(listed: &[BannedUser]) -> Vec<Member> {
    unique(listed.iter().map(|b| {
        let ban = listed_ban(b);
        let moderator = ban
            .moderator
            .as_ref()
            .map(|m| json!({"id": m.id, "login": m.login, "name": m.display_name}));
        member(
            &ban.viewer,
            json!({
                "created_at": ban.created_at,
                "expires_at": ban.expires_at,
                "reason": ban.reason,
                "moderator": moderator,
            }),
        )
    }))
}

/// Compares `list` as recorded (`known`) with `current` at `now` (the
/// detection time, which the events carry).
pub fn changes(
    channel: &str,
    list: MemberList,
    known: &Members,
    current: &[Member],
    now: DateTime<Utc>,
) -> ListChanges {
    let events: Vec<Event> = match list {
        MemberList::Vips | MemberList::Moderators => {
            let role = if list == MemberList::Vips {
                Role::Vip
            } else {
                Role::Moderator
            };
            let diff = roles::diff(&viewers(&known.members), &viewers(current));
            let granted = diff.added.into_iter().map(|v| (v, true));
            let revoked = diff.removed.into_iter().map(|v| (v, false));
            granted
                .chain(revoked)
                .map(|(viewer, granted)| role_event(channel, role, viewer, granted, now).0)
                .collect()
        }
        MemberList::Subscribers => {
            let diff = subscriptions::diff(&subs(&known.members), &subs(current));
            diff.changes
                .into_iter()
                .map(|change| sub_event(channel, change, now).0)
                .collect()
        }
        MemberList::Banned => {
            let known_bans: Vec<KnownBan> = known
                .members
                .iter()
                .map(|m| KnownBan {
                    viewer: viewer(m),
                    expires_at: time(&m.data["expires_at"]),
                })
                .collect();
            let current_bans: Vec<CurrentBan> = current.iter().map(current_ban).collect();
            bans::diff(&known_bans, &current_bans, now)
                .changes
                .into_iter()
                .map(|change| ban_event(channel, change, now).0)
                .collect()
        }
    };
    let events = events
        .into_iter()
        .map(|mut event| {
            let user = event.viewer.as_ref().map_or("", |v| v.id.as_str());
            event.id = event_id(&event.kind, channel, user, known.generation);
            event
        })
        .collect();

    let recorded: HashMap<&str, &Member> = known
        .members
        .iter()
        .map(|m| (m.user_id.as_str(), m))
        .collect();
    let listed: HashSet<&str> = current.iter().map(|m| m.user_id.as_str()).collect();
    ListChanges {
        events,
        upsert: current
            .iter()
            .filter(|m| recorded.get(m.user_id.as_str()) != Some(m))
            .cloned()
            .collect(),
        removed: known
            .members
            .iter()
            .filter(|m| !listed.contains(m.user_id.as_str()))
            .map(|m| m.user_id.clone())
            .collect(),
    }
}

fn member(viewer: &Viewer, data: Value) -> Member {
    Member {
        user_id: viewer.id.clone(),
        login: viewer.login.clone(),
        display_name: viewer.display_name.clone(),
        data,
    }
}

/// The first of each user id (Helix pages can overlap while a list
/// changes under them).
fn unique(members: impl Iterator<Item = Member>) -> Vec<Member> {
    let mut seen = HashSet::new();
    members.filter(|m| seen.insert(m.user_id.clone())).collect()
}

fn viewer(m: &Member) -> Viewer {
    Viewer::new(&m.user_id, &m.login, &m.display_name)
}

fn viewers(members: &[Member]) -> Vec<Viewer> {
    members.iter().map(viewer).collect()
}

fn subs(members: &[Member]) -> Vec<subscriptions::Subscription> {
    members
        .iter()
        .map(|m| subscriptions::Subscription {
            viewer: viewer(m),
            tier: m.data["tier"].as_str().unwrap_or("1000").to_owned(),
            is_gift: m.data["is_gift"].as_bool().unwrap_or(false),
            cumulative_months: None,
        })
        .collect()
}

fn current_ban(m: &Member) -> CurrentBan {
    let moderator = &m.data["moderator"];
    CurrentBan {
        viewer: viewer(m),
        created_at: time(&m.data["created_at"]),
        expires_at: time(&m.data["expires_at"]),
        reason: m.data["reason"].as_str().unwrap_or_default().to_owned(),
        moderator: moderator["id"].as_str().map(|id| {
            Viewer::new(
                id,
                moderator["login"].as_str().unwrap_or_default(),
                moderator["name"].as_str().unwrap_or_default(),
            )
        }),
    }
}

fn time(value: &Value) -> Option<DateTime<Utc>> {
    value.as_str()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    fn now() -> DateTime<Utc> {
        "2025-03-01T12:00:00Z".parse().unwrap()
    }

    fn role(id: &str, login: &str) -> Member {
        member(&Viewer::new(id, login, login.to_uppercase()), json!({}))
    }

    fn known(generation: i64, members: Vec<Member>) -> Members {
        Members {
            generation,
            members,
        }
    }

    fn ids(c: &ListChanges) -> Vec<&str> {
        c.events.iter().map(|e| e.id.as_str()).collect()
    }

    fn kinds(c: &ListChanges) -> Vec<&str> {
        c.events.iter().map(|e| e.kind.as_str()).collect()
    }

    #[test]
    fn ids_name_the_change_the_user_and_the_recorded_generation() {
        assert_eq!(
            event_id(&EventKind::VipAdd, "1001", "42", 3),
            "poll-vip-add:1001:42:3"
        );
        assert_eq!(
            event_id(&EventKind::SubscriptionEnd, "1001", "42", 1),
            "poll-subscription-end:1001:42:1"
        );
        assert_eq!(event_id(&EventKind::Ban, "7", "8", 2), "poll-ban:7:8:2");
    }

    #[test]
    fn the_same_change_found_twice_gets_one_id_and_a_regrant_another() {
        let before = known(4, vec![role("1", "a")]);
        let now_listed = [role("1", "a"), role("2", "b")];
        let first = changes("1001", MemberList::Vips, &before, &now_listed, now());
        let again = changes(
            "1001",
            MemberList::Vips,
            &before,
            &now_listed,
            now() + TimeDelta::seconds(30),
        );
        assert_eq!(ids(&first), ["poll-vip-add:1001:2:4"]);
        assert_eq!(ids(&first), ids(&again));

        // Recorded (generation 5), revoked (recorded, 6), granted again.
        let revoked = changes(
            "1001",
            MemberList::Vips,
            &known(5, now_listed.to_vec()),
            &[role("1", "a")],
            now(),
        );
        assert_eq!(ids(&revoked), ["poll-vip-remove:1001:2:5"]);
        assert_eq!(revoked.removed, ["2"]);
        let regranted = changes(
            "1001",
            MemberList::Vips,
            &known(6, vec![role("1", "a")]),
            &now_listed,
            now(),
        );
        assert_eq!(ids(&regranted), ["poll-vip-add:1001:2:6"]);
    }

    #[test]
    fn role_changes_are_vip_and_moderator_events_from_the_poll() {
        let before = known(1, vec![role("1", "a"), role("2", "b")]);
        let current = [role("2", "b"), role("3", "c")];
        let vips = changes("9", MemberList::Vips, &before, &current, now());
        assert_eq!(kinds(&vips), ["channel.vip.add", "channel.vip.remove"]);
        let mods = changes("9", MemberList::Moderators, &before, &current, now());
        assert_eq!(
            kinds(&mods),
            ["channel.moderator.add", "channel.moderator.remove"]
        );
        let added = &mods.events[0];
        assert_eq!(added.source, crate::event::Source::Poll);
        assert_eq!(added.channel_id, "9");
        assert_eq!(added.occurred_at, now());
        assert_eq!(added.viewer.as_ref().unwrap().id, "3");
        assert_eq!(added.details()["username"], "C");
        assert_eq!(mods.upsert, vec![role("3", "c")]);
        assert_eq!(mods.removed, ["1"]);
    }

    #[test]
    fn nothing_changed_gives_nothing_and_a_rename_is_recorded_silently() {
        let before = known(2, vec![role("1", "a")]);
        let same = changes(
            "9",
            MemberList::Moderators,
            &before,
            &[role("1", "a")],
            now(),
        );
        assert!(same.is_empty() && same.events.is_empty());
        let renamed = changes("9", MemberList::Vips, &before, &[role("1", "z")], now());
        assert!(renamed.events.is_empty());
        assert_eq!(renamed.upsert, vec![role("1", "z")]);
        assert!(renamed.removed.is_empty());
    }

    #[test]
    fn subscriptions_new_renewed_and_ended() {
        let listed = |tier: &str, gift: bool, id: &str| -> Subscriber {
            serde_json::from_value(json!({
                "user_id": id, "user_login": format!("user{id}"),
                "user_name": format!("User{id}"), "tier": tier, "is_gift": gift,
            }))
            .unwrap()
        };
        let before = known(
            3,
            subscriber_members(&[listed("1000", false, "1"), listed("1000", false, "2")]),
        );
        let current = subscriber_members(&[
            listed("2000", false, "1"),
            listed("1000", true, "3"),
            listed("prime", false, "4"),
        ]);
        assert_eq!(current.len(), 2, "an unknown tier is left out");
        let c = changes("9", MemberList::Subscribers, &before, &current, now());
        assert_eq!(
            kinds(&c),
            [
                "channel.subscription.message",
                "channel.subscribe",
                "channel.subscription.end"
            ]
        );
        assert_eq!(
            ids(&c),
            [
                "poll-subscription-message:9:1:3",
                "poll-subscribe:9:3:3",
                "poll-subscription-end:9:2:3"
            ]
        );
        assert_eq!(
            c.events[1].details(),
            json!({"username": "User3", "tier": "1000", "is_gift": true})
                .as_object()
                .unwrap()
                .clone()
        );
        assert_eq!(c.upsert.len(), 2);
        assert_eq!(c.removed, ["2"]);
    }

    #[test]
    fn bans_timeouts_unbans_and_ended_timeouts() {
        let listed = |id: &str, expires: Option<DateTime<Utc>>| BannedUser {
            user_id: id.into(),
            user_login: format!("user{id}"),
            user_name: format!("User{id}"),
            expires_at: expires,
            created_at: Some(now() - TimeDelta::minutes(1)),
            reason: "spam".into(),
            moderator_id: "5".into(),
            moderator_login: "mod".into(),
            moderator_name: "Mod".into(),
        };
        let soon = now() + TimeDelta::minutes(9);
        let before = known(
            2,
            ban_members(&[
                listed("1", None),
                listed("2", Some(soon)),
                listed("3", Some(now() - TimeDelta::seconds(1))),
            ]),
        );
        let current = ban_members(&[listed("4", Some(soon))]);
        let c = changes("9", MemberList::Banned, &before, &current, now());
        assert_eq!(
            kinds(&c),
            [
                "channel.ban",
                "channel.unban",
                "channel.unban",
                "channel.timeout.end"
            ]
        );
        assert_eq!(
            c.events[0].details()["duration_seconds"],
            json!(600),
            "a timeout keeps its length"
        );
        assert_eq!(c.events[0].details()["moderator_username"], "Mod");
        assert_eq!(c.removed, ["1", "2", "3"]);
        // The recorded ban reads back as listed: no change the next time.
        let after = known(3, current.clone());
        assert!(changes("9", MemberList::Banned, &after, &current, now()).is_empty());
    }
}
