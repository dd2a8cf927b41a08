//! Pure diffs: (what the store knows, what Helix lists now) -> changes. No
//! I/O and no clock (the detection time is passed in), so every rule is a
//! unit test. One module per family.
//!
//! Users are matched by Twitch user id, never by login: a user renamed
//! between polls is the same user (no follow, unfollow or role change),
//! reported in a `renamed` list so the shell updates the viewer row.

pub mod bans;
pub mod clips;
pub mod follower_set;
pub mod followers;
pub mod roles;
pub mod subscriptions;

use chrono::{DateTime, Utc};

use crate::event::Viewer;

/// Whether `current` shows other names than `known` for the same user
/// (logins compared case-insensitively: the store keeps them lower case).
pub fn renamed(known: &Viewer, current: &Viewer) -> bool {
    !known.login.eq_ignore_ascii_case(&current.login) || known.display_name != current.display_name
}

/// Whether two times fall in the same second: Twitch's sources disagree
/// on the sub-second digits of the same moment (Helix sends whole seconds,
/// EventSub nanoseconds).
pub fn same_second(a: DateTime<Utc>, b: DateTime<Utc>) -> bool {
    a.timestamp() == b.timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rename_is_a_new_login_or_display_name_not_a_case_change_of_the_login() {
        let known = Viewer::new("1", "alice", "Alice");
        assert!(!renamed(&known, &Viewer::new("1", "Alice", "Alice")));
        assert!(renamed(&known, &Viewer::new("1", "alice2", "Alice2")));
        assert!(renamed(&known, &Viewer::new("1", "alice", "ALICE")));
    }

    #[test]
    fn times_match_to_the_second() {
        let t = DateTime::parse_from_rfc3339("2025-01-15T14:32:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert!(same_second(t, t + chrono::TimeDelta::milliseconds(999)));
        assert!(!same_second(t, t + chrono::TimeDelta::seconds(1)));
    }
}
