//! The TTS rules' cleanup job (seed 004, scenario C): deletes mutes and
//! cooldowns whose time is up and, when it deleted any, says so on the live
//! feed, so every open dashboard drops them without waiting for its 30 s
//! safety-net re-fetch. Expired rules never count even before this runs
//! (the store's queries skip them); this keeps the table small and the
//! screens in step.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::event::now_ms;
use crate::live::{LiveFeed, LiveMessage};
use crate::store::{Store, tts_rules};

/// How often expired rules are looked for.
pub const EVERY: Duration = Duration::from_secs(15);

/// Starts the job; it ends when `stop` is cancelled.
pub fn spawn(store: Store, feed: LiveFeed, stop: CancellationToken) -> JoinHandle<()> {
    crate::periodic::spawn(EVERY, stop, move || {
        let (store, feed) = (store.clone(), feed.clone());
        async move {
            match store
                .write(|c| tts_rules::remove_expired(c, now_ms()))
                .await
            {
                Ok(0) => {}
                Ok(n) => {
                    tracing::debug!(removed = n, "expired TTS rules removed");
                    feed.publish(LiveMessage::TtsRulesChanged);
                }
                Err(e) => tracing::warn!(error = %e, "cannot remove expired TTS rules"),
            }
        }
    })
}
