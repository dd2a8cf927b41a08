//! Commits the batches of every partition a worker runs in shared
//! transactions: batches that are ready while transactions are in flight
//! (at most [`IN_FLIGHT`]) go together into the next one. A worker running sixteen partitions at a
//! modest rate would otherwise make a transaction per partition per batch,
//! and the database's cost is per transaction and statement far more than
//! per row. The committer waits [`LINGER`] after the first batch for others
//! to join it: a little latency for far fewer transactions.
//!
//! Each batch keeps its own fate: the shared commit carries every batch's
//! cursor, and when one of their leases turns out lost, the batches are
//! committed one by one instead, so only the batch whose lease was lost is
//! refused.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::storage::{ClusterStore, Commit, Committed, StorageError};

/// The most batches in one transaction.
const MAX_GROUP: usize = 32;
/// The most events in one transaction (a batch is never split).
const MAX_GROUP_EVENTS: usize = 4096;
/// Transactions of one worker in flight at once.
const IN_FLIGHT: usize = 2;
/// How long the first batch of a transaction waits for others.
const LINGER: std::time::Duration = std::time::Duration::from_millis(2);

struct Request {
    commit: Commit,
    reply: oneshot::Sender<Result<Committed, StorageError>>,
}

/// The handle partition runners commit through; cheap to clone.
#[derive(Clone)]
pub struct GroupCommitter {
    tx: mpsc::Sender<Request>,
}

impl GroupCommitter {
    /// Starts the committing task; it ends when every handle is dropped,
    /// after the commits already asked for.
    pub fn start(store: Arc<dyn ClusterStore>) -> GroupCommitter {
        let (tx, rx) = mpsc::channel(MAX_GROUP * 4);
        tokio::spawn(run(store, rx));
        GroupCommitter { tx }
    }

    /// Commits `commit`, possibly with other partitions' batches; answers
    /// as if it had been committed alone.
    pub async fn commit(&self, commit: Commit) -> Result<Committed, StorageError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Request { commit, reply })
            .await
            .map_err(|_| StorageError::Backend("the worker's committer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StorageError::Backend("the worker's committer has stopped".into()))?
    }
}

async fn run(store: Arc<dyn ClusterStore>, mut rx: mpsc::Receiver<Request>) {
    let mut held: Option<Request> = None;
    let slots = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    loop {
        // A transaction waiting for the database does not hold back the
        // next group (their partitions, so their channels, differ).
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let first = match held.take() {
            Some(request) => request,
            None => match rx.recv().await {
                Some(request) => request,
                None => return,
            },
        };
        tokio::time::sleep(LINGER).await;
        let mut events = first.commit.events.len();
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(next) if events + next.commit.events.len() > MAX_GROUP_EVENTS => {
                    held = Some(next);
                    break;
                }
                Ok(next) => {
                    events += next.commit.events.len();
                    group.push(next);
                }
                Err(_) => break,
            }
        }
        let store = store.clone();
        tokio::spawn(async move {
            commit_group(store.as_ref(), group).await;
            drop(slot);
        });
    }
}

async fn commit_group(store: &dyn ClusterStore, mut group: Vec<Request>) {
    if group.len() == 1 {
        let request = group.pop().expect("one request");
        let result = store.commit(request.commit).await;
        let _ = request.reply.send(result);
        return;
    }
    let merged = merge(group.iter().map(|r| &r.commit));
    match store.commit(merged).await {
        Ok(committed) => {
            let parts = split(group.iter().map(|r| &r.commit), committed);
            for (request, part) in group.into_iter().zip(parts) {
                let _ = request.reply.send(Ok(part));
            }
        }
        Err(StorageError::Backend(why)) => {
            for request in group {
                let _ = request.reply.send(Err(StorageError::Backend(why.clone())));
            }
        }
        // A lost lease (or anything else about one batch): each alone, so
        // each hears its own outcome.
        Err(_) => {
            for request in group {
                let result = store.commit(request.commit).await;
                let _ = request.reply.send(result);
            }
        }
    }
}

/// One commit holding everything `commits` hold, in their order.
fn merge<'a>(commits: impl Iterator<Item = &'a Commit>) -> Commit {
    let mut merged = Commit::default();
    for commit in commits {
        merged.events.extend(commit.events.iter().cloned());
        merged.alerts.extend(commit.alerts.iter().cloned());
        merged.kv.extend(commit.kv.iter().cloned());
        merged
            .known_followers
            .extend(commit.known_followers.iter().cloned());
        merged.cursors.extend(commit.cursors.iter().cloned());
    }
    merged
}

/// What the merged commit did, told apart per commit: events by their
/// place in the order, new alerts by their id.
fn split<'a>(commits: impl Iterator<Item = &'a Commit>, committed: Committed) -> Vec<Committed> {
    let commits: Vec<&Commit> = commits.collect();
    let mut owner: HashMap<&str, usize> = HashMap::new();
    for (n, commit) in commits.iter().enumerate() {
        for alert in &commit.alerts {
            owner.insert(alert.id.as_str(), n);
        }
    }
    let mut parts: Vec<Committed> = commits.iter().map(|_| Committed::default()).collect();
    let mut events = committed.events.into_iter();
    for (part, commit) in parts.iter_mut().zip(&commits) {
        part.events = events.by_ref().take(commit.events.len()).collect();
    }
    for (id, position) in committed.alerts {
        if let Some(&n) = owner.get(id.as_str()) {
            parts[n].alerts.push((id, position));
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::fixtures::{alert, event};
    use crate::storage::{Inserted, StreamCursor};

    fn batch(channel: &str, events: &[&str], alerts: &[&str], partition: u32) -> Commit {
        Commit {
            events: events.iter().map(|id| event(channel, id)).collect(),
            alerts: alerts.iter().map(|id| alert(channel, id)).collect(),
            cursors: vec![StreamCursor {
                partition,
                sequence: 7,
                holder: "w".into(),
            }],
            ..Commit::default()
        }
    }

    #[test]
    fn a_merged_commit_keeps_every_batch_and_cursor_in_order() {
        let a = batch("1", &["a1", "a2"], &["x"], 0);
        let b = batch("2", &["b1"], &[], 1);
        let merged = merge([&a, &b].into_iter());
        let ids: Vec<&str> = merged.events.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["a1", "a2", "b1"]);
        let partitions: Vec<u32> = merged.cursors.iter().map(|c| c.partition).collect();
        assert_eq!(partitions, [0, 1]);
        assert_eq!(merged.alerts.len(), 1);
    }

    #[test]
    fn each_batch_hears_only_its_own_outcome() {
        let a = batch("1", &["a1", "a2"], &["x", "y"], 0);
        let b = batch("2", &["b1"], &["z"], 1);
        let committed = Committed {
            events: vec![Inserted::New(1), Inserted::Duplicate, Inserted::New(9)],
            // "y" was queued already: only the new ones come back.
            alerts: vec![("x".into(), 3), ("z".into(), 1)],
        };
        let parts = split([&a, &b].into_iter(), committed);
        assert_eq!(parts[0].events, [Inserted::New(1), Inserted::Duplicate]);
        assert_eq!(parts[0].alerts, [("x".to_owned(), 3)]);
        assert_eq!(parts[1].events, [Inserted::New(9)]);
        assert_eq!(parts[1].alerts, [("z".to_owned(), 1)]);
    }
}
