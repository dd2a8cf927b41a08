//! Bans and timeouts: banned, timed out (with duration and expiry),
//! unbanned, timeout ended.
//!
//! Helix lists the bans and timeouts in force; a timeout drops off the list
//! when it runs out. So a user gone from the list was unbanned if they left
//! before their expiry (a permanent ban always is), and their timeout ended
//! if they left at or after it, which covers a timeout that expires between
//! two polls.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::event::Viewer;

/// A ban or timeout the store knows to be in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownBan {
    /// Who is banned, as the store names them.
    pub viewer: Viewer,
    /// `None` for a permanent ban.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A ban or timeout as Helix lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentBan {
    /// Who is banned, as Helix names them now.
    pub viewer: Viewer,
    /// When it was made, when Helix says.
    pub created_at: Option<DateTime<Utc>>,
    /// `None` for a permanent ban.
    pub expires_at: Option<DateTime<Utc>>,
    /// The moderator's reason ("" when none was given).
    pub reason: String,
    /// Who banned, when Helix names them.
    pub moderator: Option<Viewer>,
}

impl CurrentBan {
    /// A timeout's length in whole seconds (from when it was made to its
    /// expiry); `None` for a permanent ban or when the start is unknown.
    pub fn duration_seconds(&self) -> Option<u64> {
        let millis = (self.expires_at? - self.created_at?).num_milliseconds();
        u64::try_from(millis.saturating_add(500) / 1000).ok()
    }
}

/// One change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BanChange {
    /// A new ban or timeout, or one replacing another (a ban replacing a
    /// timeout, a new timeout with another expiry): `channel.ban`.
    Banned(CurrentBan),
    /// Lifted before it ran out: `channel.unban`.
    Unbanned(Viewer),
    /// A timeout gone at or after its expiry: `channel.timeout.end`.
    TimeoutEnded {
        /// Whose timeout ended.
        viewer: Viewer,
        /// When it was due to end (the store removes only that timeout).
        expires_at: DateTime<Utc>,
    },
}

/// What changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BanDiff {
    /// Bans in list order, then the lifted and ended ones.
    pub changes: Vec<BanChange>,
    /// Unchanged bans whose viewer now has other names.
    pub renamed: Vec<Viewer>,
}

/// Compares the known bans with the listed ones at `now` (the detection
/// time), by Twitch user id. Expiries are compared to the second.
pub fn diff(known: &[KnownBan], current: &[CurrentBan], now: DateTime<Utc>) -> BanDiff {
    let known_by_id: HashMap<&str, &KnownBan> =
        known.iter().map(|b| (b.viewer.id.as_str(), b)).collect();
    let mut listed = HashSet::with_capacity(current.len());
    let mut diff = BanDiff::default();
    for ban in current {
        if !listed.insert(ban.viewer.id.as_str()) {
            continue;
        }
        match known_by_id.get(ban.viewer.id.as_str()) {
            Some(was) if same_expiry(was.expires_at, ban.expires_at) => {
                if super::renamed(&was.viewer, &ban.viewer) {
                    diff.renamed.push(ban.viewer.clone());
                }
            }
            _ => diff.changes.push(BanChange::Banned(ban.clone())),
        }
    }
    let mut gone = HashSet::new();
    for was in known {
        let id = was.viewer.id.as_str();
        if listed.contains(id) || !gone.insert(id) {
            continue;
        }
        diff.changes.push(match was.expires_at {
            Some(expires_at) if now.timestamp() >= expires_at.timestamp() => {
                BanChange::TimeoutEnded {
                    viewer: was.viewer.clone(),
                    expires_at,
                }
            }
            _ => BanChange::Unbanned(was.viewer.clone()),
        });
    }
    diff
}

fn same_expiry(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => super::same_second(a, b),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone};

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap()
    }

    fn viewer(id: &str) -> Viewer {
        Viewer::new(id, format!("user{id}"), format!("User{id}"))
    }

    fn known(id: &str, expires_at: Option<DateTime<Utc>>) -> KnownBan {
        KnownBan {
            viewer: viewer(id),
            expires_at,
        }
    }

    fn listed(id: &str, expires_at: Option<DateTime<Utc>>) -> CurrentBan {
        CurrentBan {
            viewer: viewer(id),
            created_at: Some(now() - TimeDelta::minutes(1)),
            expires_at,
            reason: "spam".into(),
            moderator: Some(Viewer::new("9", "mod", "Mod")),
        }
    }

    #[test]
    fn a_new_ban_and_a_new_timeout_with_its_duration() {
        let timeout = listed("2", Some(now() + TimeDelta::minutes(9)));
        let d = diff(&[], &[listed("1", None), timeout.clone()], now());
        assert_eq!(
            d.changes,
            vec![
                BanChange::Banned(listed("1", None)),
                BanChange::Banned(timeout.clone())
            ]
        );
        assert_eq!(timeout.duration_seconds(), Some(600));
        assert_eq!(listed("1", None).duration_seconds(), None);
    }

    #[test]
    fn the_same_bans_give_nothing_despite_sub_second_noise() {
        let expiry = now() + TimeDelta::minutes(5);
        let known_bans = [
            known("1", None),
            known("2", Some(expiry + TimeDelta::milliseconds(700))),
        ];
        let current = [listed("2", Some(expiry)), listed("1", None)];
        assert_eq!(diff(&known_bans, &current, now()), BanDiff::default());
    }

    #[test]
    fn gone_before_expiry_is_an_unban_and_at_or_after_it_a_timeout_end() {
        let soon = now() + TimeDelta::minutes(5);
        let past = now() - TimeDelta::seconds(2);
        let known_bans = [
            known("1", None),
            known("2", Some(soon)),
            known("3", Some(past)),
            known("4", Some(now())),
        ];
        let d = diff(&known_bans, &[], now());
        assert_eq!(
            d.changes,
            vec![
                BanChange::Unbanned(viewer("1")),
                BanChange::Unbanned(viewer("2")),
                BanChange::TimeoutEnded {
                    viewer: viewer("3"),
                    expires_at: past
                },
                BanChange::TimeoutEnded {
                    viewer: viewer("4"),
                    expires_at: now()
                },
            ]
        );
    }

    #[test]
    fn a_ban_replacing_a_timeout_and_a_new_timeout_are_bans() {
        let known_bans = [
            known("1", Some(now() + TimeDelta::minutes(5))),
            known("2", Some(now() + TimeDelta::minutes(5))),
        ];
        let longer = listed("2", Some(now() + TimeDelta::hours(1)));
        let d = diff(&known_bans, &[listed("1", None), longer.clone()], now());
        assert_eq!(
            d.changes,
            vec![
                BanChange::Banned(listed("1", None)),
                BanChange::Banned(longer)
            ]
        );
    }

    #[test]
    fn a_renamed_banned_user_is_only_renamed() {
        let mut current = listed("1", None);
        current.viewer.login = "new_name".into();
        let d = diff(&[known("1", None)], &[current.clone()], now());
        assert!(d.changes.is_empty());
        assert_eq!(d.renamed, vec![current.viewer]);
    }
}
