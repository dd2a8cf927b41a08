//! The full follower scan's diff: every follower the store knows against
//! every follower Helix lists, giving the unfollows (which only a full scan
//! can see) and the follows the incremental walk missed.
//!
//! Both sides of a million-follower channel are in memory at once, so they
//! are held compactly: a [`FollowerSet`] keeps ids, logins and display
//! names back to back in 1 MiB text blocks and a 24-byte row per follower,
//! about 60 bytes a follower where a `Vec<Follower>` takes about 130. The diff sorts
//! (numeric id, row) pairs and merges them, which beats hashing a million
//! strings twice; ids that are not plain numbers fall back to sorting the
//! id strings, with the same result.

use chrono::{DateTime, Utc};

use crate::event::Viewer;

/// Longest id, login or display name kept (Twitch's are far shorter);
/// longer text is cut at a character boundary.
const MAX_FIELD: usize = u16::MAX as usize;
/// Text is kept in blocks of this size: a set grows a block at a time,
/// never to twice what it needs as one doubling buffer would.
const BLOCK: usize = 1 << 20;
/// `followed_at` of a row without one.
const NO_TIME: i64 = i64::MIN;

/// Followers held compactly, in the order they were added.
#[derive(Debug, Clone, Default)]
pub struct FollowerSet {
    blocks: Vec<String>,
    rows: Vec<Row>,
}

/// Where a follower's text is (id, login and display name back to back)
/// and when they followed: 24 bytes.
#[derive(Debug, Clone, Copy)]
struct Row {
    followed_at_ms: i64,
    block: u32,
    offset: u32,
    id_len: u16,
    login_len: u16,
    name_len: u16,
}

impl FollowerSet {
    /// An empty set with room for `followers` rows (text grows by blocks).
    pub fn with_capacity(followers: usize) -> Self {
        FollowerSet {
            blocks: Vec::new(),
            rows: Vec::with_capacity(followers),
        }
    }

    /// Adds a follower.
    pub fn push(
        &mut self,
        id: &str,
        login: &str,
        display_name: &str,
        followed_at: Option<DateTime<Utc>>,
    ) {
        let (id, login, display_name) = (cut(id), cut(login), cut(display_name));
        let needed = id.len() + login.len() + display_name.len();
        let fits = self
            .blocks
            .last()
            .is_some_and(|b| b.capacity() - b.len() >= needed);
        if !fits {
            self.blocks.push(String::with_capacity(BLOCK.max(needed)));
        }
        let block_index = self.blocks.len() - 1;
        let block = &mut self.blocks[block_index];
        let offset = block.len();
        block.push_str(id);
        block.push_str(login);
        block.push_str(display_name);
        self.rows.push(Row {
            followed_at_ms: followed_at.map_or(NO_TIME, |t| t.timestamp_millis()),
            block: block_index as u32,
            offset: offset as u32,
            id_len: id.len() as u16,
            login_len: login.len() as u16,
            name_len: display_name.len() as u16,
        });
    }

    /// How many followers were added.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether none were added.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Twitch user id of follower `i`.
    pub fn id(&self, i: usize) -> &str {
        let (text, row) = self.text(i);
        &text[..usize::from(row.id_len)]
    }

    /// Login of follower `i`.
    pub fn login(&self, i: usize) -> &str {
        let (text, row) = self.text(i);
        let from = usize::from(row.id_len);
        &text[from..from + usize::from(row.login_len)]
    }

    /// Display name of follower `i`.
    pub fn display_name(&self, i: usize) -> &str {
        let (text, row) = self.text(i);
        let from = usize::from(row.id_len) + usize::from(row.login_len);
        &text[from..from + usize::from(row.name_len)]
    }

    /// The text of follower `i` onwards in its block, and its row.
    fn text(&self, i: usize) -> (&str, Row) {
        let row = self.rows[i];
        (&self.blocks[row.block as usize][row.offset as usize..], row)
    }

    /// When follower `i` followed, if known.
    pub fn followed_at(&self, i: usize) -> Option<DateTime<Utc>> {
        let ms = self.rows[i].followed_at_ms;
        (ms != NO_TIME)
            .then(|| DateTime::from_timestamp_millis(ms))
            .flatten()
    }

    /// Follower `i` as an event's viewer.
    pub fn viewer(&self, i: usize) -> Viewer {
        Viewer::new(self.id(i), self.login(i), self.display_name(i))
    }

    /// Heap bytes held (for benchmarks and logs).
    pub fn heap_bytes(&self) -> usize {
        let text: usize = self.blocks.iter().map(String::capacity).sum();
        text + self.blocks.capacity() * std::mem::size_of::<String>()
            + self.rows.capacity() * std::mem::size_of::<Row>()
    }

    fn same_names(&self, i: usize, other: &FollowerSet, j: usize) -> bool {
        self.login(i).eq_ignore_ascii_case(other.login(j))
            && self.display_name(i) == other.display_name(j)
    }

    /// Numeric ids with their rows, sorted, first occurrence of each id;
    /// `None` if some id is not a plain decimal number.
    fn numeric_keys(&self) -> Option<Vec<(u64, u32)>> {
        let mut keys = Vec::with_capacity(self.len());
        for i in 0..self.len() {
            keys.push((numeric_id(self.id(i))?, i as u32));
        }
        keys.sort_unstable();
        keys.dedup_by_key(|k| k.0);
        Some(keys)
    }

    /// Id strings with their rows, sorted, first occurrence of each id.
    fn text_keys(&self) -> Vec<(&str, u32)> {
        let mut keys: Vec<(&str, u32)> = (0..self.len()).map(|i| (self.id(i), i as u32)).collect();
        keys.sort_unstable();
        keys.dedup_by_key(|k| k.0);
        keys
    }
}

/// What the full scan found, as row indexes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FullDiff {
    /// Known followers missing from the list: unfollows (rows of `known`).
    pub unfollowed: Vec<usize>,
    /// Listed followers the store does not know, or knows from an earlier
    /// follow (a re-follow): follows the incremental walk missed (rows of
    /// `current`).
    pub followed: Vec<usize>,
    /// Listed followers known under other names (rows of `current`).
    pub renamed: Vec<usize>,
}

/// Compares every known follower with every listed one, by Twitch user id.
/// Index lists come out in ascending row order.
pub fn full(known: &FollowerSet, current: &FollowerSet) -> FullDiff {
    let mut diff = match (known.numeric_keys(), current.numeric_keys()) {
        (Some(k), Some(c)) => merge(known, &k, current, &c),
        _ => merge(known, &known.text_keys(), current, &current.text_keys()),
    };
    diff.unfollowed.sort_unstable();
    diff.followed.sort_unstable();
    diff.renamed.sort_unstable();
    diff
}

/// Walks two sorted key lists side by side.
fn merge<K: Ord>(
    known: &FollowerSet,
    known_keys: &[(K, u32)],
    current: &FollowerSet,
    current_keys: &[(K, u32)],
) -> FullDiff {
    use std::cmp::Ordering;
    let mut diff = FullDiff::default();
    let (mut i, mut j) = (0, 0);
    while i < known_keys.len() && j < current_keys.len() {
        let (k, c) = (&known_keys[i], &current_keys[j]);
        match k.0.cmp(&c.0) {
            Ordering::Less => {
                diff.unfollowed.push(k.1 as usize);
                i += 1;
            }
            Ordering::Greater => {
                diff.followed.push(c.1 as usize);
                j += 1;
            }
            Ordering::Equal => {
                let (ki, ci) = (k.1 as usize, c.1 as usize);
                let refollowed = match (known.followed_at(ki), current.followed_at(ci)) {
                    (Some(a), Some(b)) => a.timestamp() != b.timestamp(),
                    _ => false,
                };
                if refollowed {
                    diff.followed.push(ci);
                } else if !known.same_names(ki, current, ci) {
                    diff.renamed.push(ci);
                }
                i += 1;
                j += 1;
            }
        }
    }
    diff.unfollowed
        .extend(known_keys[i..].iter().map(|k| k.1 as usize));
    diff.followed
        .extend(current_keys[j..].iter().map(|c| c.1 as usize));
    diff
}

/// The id as a number when it is a plain decimal one (no sign, no leading
/// zero), so that equal numbers mean equal strings.
fn numeric_id(id: &str) -> Option<u64> {
    let canonical = !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_digit())
        && (id.len() == 1 || !id.starts_with('0'));
    canonical.then(|| id.parse().ok()).flatten()
}

fn cut(s: &str) -> &str {
    if s.len() <= MAX_FIELD {
        return s;
    }
    let mut end = MAX_FIELD;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap() + chrono::TimeDelta::seconds(secs)
    }

    fn set(entries: &[(&str, &str, i64)]) -> FollowerSet {
        let mut set = FollowerSet::default();
        for &(id, login, secs) in entries {
            set.push(id, login, &login.to_uppercase(), Some(t(secs)));
        }
        set
    }

    #[test]
    fn a_set_gives_back_what_was_pushed() {
        let mut s = FollowerSet::with_capacity(2);
        s.push("42", "alice", "Alice", Some(t(5)));
        s.push("7", "bob", "ボブ", None);
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s.id(0), s.login(0), s.display_name(0)),
            ("42", "alice", "Alice")
        );
        assert_eq!(s.followed_at(0), Some(t(5)));
        assert_eq!(s.viewer(1), Viewer::new("7", "bob", "ボブ"));
        assert_eq!(s.followed_at(1), None);
        assert!(s.heap_bytes() > 0);
        let long = "é".repeat(40_000);
        s.push("8", &long, "x", None);
        assert!(s.login(2).len() <= MAX_FIELD);
        assert_eq!(s.display_name(2), "x");
    }

    #[test]
    fn unfollows_and_missed_follows_are_found() {
        let known = set(&[("1", "a", 1), ("2", "b", 2), ("3", "c", 3)]);
        let current = set(&[("4", "d", 4), ("3", "c", 3), ("1", "a", 1)]);
        let d = full(&known, &current);
        assert_eq!(d.unfollowed, vec![1]);
        assert_eq!(d.followed, vec![0]);
        assert!(d.renamed.is_empty());
    }

    #[test]
    fn the_same_followers_in_another_order_give_nothing() {
        let known = set(&[("1", "a", 1), ("2", "b", 2)]);
        let current = set(&[("2", "b", 2), ("1", "a", 1)]);
        assert_eq!(full(&known, &current), FullDiff::default());
        assert_eq!(
            full(&FollowerSet::default(), &FollowerSet::default()),
            FullDiff::default()
        );
    }

    #[test]
    fn a_rename_is_not_an_unfollow_and_a_refollow_is_a_follow() {
        let known = set(&[("1", "old", 1), ("2", "b", 2)]);
        let current = set(&[("1", "new", 1), ("2", "b", 50)]);
        let d = full(&known, &current);
        assert!(d.unfollowed.is_empty());
        assert_eq!(d.renamed, vec![0]);
        assert_eq!(d.followed, vec![1]);
    }

    #[test]
    fn duplicates_from_shifted_pages_count_once() {
        let known = set(&[("1", "a", 1)]);
        let current = set(&[("2", "b", 2), ("1", "a", 1), ("2", "b", 2)]);
        assert_eq!(full(&known, &current).followed, vec![0]);
    }

    #[test]
    fn ids_that_are_not_plain_numbers_give_the_same_result() {
        let known = set(&[("1", "a", 1), ("x2", "b", 2), ("007", "c", 3)]);
        let current = set(&[("7", "g", 7), ("1", "a", 1), ("007", "c", 3)]);
        let d = full(&known, &current);
        assert_eq!(d.unfollowed, vec![1]);
        assert_eq!(d.followed, vec![0], "7 is not 007");
        assert_eq!(numeric_id("007"), None);
        assert_eq!(numeric_id("0"), Some(0));
        assert_eq!(numeric_id("99999999999999999999"), None);
    }

    #[test]
    fn the_numeric_and_text_paths_agree_on_a_large_random_sample() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut known = FollowerSet::default();
        let mut current = FollowerSet::default();
        for n in 0..5_000u64 {
            let id = (1_000 + n).to_string();
            if rng.random_range(0..10) != 0 {
                known.push(&id, "x", "X", Some(t(1)));
            }
            if rng.random_range(0..10) != 0 {
                current.push(&id, "x", "X", Some(t(1)));
            }
        }
        let numeric = full(&known, &current);
        let mut text = merge(&known, &known.text_keys(), &current, &current.text_keys());
        text.unfollowed.sort_unstable();
        text.followed.sort_unstable();
        assert_eq!(numeric, text);
        assert!(!numeric.unfollowed.is_empty() && !numeric.followed.is_empty());
    }
}
