//! What a [`Commit`] writes, decided the same way by both backends once they
//! have locked the channels' counters and looked up which events and alerts
//! are stored already: new events get the next seqs of their channel in the
//! commit's order, duplicates (stored before or repeated within the commit)
//! get none, and the last of several changes to one plugin key wins.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::{Commit, Committed, Inserted, KvChange, NewAlert, NewEvent, StorageError};

/// A channel's last event seq and alert position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Counters {
    pub last_event: i64,
    pub last_alert: i64,
}

/// Ids already stored, by channel.
pub(super) type Existing = HashMap<String, HashSet<String>>;

/// The plan of one commit.
#[derive(Debug)]
pub(super) struct Plan<'a> {
    /// New events with their seqs, in order.
    pub events: Vec<(i64, &'a NewEvent)>,
    /// New alerts with their positions, in order.
    pub alerts: Vec<(i64, &'a NewAlert)>,
    /// The counters of the channels whose counters moved.
    pub counters: Vec<(&'a str, Counters)>,
    /// The final value of each changed key (`None` deletes it).
    pub kv: Vec<&'a KvChange>,
    pub followers: Vec<(&'a str, &'a str)>,
    pub committed: Committed,
}

/// Every channel a commit writes to, sorted: the order counters are locked
/// in, so two commits cannot wait for each other's locks.
pub(super) fn channels(commit: &Commit) -> Vec<&str> {
    let set: BTreeSet<&str> = commit
        .events
        .iter()
        .map(|e| e.channel_id.as_str())
        .chain(commit.alerts.iter().map(|a| a.channel_id.as_str()))
        .chain(commit.kv.iter().map(|k| k.channel_id.as_str()))
        .chain(commit.known_followers.iter().map(|(c, _)| c.as_str()))
        .collect();
    set.into_iter().collect()
}

/// Decides what `commit` writes. `counters` holds the locked counters of
/// every channel in [`channels`]; a channel without one does not exist.
pub(super) fn plan<'a>(
    commit: &'a Commit,
    counters: &HashMap<String, Counters>,
    stored_events: &Existing,
    stored_alerts: &Existing,
) -> Result<Plan<'a>, StorageError> {
    let mut next: HashMap<&str, Counters> = HashMap::new();
    for channel in channels(commit) {
        let found = counters
            .get(channel)
            .ok_or_else(|| StorageError::NoChannel(channel.to_owned()))?;
        next.insert(channel, *found);
    }
    let mut committed = Committed::default();

    let mut seen: HashSet<(&str, &str)> = HashSet::new();
    let mut events = Vec::new();
    for event in &commit.events {
        let key = (event.channel_id.as_str(), event.id.as_str());
        if is_stored(stored_events, key) || !seen.insert(key) {
            committed.events.push(Inserted::Duplicate);
            continue;
        }
        let c = next
            .get_mut(key.0)
            .ok_or_else(|| StorageError::NoChannel(key.0.to_owned()))?;
        c.last_event += 1;
        events.push((c.last_event, event));
        committed.events.push(Inserted::New(c.last_event));
    }

    let mut seen: HashSet<(&str, &str)> = HashSet::new();
    let mut alerts = Vec::new();
    for alert in &commit.alerts {
        let key = (alert.channel_id.as_str(), alert.id.as_str());
        if is_stored(stored_alerts, key) || !seen.insert(key) {
            continue;
        }
        let c = next
            .get_mut(key.0)
            .ok_or_else(|| StorageError::NoChannel(key.0.to_owned()))?;
        c.last_alert += 1;
        alerts.push((c.last_alert, alert));
        committed.alerts.push((alert.id.clone(), c.last_alert));
    }

    let mut last_change: HashMap<(&str, &str, &str), usize> = HashMap::new();
    for (i, change) in commit.kv.iter().enumerate() {
        last_change.insert((&change.channel_id, &change.plugin, &change.key), i);
    }
    let mut kv_order: Vec<usize> = last_change.into_values().collect();
    kv_order.sort_unstable();
    let kv = kv_order.into_iter().map(|i| &commit.kv[i]).collect();

    let mut seen: HashSet<(&str, &str)> = HashSet::new();
    let followers = commit
        .known_followers
        .iter()
        .map(|(c, u)| (c.as_str(), u.as_str()))
        .filter(|pair| seen.insert(*pair))
        .collect();

    let mut moved: Vec<(&str, Counters)> = next
        .into_iter()
        .filter(|(channel, c)| counters.get(*channel) != Some(c))
        .collect();
    moved.sort_unstable_by_key(|(channel, _)| *channel);

    Ok(Plan {
        events,
        alerts,
        counters: moved,
        kv,
        followers,
        committed,
    })
}

fn is_stored(stored: &Existing, (channel, id): (&str, &str)) -> bool {
    stored.get(channel).is_some_and(|ids| ids.contains(id))
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::storage::fixtures::{alert, event};

    fn kv(channel: &str, key: &str, value: Option<&str>) -> KvChange {
        KvChange {
            channel_id: channel.into(),
            plugin: "p".into(),
            key: key.into(),
            value: value.map(Into::into),
        }
    }

    #[test]
    fn seqs_follow_the_commit_order_per_channel_and_skip_duplicates() {
        let commit = Commit {
            events: vec![
                event("a", "1"),
                event("b", "1"),
                event("a", "2"),
                event("a", "1"),
                event("a", "old"),
                event("b", "2"),
            ],
            alerts: vec![
                alert("b", "x"),
                alert("b", "x"),
                alert("a", "seen"),
                alert("a", "y"),
            ],
            ..Commit::default()
        };
        let counters = HashMap::from([
            (
                "a".to_owned(),
                Counters {
                    last_event: 10,
                    last_alert: 4,
                },
            ),
            ("b".to_owned(), Counters::default()),
        ]);
        let stored_events = Existing::from([("a".to_owned(), HashSet::from(["old".to_owned()]))]);
        let stored_alerts = Existing::from([("a".to_owned(), HashSet::from(["seen".to_owned()]))]);
        let plan = plan(&commit, &counters, &stored_events, &stored_alerts).unwrap();
        use Inserted::*;
        assert_eq!(
            plan.committed.events,
            [New(11), New(1), New(12), Duplicate, Duplicate, New(2)]
        );
        assert_eq!(
            plan.events
                .iter()
                .map(|(s, e)| (*s, e.id.as_str()))
                .collect::<Vec<_>>(),
            [(11, "1"), (1, "1"), (12, "2"), (2, "2")]
        );
        assert_eq!(
            plan.committed.alerts,
            [("x".to_owned(), 1), ("y".to_owned(), 5)]
        );
        assert_eq!(
            plan.counters,
            [
                (
                    "a",
                    Counters {
                        last_event: 12,
                        last_alert: 5
                    }
                ),
                (
                    "b",
                    Counters {
                        last_event: 2,
                        last_alert: 1
                    }
                )
            ]
        );
    }

    #[test]
    fn the_last_change_to_a_key_wins_and_unknown_channels_are_refused() {
        let commit = Commit {
            kv: vec![
                kv("a", "k", Some("1")),
                kv("a", "j", None),
                kv("a", "k", None),
            ],
            known_followers: vec![("a".into(), "u".into()), ("a".into(), "u".into())],
            ..Commit::default()
        };
        let counters = HashMap::from([("a".to_owned(), Counters::default())]);
        let plan = plan(&commit, &counters, &Existing::new(), &Existing::new()).unwrap();
        assert_eq!(plan.kv, [&commit.kv[1], &commit.kv[2]]);
        assert_eq!(plan.followers, [("a", "u")]);
        assert!(plan.counters.is_empty());

        let stray = Commit {
            known_followers: vec![("zz".into(), "u".into())],
            ..Commit::default()
        };
        assert!(matches!(
            super::plan(&stray, &counters, &Existing::new(), &Existing::new()),
            Err(StorageError::NoChannel(c)) if c == "zz"
        ));
    }
}
