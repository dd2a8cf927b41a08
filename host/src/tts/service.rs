//! The speech service: reads chat aloud for the viewers the streamer allows.
//! Each chat message is checked against the settings, the viewer's roles,
//! grants and TTS rules and the per-viewer gap ([`super::gate`]), then queued
//! as speech on the overlay, in order. A channel-points redemption of the
//! configured reward becomes a grant. A mute withdraws the viewer's speech
//! still queued, so a muted viewer is silenced within the message playing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use tokio::sync::mpsc;

use super::gate::{self, Chatter, Refusal};
use super::settings::TtsSettings;
use crate::actions::alerts::{OverlayControl, OverlayQueue};
use crate::event::{EventData, EventKind, now_ms};
use crate::live::{LiveFeed, LiveMessage};
use crate::settle::Settled;
use crate::store::events::StoredEvent;
use crate::store::overlay_alerts::{self, QueuedSpeech};
use crate::store::tts_grants::{self, GrantSource};
use crate::store::{Store, StoreError, access, tts_rules, tts_settings, viewers};

/// How many stored events may wait for the service before new chat is not
/// read (the pipeline never waits for speech).
pub const INBOX: usize = 1024;
/// The longest a chat message waits for the plugins to have acted on it
/// (and on the messages before it) before it is decided on.
const SETTLE_LIMIT: std::time::Duration = std::time::Duration::from_secs(2);

/// What became of one chat message, for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// Queued as speech with this overlay alert id.
    Queued(String),
    Refused(Refusal),
    /// A redemption of the grant reward: the viewer may speak until then.
    Granted(DateTime<Utc>),
    /// Not chat, not the grant reward, or no chatter.
    Ignored,
}

/// Cheap to clone; one per host.
#[derive(Clone)]
pub struct SpeechService {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    overlays: OverlayQueue,
    feed: LiveFeed,
    settings: RwLock<TtsSettings>,
    /// Twitch user id → when their last message was admitted.
    last_admitted: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl SpeechService {
    /// Loads the stored settings (defaults if none or unreadable).
    pub async fn load(
        store: Store,
        overlays: OverlayQueue,
        feed: LiveFeed,
    ) -> Result<SpeechService, StoreError> {
        let stored = store
            .read(|c| Ok(tts_settings::load(c).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "stored TTS settings are unreadable; using the defaults");
                None
            })))
            .await?;
        Ok(SpeechService {
            inner: Arc::new(Inner {
                store,
                overlays,
                feed,
                settings: RwLock::new(TtsSettings::from_stored(stored)),
                last_admitted: Mutex::default(),
            }),
        })
    }

    /// The settings in force.
    pub fn settings(&self) -> TtsSettings {
        self.inner
            .settings
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Applies a partial update (a JSON object), stores it and tells the
    /// dashboards. `Err(Ok(reason))` is a bad value; nothing changed.
    pub async fn update_settings(
        &self,
        patch: &serde_json::Value,
    ) -> Result<TtsSettings, Result<String, StoreError>> {
        let next = self.settings().patched(patch).map_err(Ok)?;
        let value = serde_json::to_value(&next).map_err(|e| Ok(e.to_string()))?;
        self.inner
            .store
            .write(move |c| tts_settings::save(c, &value, now_ms()))
            .await
            .map_err(Err)?;
        *self
            .inner
            .settings
            .write()
            .unwrap_or_else(|p| p.into_inner()) = next.clone();
        self.inner.feed.publish(LiveMessage::SpeechChanged);
        Ok(next)
    }

    /// Hands stored events to the service in order; returns the sender the
    /// pipeline offers events to.
    pub fn spawn(&self) -> mpsc::Sender<(Arc<StoredEvent>, Settled)> {
        let (tx, mut rx) = mpsc::channel::<(Arc<StoredEvent>, Settled)>(INBOX);
        let service = self.clone();
        tokio::spawn(async move {
            while let Some((stored, settled)) = rx.recv().await {
                // What plugins did about earlier chat (a moderator's mute)
                // applies to this message.
                settled.wait(SETTLE_LIMIT).await;
                match service.hear(&stored).await {
                    Ok(Heard::Refused(why)) => {
                        tracing::debug!(event_id = %stored.event.id, reason = %why.reason(), "chat not read aloud");
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(event_id = %stored.event.id, error = %e, "cannot decide on speech");
                    }
                }
            }
        });
        tx
    }

    /// Whether the service wants this event (the pipeline offers only these).
    pub fn wants(kind: &EventKind) -> bool {
        matches!(kind, EventKind::ChatMessage | EventKind::Redemption)
    }

    /// Decides on one stored event.
    pub async fn hear(&self, stored: &StoredEvent) -> Result<Heard, StoreError> {
        match stored.event.kind {
            EventKind::ChatMessage => self.hear_chat(stored).await,
            EventKind::Redemption => self.hear_redemption(stored).await,
            _ => Ok(Heard::Ignored),
        }
    }

    async fn hear_chat(&self, stored: &StoredEvent) -> Result<Heard, StoreError> {
        let event = &stored.event;
        let Some(viewer) = event.viewer.clone() else {
            return Ok(Heard::Ignored);
        };
        let text = match &event.data {
            EventData::ChatMessage(chat) => chat.text.clone(),
            _ => String::new(),
        };
        self.admit_and_queue(
            &event.channel_id,
            &viewer.id,
            &viewer.login,
            &viewer.display_name,
            &text,
            Some(event.id.clone()),
            None,
        )
        .await
    }

    /// Runs the gate for a chatter and queues their speech if it passes:
    /// the path of chat messages and of plugins' `speak` for a chat event.
    #[allow(clippy::too_many_arguments)]
    pub async fn admit_and_queue(
        &self,
        channel_id: &str,
        twitch_id: &str,
        login: &str,
        display_name: &str,
        text: &str,
        event_id: Option<String>,
        plugin: Option<String>,
    ) -> Result<Heard, StoreError> {
        let settings = self.settings();
        let now = now_ms();
        let last = self.last_admitted(twitch_id);
        let (channel, id) = (channel_id.to_owned(), twitch_id.to_owned());
        let (mut chatter, queued) = self
            .inner
            .store
            .read(move |c| {
                let roles = access::viewer_roles(c, &channel, &id)?;
                let mut chatter = Chatter {
                    roles,
                    ..Chatter::default()
                };
                if let Some(v) = viewers::by_twitch_id(c, &id)? {
                    chatter.granted = tts_grants::holds(c, &channel, v.id, now)?;
                    let (muted, gap) = tts_rules::of_viewer(c, &channel, v.id, now)?;
                    chatter.muted = muted;
                    chatter.cooldown = gap.map(Duration::seconds);
                }
                Ok((chatter, overlay_alerts::pending_speech_count(c)?))
            })
            .await?;
        chatter.last_admitted = last;
        let spoken = match gate::admit(&settings, &chatter, text, queued, now) {
            Ok(spoken) => spoken,
            Err(refusal) => return Ok(Heard::Refused(refusal)),
        };
        // Claimed before queuing, so a burst cannot slip through together.
        if !self.claim(twitch_id, last, now) {
            return Ok(Heard::Refused(Refusal::TooSoon { wait_secs: 1 }));
        }
        let name = if display_name.is_empty() {
            login
        } else {
            display_name
        };
        let said = format!("{name} says {spoken}");
        let id = self
            .enqueue(
                &settings.overlay,
                &login.to_lowercase(),
                name,
                said,
                event_id,
                plugin,
            )
            .await?;
        Ok(Heard::Queued(id))
    }

    /// Puts one speech item on the overlay's queue and tells the dashboards.
    async fn enqueue(
        &self,
        overlay: &str,
        login: &str,
        name: &str,
        said: String,
        event_id: Option<String>,
        plugin: Option<String>,
    ) -> Result<String, StoreError> {
        let payload = json!({
            "speech": true, "viewer": login, "viewer_name": name,
            "title": "", "message": "", "tts": said, "duration_ms": 0,
        });
        let id = self
            .inner
            .overlays
            .enqueue(overlay, event_id, plugin, payload)
            .await?;
        self.inner.feed.publish(LiveMessage::SpeechChanged);
        Ok(id)
    }

    /// Queues a plugin's own speech (an alert's "thanks for the follow"):
    /// no viewer policy, but the length limit and the queue limit.
    pub async fn queue_plain(
        &self,
        text: &str,
        event_id: Option<String>,
        plugin: Option<String>,
    ) -> Result<Result<String, Refusal>, StoreError> {
        let settings = self.settings();
        let spoken = gate::speakable(text, settings.max_chars as usize);
        if spoken.is_empty() {
            return Ok(Err(Refusal::NotSpeech));
        }
        let queued = self
            .inner
            .store
            .read(overlay_alerts::pending_speech_count)
            .await?;
        if queued >= settings.max_queue as usize {
            return Ok(Err(Refusal::QueueFull));
        }
        let id = self
            .enqueue(&settings.overlay, "", "", spoken, event_id, plugin)
            .await?;
        Ok(Ok(id))
    }

    fn last_admitted(&self, twitch_id: &str) -> Option<DateTime<Utc>> {
        self.inner
            .last_admitted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(twitch_id)
            .copied()
    }

    /// Records an admission unless another one got in since `seen`.
    fn claim(&self, twitch_id: &str, seen: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
        let mut map = self
            .inner
            .last_admitted
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if map.get(twitch_id).copied() != seen {
            return false;
        }
        // Bounded: forget chatters quiet for an hour once the map is large.
        if map.len() > 10_000 {
            let cutoff = now - Duration::hours(1);
            map.retain(|_, t| *t > cutoff);
        }
        map.insert(twitch_id.to_owned(), now);
        true
    }

    async fn hear_redemption(&self, stored: &StoredEvent) -> Result<Heard, StoreError> {
        let settings = self.settings();
        let event = &stored.event;
        let title = match &event.data {
            EventData::Redemption(r) => r.reward.title.as_str(),
            _ => "",
        };
        let wanted = settings.grant_reward.trim();
        if wanted.is_empty() || !title.trim().eq_ignore_ascii_case(wanted) {
            return Ok(Heard::Ignored);
        }
        let Some(viewer) = event.viewer.clone() else {
            return Ok(Heard::Ignored);
        };
        let channel = event.channel_id.clone();
        let minutes = settings.grant_minutes;
        let until = self
            .inner
            .store
            .write(move |c| {
                let id = viewers::get_or_create(c, &viewer, now_ms())?;
                tts_grants::grant(
                    c,
                    &channel,
                    id,
                    minutes,
                    GrantSource::ChannelPoints,
                    Some("channel points"),
                    now_ms(),
                )
            })
            .await?;
        tracing::info!(viewer = %event.viewer.as_ref().map(|v| v.login.as_str()).unwrap_or(""), %until, "TTS granted by a channel-points redemption");
        self.inner.feed.publish(LiveMessage::TtsRulesChanged);
        Ok(Heard::Granted(until))
    }

    /// Withdraws a viewer's queued speech (they were just muted); returns
    /// how many items.
    pub async fn silence(&self, login: &str) -> Result<usize, StoreError> {
        let login = crate::viewer_rules::loose_login(login);
        let pending = self
            .inner
            .store
            .read(move |c| overlay_alerts::pending_speech_of(c, &login))
            .await?;
        let ids = pending.into_iter().map(|(id, _)| id).collect();
        let withdrawn = self.inner.overlays.withdraw(ids).await?;
        if !withdrawn.is_empty() {
            self.inner.feed.publish(LiveMessage::SpeechChanged);
        }
        Ok(withdrawn.len())
    }

    /// Speech waiting or playing, in order.
    pub async fn queue(&self) -> Result<Vec<QueuedSpeech>, StoreError> {
        self.inner.store.read(overlay_alerts::pending_speech).await
    }

    /// Removes one queued item; false if it was not pending speech.
    pub async fn remove(&self, id: &str) -> Result<bool, StoreError> {
        let is_speech = self.queue().await?.iter().any(|q| q.id == id);
        if !is_speech {
            return Ok(false);
        }
        let removed = !self
            .inner
            .overlays
            .withdraw(vec![id.to_owned()])
            .await?
            .is_empty();
        if removed {
            self.inner.feed.publish(LiveMessage::SpeechChanged);
        }
        Ok(removed)
    }

    /// Stops what the speech overlay is saying now; returns that overlay's
    /// name (whose pages were told).
    pub fn skip(&self) -> String {
        let overlay = self.settings().overlay;
        self.inner.overlays.control(OverlayControl::Skip {
            overlay: overlay.clone(),
        });
        overlay
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, Source, Viewer};
    use crate::store::StoreOptions;
    use crate::store::events;
    use serde_json::json;

    const CHANNEL: &str = "100";

    struct Fixture {
        _dir: tempfile::TempDir,
        store: Store,
        overlays: OverlayQueue,
        speech: SpeechService,
    }

    async fn fixture(settings: serde_json::Value) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("tts.db"), StoreOptions::default()).unwrap();
        let overlays = OverlayQueue::new(store.clone());
        let speech = SpeechService::load(store.clone(), overlays.clone(), LiveFeed::new(64))
            .await
            .unwrap();
        speech.update_settings(&settings).await.unwrap();
        Fixture {
            _dir: dir,
            store,
            overlays,
            speech,
        }
    }

    fn viewer(login: &str) -> Viewer {
        Viewer::new(format!("id-{login}"), login, login.to_uppercase())
    }

    /// Stores a chat message (so the viewer exists) and hears it.
    async fn say(f: &Fixture, login: &str, text: &str) -> Heard {
        let event = Event::new(EventKind::ChatMessage, Source::Eventsub, CHANNEL)
            .with_viewer(viewer(login))
            .with_details(json!({"username": login, "text": text, "badges": []}));
        let stored = event.clone();
        f.store
            .write(move |c| events::insert(c, &stored, now_ms()).map(|_| ()))
            .await
            .unwrap();
        let stored = StoredEvent {
            seq: 0,
            event,
            created_at: now_ms(),
            display: None,
        };
        f.speech.hear(&stored).await.unwrap()
    }

    async fn spoken(f: &Fixture) -> Vec<String> {
        f.speech
            .queue()
            .await
            .unwrap()
            .into_iter()
            .map(|q| q.text)
            .collect()
    }

    async fn viewer_id(f: &Fixture, login: &str) -> i64 {
        let login = login.to_owned();
        f.store
            .read(move |c| Ok(viewers::by_login(c, &login)?.unwrap().id))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn allowed_chat_is_queued_in_order_with_the_name() {
        let f = fixture(json!({"access": ["everyone"], "viewer_gap_seconds": 0})).await;
        assert!(matches!(say(&f, "alice", "hello").await, Heard::Queued(_)));
        assert!(matches!(say(&f, "bob", "hi there").await, Heard::Queued(_)));
        assert!(matches!(
            say(&f, "alice", "!uptime").await,
            Heard::Refused(Refusal::NotSpeech)
        ));
        assert_eq!(
            spoken(&f).await,
            vec!["ALICE says hello", "BOB says hi there"]
        );
        let pending = f.overlays.pending("alerts", 0, i64::MAX).await.unwrap();
        assert_eq!(pending[0].payload["speech"], true);
        assert_eq!(pending[0].payload["viewer"], "alice");
    }

    #[tokio::test]
    async fn a_flood_from_one_viewer_is_read_once_per_gap() {
        let f = fixture(json!({"access": ["everyone"], "viewer_gap_seconds": 30})).await;
        let mut queued = 0;
        for i in 0..50 {
            if let Heard::Queued(_) = say(&f, "spammer", &format!("message {i}")).await {
                queued += 1;
            }
        }
        assert_eq!(queued, 1);
        assert!(
            matches!(say(&f, "calm", "hello").await, Heard::Queued(_)),
            "others still heard"
        );
    }

    #[tokio::test]
    async fn a_message_of_ten_thousand_characters_is_cut() {
        let f = fixture(json!({"access": ["everyone"], "max_chars": 200})).await;
        let huge = "blah ".repeat(2_000);
        assert!(matches!(say(&f, "long", &huge).await, Heard::Queued(_)));
        let text = &spoken(&f).await[0];
        assert!(
            text.chars().count() <= 200 + "LONG says ".len(),
            "{}",
            text.len()
        );
    }

    #[tokio::test]
    async fn the_queue_limit_holds_back_more_chat() {
        let f = fixture(json!({"access": ["everyone"], "max_queue": 2})).await;
        say(&f, "a", "one").await;
        say(&f, "b", "two").await;
        assert_eq!(
            say(&f, "c", "three").await,
            Heard::Refused(Refusal::QueueFull)
        );
    }

    #[tokio::test]
    async fn a_mute_withdraws_queued_speech_and_stops_the_next() {
        let f = fixture(json!({"access": ["everyone"], "viewer_gap_seconds": 0})).await;
        say(&f, "troll", "first").await;
        say(&f, "nice", "kind words").await;
        say(&f, "troll", "second").await;
        let mut controls = f.overlays.controls();
        let id = viewer_id(&f, "troll").await;
        f.store
            .write(move |c| tts_rules::mute(c, CHANNEL, id, Some(5), Some("test"), now_ms()))
            .await
            .unwrap();
        assert_eq!(f.speech.silence("@Troll").await.unwrap(), 2);
        match &*controls.recv().await.unwrap() {
            OverlayControl::Cancel { overlay, ids } => {
                assert_eq!(overlay, "alerts");
                assert_eq!(ids.len(), 2);
            }
            other => panic!("expected a cancel, got {other:?}"),
        }
        assert_eq!(spoken(&f).await, vec!["NICE says kind words"]);
        assert_eq!(
            say(&f, "troll", "third").await,
            Heard::Refused(Refusal::Muted)
        );
        assert_eq!(
            f.speech.silence("troll").await.unwrap(),
            0,
            "a second mute withdraws nothing more"
        );
    }

    #[tokio::test]
    async fn a_rule_expiring_while_a_message_waits_changes_nothing_queued() {
        let f = fixture(json!({"access": ["everyone"], "viewer_gap_seconds": 0})).await;
        let queued = say(&f, "eve", "before the rule").await;
        assert!(matches!(queued, Heard::Queued(_)));
        // A cooldown that ends 200 ms from now.
        let id = viewer_id(&f, "eve").await;
        let started = now_ms() - chrono::Duration::milliseconds(60_000 - 200);
        f.store
            .write(move |c| tts_rules::cooldown(c, CHANNEL, id, 3600, 1, Some("test"), started))
            .await
            .unwrap();
        assert!(matches!(
            say(&f, "eve", "during").await,
            Heard::Refused(Refusal::TooSoon { .. })
        ));
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(matches!(say(&f, "eve", "after").await, Heard::Queued(_)));
        assert_eq!(
            spoken(&f).await,
            vec!["EVE says before the rule", "EVE says after"],
            "the queued message stayed, once"
        );
    }

    #[tokio::test]
    async fn the_grant_reward_lets_a_viewer_speak() {
        let f = fixture(
            json!({"access": ["grants"], "grant_reward": "Unlock TTS", "grant_minutes": 10}),
        )
        .await;
        assert_eq!(
            say(&f, "fan", "hello?").await,
            Heard::Refused(Refusal::NotAllowed)
        );
        let redemption = |title: &str| StoredEvent {
            seq: 0,
            event: Event::new(EventKind::Redemption, Source::Eventsub, CHANNEL)
                .with_viewer(viewer("fan"))
                .with_details(json!({"reward": {"title": title, "cost": 100}})),
            created_at: now_ms(),
            display: None,
        };
        assert_eq!(
            f.speech.hear(&redemption("Hydrate")).await.unwrap(),
            Heard::Ignored
        );
        assert!(matches!(
            f.speech.hear(&redemption("unlock tts")).await.unwrap(),
            Heard::Granted(_)
        ));
        assert!(matches!(say(&f, "fan", "hello!").await, Heard::Queued(_)));
    }

    #[tokio::test]
    async fn skip_and_remove_reach_the_pages() {
        let f = fixture(json!({"access": ["everyone"]})).await;
        let Heard::Queued(id) = say(&f, "alice", "hello").await else {
            panic!("not queued");
        };
        let mut controls = f.overlays.controls();
        assert_eq!(f.speech.skip(), "alerts");
        assert_eq!(
            *controls.recv().await.unwrap(),
            OverlayControl::Skip {
                overlay: "alerts".into()
            }
        );
        assert!(f.speech.remove(&id).await.unwrap());
        assert!(!f.speech.remove(&id).await.unwrap(), "once");
        assert!(spoken(&f).await.is_empty());
    }

    #[tokio::test]
    async fn settings_survive_a_restart() {
        let f = fixture(json!({"max_chars": 123})).await;
        let again = SpeechService::load(f.store.clone(), f.overlays.clone(), LiveFeed::new(8))
            .await
            .unwrap();
        assert_eq!(again.settings().max_chars, 123);
    }
}
