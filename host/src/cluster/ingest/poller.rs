//! The poll task of one channel, run by the ingest node holding the
//! channel's poll lease: its followers here, its other lists in
//! [`super::lists`]. Helix's follower list is compared with the
//! channel's baseline, and followers it does not know are published as
//! follows. That recovers follows lost at the edge (a shard's socket that
//! died with notifications in it); the worker stores a follow of a known
//! follower once, whichever source announced it first.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::{IngestShared, lists};
use crate::cluster::envelope::Envelope;
use crate::event::data::Follow;
use crate::event::{Event, EventData, Source, Viewer};

/// How long after a follow its EventSub notification may still be on its
/// way (through the conduit, the stream and a worker's batch).
pub const DELIVERY_GRACE: chrono::TimeDelta = chrono::TimeDelta::seconds(10);

/// Marks a channel whose baseline was taken (user ids are digits, so it
/// cannot clash with one).
pub const BASELINE_MARKER: &str = "baseline";

/// The window the first polls of a channel taken on are spread over.
const FIRST_POLL_SPREAD: Duration = Duration::from_secs(60);

/// Polls `channel` until `cancel`: its followers every `poll_every`, its
/// other lists every `lists_every` ([`lists`]), one after the other in this
/// one task, so the channel's poll lease covers them all.
pub async fn run(shared: Arc<IngestShared>, channel: String, cancel: CancellationToken) {
    let span = tracing::info_span!("poller", channel_id = %channel);
    poll_loop(shared, channel, cancel).instrument(span).await
}

async fn poll_loop(shared: Arc<IngestShared>, channel: String, cancel: CancellationToken) {
    let (follows_every, lists_every) = (shared.options.poll_every, shared.options.lists_every);
    let mut lists = lists::ListPoller::new(&channel);
    // The first polls come at a random point of the first period (at most
    // a minute in): a node that takes a thousand channels on does not ask
    // Twitch about all of them at once.
    let spread = |every: Duration| every.min(FIRST_POLL_SPREAD).mul_f64(rand::random::<f64>());
    let mut next_follows = Instant::now() + spread(follows_every);
    let mut next_lists = Instant::now() + spread(lists_every);
    loop {
        if Instant::now() >= next_follows {
            if let Err(why) = poll_once(&shared, &channel).await {
                tracing::warn!("follower poll failed: {why}");
            }
            next_follows = Instant::now() + follows_every;
        }
        if Instant::now() >= next_lists {
            lists.poll_all(&shared).await;
            next_lists = Instant::now() + lists_every;
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep_until(next_follows.min(next_lists)) => {}
        }
    }
}

/// The channel's own Twitch token, opened with the cluster's key (None
/// when the channel has none or the node has no key).
pub(super) async fn user_token(
    shared: &IngestShared,
    channel: &str,
) -> Result<Option<String>, String> {
    let (Some(key), Some(sealed)) = (
        shared.token_key.as_ref(),
        shared
            .store
            .sealed_user_token(channel)
            .await
            .map_err(|e| e.to_string())?,
    ) else {
        return Ok(None);
    };
    key.open(channel, &sealed)
        .map(|t| Some(t.to_string()))
        .map_err(|e| format!("cannot open the channel's token: {e}"))
}

/// Takes the channel's follower baseline if it has none: who followed
/// before the cluster served the channel is not announced.
pub async fn take_baseline(shared: &IngestShared, channel: &str) -> Result<bool, String> {
    let known = shared
        .store
        .known_followers(channel)
        .await
        .map_err(|e| e.to_string())?;
    if known.iter().any(|id| id == BASELINE_MARKER) {
        return Ok(false);
    }
    let mut ids = vec![BASELINE_MARKER.to_owned()];
    if let Some(token) = user_token(shared, channel).await? {
        let followers = shared
            .app
            .followers(channel, &token)
            .await
            .map_err(|e| e.to_string())?;
        ids.extend(followers.into_iter().map(|f| f.user_id));
    }
    shared
        .store
        .add_known_followers(channel, &ids)
        .await
        .map_err(|e| e.to_string())?;
    Ok(true)
}

async fn poll_once(shared: &IngestShared, channel: &str) -> Result<(), String> {
    if take_baseline(shared, channel).await? {
        return Ok(());
    }
    let Some(token) = user_token(shared, channel).await? else {
        return Ok(());
    };
    let followers = shared
        .app
        .followers(channel, &token)
        .await
        .map_err(|e| e.to_string())?;
    let known: HashSet<String> = shared
        .store
        .known_followers(channel)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .collect();
    let mut found = 0;
    // A follow younger than the grace may still be on its way through
    // EventSub (and the worker): only older ones count as lost.
    let settled = Utc::now() - DELIVERY_GRACE;
    for follower in followers
        .into_iter()
        .filter(|f| !known.contains(&f.user_id))
    {
        let followed_at: DateTime<Utc> =
            follower.followed_at.parse().unwrap_or_else(|_| Utc::now());
        if followed_at > settled {
            continue;
        }
        let viewer = Viewer::new(&follower.user_id, &follower.user_login, &follower.user_name);
        let mut event = Event::of(
            EventData::Follow(Follow::new(&follower.user_name, followed_at)),
            Source::Poll,
            channel,
        )
        .at(followed_at);
        // The same id for the same follow, whichever node polls it.
        event.id = format!("poll-follow:{channel}:{}", follower.user_id);
        event.viewer = Some(viewer);
        let envelope = Envelope {
            event,
            received_at: Utc::now(),
        };
        let id = envelope.event.id.clone();
        let Ok(subject) = crate::cluster::subjects::ChannelSubject::parse(channel) else {
            return Err(format!("{channel:?} cannot be a channel id"));
        };
        shared
            .recovered
            .publish(subject, id, envelope.encode())
            .await;
        found += 1;
    }
    if found > 0 {
        tracing::info!(
            found,
            "follows found by polling that EventSub did not deliver"
        );
        shared.metrics.events_in(None, found);
    }
    Ok(())
}
