//! The TTS rules' cleanup job: deletes mutes and cooldowns whose time is up
//! and, when it deleted any, says so on the live feed, so every open
//! dashboard drops them without waiting for its 30 s safety-net re-fetch.
//! Expired rules never count even before this runs (the store's queries
//! skip them); this keeps the table small and the screens in step.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::event::now_ms;
use crate::live::{LiveFeed, LiveMessage};
use crate::store::{Store, StoreError, tts_rules};

/// How often expired rules are looked for.
pub const EVERY: Duration = Duration::from_secs(15);

/// One pass: removes the expired rules and, if any, tells the dashboards.
/// Returns how many were removed.
pub async fn run_once(store: &Store, feed: &LiveFeed) -> Result<usize, StoreError> {
    let removed = store
        .write(|c| tts_rules::remove_expired(c, now_ms()))
        .await?;
    if removed > 0 {
        tracing::debug!(removed, "expired TTS rules removed");
        feed.publish(LiveMessage::TtsRulesChanged);
    }
    Ok(removed)
}

/// Starts the job; it ends when `stop` is cancelled.
pub fn spawn(store: Store, feed: LiveFeed, stop: CancellationToken) -> JoinHandle<()> {
    crate::periodic::spawn(EVERY, stop, move || {
        let (store, feed) = (store.clone(), feed.clone());
        async move {
            if let Err(e) = run_once(&store, &feed).await {
                tracing::warn!(error = %e, "cannot remove expired TTS rules");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Viewer;
    use crate::live::Received;
    use crate::store::{StoreOptions, viewers};

    #[tokio::test]
    async fn expired_rules_are_removed_with_one_live_notice() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("x.db"), StoreOptions::default()).unwrap();
        let feed = LiveFeed::new(8);
        let mut live = feed.subscribe();
        store
            .write(|c| {
                let now = now_ms();
                let a = viewers::get_or_create(c, &Viewer::new("1", "ann", "Ann"), now)?;
                let b = viewers::get_or_create(c, &Viewer::new("2", "ben", "Ben"), now)?;
                // Ann's mute ended a minute ago; Ben's lasts another four.
                tts_rules::mute(
                    c,
                    "100",
                    a,
                    Some(1),
                    None,
                    now - chrono::Duration::minutes(2),
                )?;
                tts_rules::mute(
                    c,
                    "100",
                    b,
                    Some(5),
                    None,
                    now - chrono::Duration::minutes(1),
                )
            })
            .await
            .unwrap();
        assert_eq!(run_once(&store, &feed).await.unwrap(), 1);
        assert!(matches!(
            live.recv().await,
            Received::Message(LiveMessage::TtsRulesChanged)
        ));
        let left = store
            .read(|c| tts_rules::active(c, "100", now_ms()))
            .await
            .unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].viewer.login, "ben");
        // Nothing more to remove: no notice.
        assert_eq!(run_once(&store, &feed).await.unwrap(), 0);
        feed.publish(LiveMessage::PluginsChanged);
        assert!(matches!(
            live.recv().await,
            Received::Message(LiveMessage::PluginsChanged)
        ));
    }
}
