//! The incremental follower walk: new follows without reading the whole
//! list. Helix lists followers newest first, so the walk reads pages from
//! the top and stops where the followers were already there at the last
//! walk; a cycle on a channel with a million followers costs a page.
//!
//! Where to stop: at the *horizon*, the newest `followed_at` the previous
//! walk saw. Everyone who followed before it was on the list then, whether
//! or not the store knows them (the baseline records only the first page).
//! A follower at the horizon's second stops the walk if the store knows
//! them; above it, a follower the store knows with the same follow time
//! was delivered by EventSub meanwhile and is skipped without stopping, so
//! a follow EventSub missed just below one it delivered is still found.
//! Without a horizon (no follower ever recorded) the walk stops at the
//! first follower the store knows.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::event::Viewer;
use crate::store::followers::KnownFollower;
use crate::twitch::helix::Follower;

/// A walk over the follower list, fed one page at a time.
#[derive(Debug, Clone)]
pub struct Walk {
    horizon: Option<DateTime<Utc>>,
    listed: HashSet<String>,
    newest: Option<DateTime<Utc>>,
    new: Vec<Follower>,
    renamed: Vec<Viewer>,
}

/// What a finished walk found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WalkResult {
    /// New follows (and re-follows), oldest first.
    pub new: Vec<Follower>,
    /// Known followers seen under other names.
    pub renamed: Vec<Viewer>,
    /// The horizon for the next walk: the newest follow time seen, or the
    /// old horizon when nothing newer was listed.
    pub horizon: Option<DateTime<Utc>>,
}

impl Walk {
    /// A walk stopping at `horizon` (see the module documentation).
    pub fn new(horizon: Option<DateTime<Utc>>) -> Self {
        Walk {
            horizon,
            listed: HashSet::new(),
            newest: horizon,
            new: Vec::new(),
            renamed: Vec::new(),
        }
    }

    /// Checks one page (newest first) against `known`, the store's current
    /// followers among the page's user ids. Returns whether the next page
    /// is needed: false once the walk reached followers already there, or
    /// when this was the last page (`has_next` false).
    pub fn page(
        &mut self,
        page: Vec<Follower>,
        has_next: bool,
        known: &HashMap<String, KnownFollower>,
    ) -> bool {
        let listed_any = !page.is_empty();
        for follower in page {
            // Pages shifted by new follows repeat followers: count each once.
            if !self.listed.insert(follower.user_id.clone()) {
                continue;
            }
            let at = follower.followed_at;
            self.newest = Some(self.newest.map_or(at, |n| n.max(at)));
            let known = known.get(&follower.user_id);
            if let Some(known) = known
                && super::renamed(&known_viewer(&follower.user_id, known), &viewer(&follower))
            {
                self.renamed.push(viewer(&follower));
            }
            let same_follow =
                known.is_some_and(|k| k.followed_at.is_none_or(|t| super::same_second(t, at)));
            let second = at.timestamp();
            let below = self.horizon.is_some_and(|h| second < h.timestamp());
            let at_or_below = self.horizon.is_none_or(|h| second <= h.timestamp());
            if below || (same_follow && at_or_below) {
                return false;
            }
            if !same_follow {
                self.new.push(follower);
            }
        }
        listed_any && has_next
    }

    /// The follows found, oldest first, and the next horizon.
    pub fn finish(mut self) -> WalkResult {
        self.new.reverse();
        WalkResult {
            new: self.new,
            renamed: self.renamed,
            horizon: self.newest,
        }
    }
}

/// The follower as an event's viewer.
pub fn viewer(follower: &Follower) -> Viewer {
    Viewer::new(&follower.user_id, &follower.user_login, &follower.user_name)
}

fn known_viewer(id: &str, known: &KnownFollower) -> Viewer {
    Viewer::new(id, &known.login, &known.display_name)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone};

    use super::*;

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap() + TimeDelta::seconds(secs)
    }

    fn f(id: u32, secs: i64) -> Follower {
        Follower {
            user_id: id.to_string(),
            user_login: format!("u{id}"),
            user_name: format!("U{id}"),
            followed_at: t(secs),
        }
    }

    fn known(entries: &[(u32, i64)]) -> HashMap<String, KnownFollower> {
        entries
            .iter()
            .map(|&(id, secs)| {
                (
                    id.to_string(),
                    KnownFollower {
                        login: format!("u{id}"),
                        display_name: format!("U{id}"),
                        followed_at: Some(t(secs)),
                    },
                )
            })
            .collect()
    }

    fn ids(result: &WalkResult) -> Vec<String> {
        result.new.iter().map(|f| f.user_id.clone()).collect()
    }

    #[test]
    fn new_follows_above_the_horizon_are_found_and_the_walk_stops_there() {
        let mut walk = Walk::new(Some(t(10)));
        let page = vec![f(5, 30), f(4, 20), f(3, 10), f(2, 5)];
        assert!(!walk.page(page, true, &known(&[(3, 10), (2, 5)])));
        let result = walk.finish();
        assert_eq!(ids(&result), ["4", "5"], "oldest first");
        assert_eq!(result.horizon, Some(t(30)));
    }

    #[test]
    fn a_full_page_of_new_follows_asks_for_the_next_one() {
        let mut walk = Walk::new(Some(t(10)));
        assert!(walk.page(vec![f(7, 40), f(6, 30)], true, &known(&[])));
        assert!(!walk.page(vec![f(5, 20), f(3, 10)], true, &known(&[(3, 10)])));
        assert_eq!(ids(&walk.finish()), ["5", "6", "7"]);
    }

    #[test]
    fn the_last_page_ends_the_walk() {
        let mut walk = Walk::new(None);
        assert!(!walk.page(vec![f(2, 20), f(1, 10)], false, &known(&[])));
        assert_eq!(ids(&walk.finish()), ["1", "2"]);
        let mut empty = Walk::new(Some(t(5)));
        assert!(!empty.page(Vec::new(), true, &known(&[])));
        assert_eq!(empty.finish().horizon, Some(t(5)));
    }

    #[test]
    fn an_unknown_follower_below_the_horizon_is_old_not_new() {
        // The baseline recorded only the first page: deeper followers are
        // unknown to the store but were there before.
        let mut walk = Walk::new(Some(t(10)));
        assert!(!walk.page(vec![f(9, 20), f(1, 3), f(0, 2)], true, &known(&[])));
        assert_eq!(ids(&walk.finish()), ["9"]);
    }

    #[test]
    fn a_follow_eventsub_delivered_is_skipped_without_hiding_one_it_missed() {
        // EventSub delivered 6 (known) but missed 5, which followed earlier.
        let mut walk = Walk::new(Some(t(10)));
        let page = vec![f(6, 30), f(5, 20), f(3, 10)];
        assert!(!walk.page(page, true, &known(&[(6, 30), (3, 10)])));
        assert_eq!(ids(&walk.finish()), ["5"]);
    }

    #[test]
    fn without_a_horizon_the_first_known_follower_stops_the_walk() {
        let mut walk = Walk::new(None);
        assert!(!walk.page(vec![f(2, 20), f(1, 10), f(0, 5)], true, &known(&[(1, 10)])));
        assert_eq!(ids(&walk.finish()), ["2"]);
    }

    #[test]
    fn a_same_second_follow_at_the_horizon_is_new_and_a_refollow_is_new() {
        let mut walk = Walk::new(Some(t(10)));
        // 8 followed in the horizon's second, after the last walk; 4 is known
        // from long ago but followed again (unfollowed in between).
        let page = vec![f(4, 50), f(8, 10), f(3, 10)];
        assert!(!walk.page(page, true, &known(&[(4, 1), (3, 10)])));
        assert_eq!(ids(&walk.finish()), ["8", "4"]);
    }

    #[test]
    fn a_renamed_known_follower_is_renamed_not_new() {
        let mut walk = Walk::new(Some(t(10)));
        let mut renamed = f(3, 10);
        renamed.user_login = "shiny".into();
        renamed.user_name = "Shiny".into();
        assert!(!walk.page(vec![f(4, 20), renamed], true, &known(&[(3, 10)])));
        let result = walk.finish();
        assert_eq!(ids(&result), ["4"]);
        assert_eq!(result.renamed, vec![Viewer::new("3", "shiny", "Shiny")]);
    }

    #[test]
    fn a_follower_repeated_by_a_shifted_page_counts_once() {
        let mut walk = Walk::new(Some(t(1)));
        assert!(walk.page(vec![f(3, 30), f(2, 20)], true, &known(&[])));
        assert!(!walk.page(vec![f(2, 20), f(1, 1)], true, &known(&[(1, 1)])));
        assert_eq!(ids(&walk.finish()), ["2", "3"]);
    }
}
