//! Background upkeep every 5 minutes: grants whose time ran out are marked
//! expired (and the dashboards told), expired grants older than 7 days are
//! deleted, and chat messages older than the retention setting leave the
//! event log. Expired grants never count even before this runs: the access
//! check compares `expires_at` with the clock.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::SpeechService;
use crate::event::{EventKind, now_ms};
use crate::live::{LiveFeed, LiveMessage};
use crate::store::{Store, StoreError, events, tts_grants};

/// How often the upkeep runs.
pub const EVERY: Duration = Duration::from_secs(5 * 60);

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpkeepReport {
    pub grants_expired: usize,
    pub grants_deleted: usize,
    pub chat_deleted: usize,
}

/// One pass; also what the job runs on its schedule.
pub async fn run_once(
    store: &Store,
    speech: &SpeechService,
    feed: &LiveFeed,
) -> Result<UpkeepReport, StoreError> {
    let now = now_ms();
    let cleanup = store.write(move |c| tts_grants::clean_up(c, now)).await?;
    if cleanup.expired > 0 {
        feed.publish(LiveMessage::TtsRulesChanged);
    }
    let cutoff = now - chrono::Duration::days(i64::from(speech.settings().chat_retention_days));
    let mut chat_deleted = 0;
    loop {
        // One batch per write, so other writes interleave with a big prune.
        let n = store
            .write(move |c| events::prune_kind(c, EventKind::ChatMessage.as_str(), cutoff))
            .await?;
        chat_deleted += n;
        if n < events::PRUNE_BATCH {
            break;
        }
    }
    Ok(UpkeepReport {
        grants_expired: cleanup.expired,
        grants_deleted: cleanup.deleted,
        chat_deleted,
    })
}

/// Starts the job (first pass at once); it ends when `stop` is cancelled.
pub fn spawn(
    store: Store,
    speech: SpeechService,
    feed: LiveFeed,
    stop: CancellationToken,
) -> JoinHandle<()> {
    crate::periodic::spawn(EVERY, stop, move || {
        let (store, speech, feed) = (store.clone(), speech.clone(), feed.clone());
        async move {
            match run_once(&store, &speech, &feed).await {
                Ok(report) if report != UpkeepReport::default() => {
                    tracing::info!(?report, "TTS upkeep: grants expired or chat pruned");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "TTS upkeep failed; retrying in 5 minutes"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::alerts::OverlayQueue;
    use crate::event::{Event, Source, Viewer};
    use crate::store::StoreOptions;
    use crate::store::tts_grants::GrantSource;
    use crate::store::viewers;
    use serde_json::json;

    #[tokio::test]
    async fn old_chat_leaves_and_expired_grants_are_marked() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("u.db"), StoreOptions::default()).unwrap();
        let feed = LiveFeed::new(16);
        let speech = SpeechService::load(
            store.clone(),
            OverlayQueue::new(store.clone()),
            feed.clone(),
        )
        .await
        .unwrap();
        speech
            .update_settings(&json!({"chat_retention_days": 7}))
            .await
            .unwrap();
        let now = now_ms();
        let chat = |text: &str| {
            Event::new(EventKind::ChatMessage, Source::Eventsub, "100")
                .with_details(json!({"username": "a", "text": text, "badges": []}))
        };
        let (old, recent) = (chat("old"), chat("recent"));
        let follow = Event::new(EventKind::Follow, Source::Eventsub, "100")
            .with_details(json!({"username": "a", "action": "follow"}));
        store
            .write(move |c| {
                events::insert(c, &old, now - chrono::Duration::days(8))?;
                events::insert(c, &follow, now - chrono::Duration::days(30))?;
                events::insert(c, &recent, now - chrono::Duration::days(6))?;
                let v = viewers::get_or_create(c, &Viewer::new("9", "gia", "Gia"), now)?;
                // A grant that ended a minute ago.
                tts_grants::grant(
                    c,
                    "100",
                    v,
                    1,
                    GrantSource::Dashboard,
                    None,
                    now - chrono::Duration::minutes(2),
                )?;
                Ok(())
            })
            .await
            .unwrap();
        let mut live = feed.subscribe();
        let report = run_once(&store, &speech, &feed).await.unwrap();
        assert_eq!(
            report,
            UpkeepReport {
                grants_expired: 1,
                grants_deleted: 0,
                chat_deleted: 1
            }
        );
        assert!(matches!(
            live.recv().await,
            crate::live::Received::Message(LiveMessage::TtsRulesChanged)
        ));
        assert_eq!(
            store.read(events::count).await.unwrap(),
            2,
            "the follow and recent chat stay"
        );
        assert_eq!(
            run_once(&store, &speech, &feed).await.unwrap(),
            UpkeepReport::default()
        );
    }
}
