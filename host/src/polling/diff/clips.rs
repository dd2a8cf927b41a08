//! Clips: the ones made since the last poll.
//! Clips have no EventSub event, so polling is their only source; seen
//! clip ids are remembered per channel.

use std::collections::HashSet;

use chrono::{DateTime, TimeDelta, Utc};

use crate::twitch::helix::Clip;

/// How long after its creation a clip may first appear in Helix's list:
/// the window reaches this far behind the newest clip seen.
pub const LISTING_DELAY: TimeDelta = TimeDelta::hours(1);

/// The longest look back. Helix ends a clips window a week after
/// `started_at`, so a start further back than that would miss today's
/// clips; six days keeps now well inside the window.
pub const MAX_LOOK_BACK: TimeDelta = TimeDelta::days(6);

/// Where the window Helix is asked for starts: shortly before the newest
/// clip seen (clips are listed a little after they are made), never more
/// than [`MAX_LOOK_BACK`] before `now`.
pub fn window_start(newest_seen: Option<DateTime<Utc>>, now: DateTime<Utc>) -> DateTime<Utc> {
    let earliest = now - MAX_LOOK_BACK;
    newest_seen.map_or(earliest, |newest| (newest - LISTING_DELAY).max(earliest))
}

/// The clips in `current` not in `seen`, each once, oldest first (the
/// order they were made in).
pub fn new_clips<'a>(seen: &HashSet<String>, current: &'a [Clip]) -> Vec<&'a Clip> {
    let mut listed = HashSet::new();
    let mut new: Vec<&Clip> = current
        .iter()
        .filter(|clip| !seen.contains(&clip.id) && listed.insert(clip.id.as_str()))
        .collect();
    new.sort_by_key(|clip| clip.created_at);
    new
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap()
    }

    fn clip(id: &str, minutes_ago: i64) -> Clip {
        serde_json::from_value(serde_json::json!({
            "id": id,
            "title": format!("clip {id}"),
            "created_at": (now() - TimeDelta::minutes(minutes_ago)).to_rfc3339(),
        }))
        .unwrap()
    }

    #[test]
    fn the_window_starts_before_the_newest_seen_clip_but_not_too_far_back() {
        assert_eq!(window_start(None, now()), now() - TimeDelta::days(6));
        let newest = now() - TimeDelta::minutes(10);
        assert_eq!(
            window_start(Some(newest), now()),
            newest - TimeDelta::hours(1)
        );
        let long_ago = now() - TimeDelta::days(30);
        assert_eq!(
            window_start(Some(long_ago), now()),
            now() - TimeDelta::days(6)
        );
    }

    #[test]
    fn only_unseen_clips_are_new_each_once_oldest_first() {
        let seen = HashSet::from(["a".to_owned()]);
        let current = [clip("a", 30), clip("c", 1), clip("b", 5), clip("c", 1)];
        let ids: Vec<&str> = new_clips(&seen, &current)
            .iter()
            .map(|c| c.id.as_str())
            .collect();
        assert_eq!(ids, ["b", "c"]);
        assert!(new_clips(&seen, &[]).is_empty());
    }
}
