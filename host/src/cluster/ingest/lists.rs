//! The list pollers of one channel (subscribers, VIPs, moderators, bans),
//! run by the ingest node holding the channel's poll lease beside its
//! follower poll. Each list's first poll records it silently (its
//! baseline: who was there before the cluster served the channel is not
//! announced); later polls publish one event per change
//! ([`super::list_changes`]) and then record the new state. The events are
//! acknowledged by the stream before the state is recorded, so a node
//! killed in between publishes the same ids again and the stream (and the
//! store's unique event ids) keep one copy.

use std::collections::HashSet;

use chrono::Utc;

use super::list_changes::{self, ListChanges};
use super::twitch_app::AppError;
use super::{IngestShared, poller};
use crate::cluster::envelope::Envelope;
use crate::cluster::subjects::ChannelSubject;
use crate::storage::{Member, MemberList};

/// Why one list's poll did not finish.
#[derive(Debug, thiserror::Error)]
enum ListError {
    /// Twitch refused the channel's token for this list (a scope it lacks).
    #[error("{0}")]
    Refused(AppError),
    #[error("{0}")]
    Failed(String),
}

impl From<AppError> for ListError {
    fn from(e: AppError) -> Self {
        if e.is_refusal() {
            ListError::Refused(e)
        } else {
            ListError::Failed(e.to_string())
        }
    }
}

impl From<crate::storage::StorageError> for ListError {
    fn from(e: crate::storage::StorageError) -> Self {
        ListError::Failed(e.to_string())
    }
}

/// The list polls of one channel, for as long as this node holds its poll
/// lease.
pub struct ListPoller {
    channel: String,
    /// Lists Twitch refused the token for: logged once, then tried again
    /// quietly each round (the broadcaster may grant the scope later).
    refused: HashSet<MemberList>,
}

impl ListPoller {
    /// The poller of `channel`'s lists.
    pub fn new(channel: impl Into<String>) -> Self {
        ListPoller {
            channel: channel.into(),
            refused: HashSet::new(),
        }
    }

    /// Polls every list once. A list that fails is logged and left for the
    /// next round; the others are polled all the same.
    pub async fn poll_all(&mut self, shared: &IngestShared) {
        let token = match poller::user_token(shared, &self.channel).await {
            Ok(Some(token)) => token,
            Ok(None) => return,
            Err(why) => {
                tracing::warn!("list polls skipped: {why}");
                return;
            }
        };
        for list in MemberList::ALL {
            match poll_list(shared, &self.channel, &token, list).await {
                Ok(()) => {
                    if self.refused.remove(&list) {
                        tracing::info!(%list, "Twitch lets this channel's token read the list again");
                    }
                }
                Err(ListError::Refused(why)) => {
                    if self.refused.insert(list) {
                        tracing::info!(%list, "not polled: Twitch refuses this channel's token ({why})");
                    }
                }
                Err(ListError::Failed(why)) => {
                    tracing::warn!(%list, "list poll failed: {why}");
                }
            }
        }
    }
}

/// The list as Helix shows it now, as members.
async fn fetch(
    shared: &IngestShared,
    channel: &str,
    token: &str,
    list: MemberList,
) -> Result<Vec<Member>, AppError> {
    let app = &shared.app;
    Ok(match list {
        MemberList::Subscribers => {
            list_changes::subscriber_members(&app.subscribers(channel, token).await?)
        }
        MemberList::Vips => list_changes::role_members(&app.vips(channel, token).await?),
        MemberList::Moderators => {
            list_changes::role_members(&app.moderators(channel, token).await?)
        }
        MemberList::Banned => list_changes::ban_members(&app.banned(channel, token).await?),
    })
}

async fn poll_list(
    shared: &IngestShared,
    channel: &str,
    token: &str,
    list: MemberList,
) -> Result<(), ListError> {
    let current = fetch(shared, channel, token, list).await?;
    let Some(known) = shared.store.members(channel, list).await? else {
        let recorded = shared
            .store
            .replace_members(channel, list, None, &current, &[])
            .await?;
        match recorded {
            Some(_) => tracing::info!(%list, members = current.len(), "list baseline recorded"),
            None => tracing::info!(%list, "another node recorded the list's baseline first"),
        }
        return Ok(());
    };
    let changes = list_changes::changes(channel, list, &known, &current, Utc::now());
    if changes.is_empty() {
        return Ok(());
    }
    publish(shared, channel, &changes).await?;
    let recorded = shared
        .store
        .replace_members(
            channel,
            list,
            Some(known.generation),
            &changes.upsert,
            &changes.removed,
        )
        .await?;
    if recorded.is_none() {
        // Another node recorded the list while this one polled it (a lease
        // that moved during a slow Helix call). The events name the
        // generation they were found against, so those it found too are
        // stored once; what this node saw is not recorded over the newer
        // state, and a change only it saw is found again by the next poll.
        tracing::warn!(%list, generation = known.generation, "the list was recorded by another node while this one polled it; its state is left as that node recorded it");
    }
    if !changes.events.is_empty() {
        tracing::info!(%list, changes = changes.events.len(), "list changes published");
        shared.metrics.events_in(None, changes.events.len() as u64);
    }
    Ok(())
}

/// Publishes the events and waits for the stream to acknowledge every one.
async fn publish(
    shared: &IngestShared,
    channel: &str,
    changes: &ListChanges,
) -> Result<(), ListError> {
    let subject = ChannelSubject::parse(channel)
        .map_err(|_| ListError::Failed(format!("{channel:?} cannot be a channel id")))?;
    let mut pending = Vec::with_capacity(changes.events.len());
    for event in &changes.events {
        let envelope = Envelope {
            event: event.clone(),
            received_at: Utc::now(),
        };
        let ack = shared
            .bus
            .start_publish_event(&subject, &event.id, envelope.encode().into())
            .await
            .map_err(|e| ListError::Failed(format!("cannot publish {}: {e}", event.id)))?;
        pending.push((event.id.as_str(), ack));
    }
    for (id, ack) in pending {
        ack.await
            .map_err(|e| ListError::Failed(format!("{id} not acknowledged: {e}")))?;
    }
    Ok(())
}
