//! Copies one channel's history from one store to another through the
//! repositories every store has: how a streamer who outgrows one machine
//! takes their events and plugin data from the single host's file into a
//! cluster (`stagehand db move-to-cluster`). Written against the traits, it
//! works between any two stores, and running it again copies nothing twice
//! (events are stored once per id).

use super::{ChannelRepositories, Inserted, KvChange, NewEvent, StorageError};

/// Events read and written per round trip.
const PAGE: u32 = 500;

/// What a copy did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Copied {
    /// Events stored in the target.
    pub events: u64,
    /// Events the target had already (an earlier, interrupted copy).
    pub already_there: u64,
    /// Plugin key-value pairs written (keys the target did not have).
    pub kv_pairs: u64,
}

/// Copies `channel`'s events, in their order, and the key-value data of
/// `plugins` from `from` to `to`. The target must have the channel (a
/// cluster refuses writes for a channel it does not have). Only keys the
/// target does not have are copied: a key it has was written by the
/// target's own plugins since, and is newer than the source's.
pub async fn copy_channel(
    from: &dyn ChannelRepositories,
    to: &dyn ChannelRepositories,
    channel: &str,
    plugins: &[String],
) -> Result<Copied, StorageError> {
    let mut copied = Copied::default();
    let mut after = 0;
    loop {
        let page = from.events_after(channel, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        let events = page
            .into_iter()
            .map(|e| NewEvent {
                channel_id: e.channel_id,
                id: e.id,
                kind: e.kind,
                source: e.source,
                occurred_at: e.occurred_at,
                body: e.body,
                display: e.display,
            })
            .collect();
        for inserted in to.append_events(events).await? {
            match inserted {
                Inserted::New(_) => copied.events += 1,
                Inserted::Duplicate => copied.already_there += 1,
            }
        }
    }
    for plugin in plugins {
        let theirs = to.plugin_kv(channel, plugin).await?;
        let mut pairs: Vec<_> = from
            .plugin_kv(channel, plugin)
            .await?
            .into_iter()
            .filter(|(key, _)| !theirs.contains_key(key))
            .collect();
        pairs.sort_unstable();
        copied.kv_pairs += pairs.len() as u64;
        let changes = pairs
            .into_iter()
            .map(|(key, value)| KvChange {
                channel_id: channel.to_owned(),
                plugin: plugin.clone(),
                key,
                value: Some(value),
            })
            .collect();
        to.apply_kv(changes).await?;
    }
    Ok(copied)
}
