//! The live feed: a small publish/subscribe seam between the pipeline and
//! whatever watches it (plugins, the dashboard's `/api/live`). The default is
//! in-process; a host serving many channels can put the same interface on a
//! broker without touching the pipeline.

use std::sync::Arc;

use serde::Serialize;
use tokio::sync::broadcast;

use crate::store::events::StoredEvent;

/// Something the dashboard or a plugin stage may want to know about now.
#[derive(Debug, Clone)]
pub enum LiveMessage {
    /// A new event was stored.
    Event(Arc<StoredEvent>),
    /// A formatter's display came after its event was stored (the formatter
    /// was late) and was attached to it.
    EventDisplay {
        id: String,
        display: serde_json::Value,
    },
    /// A plugin was loaded, unloaded or changed status.
    PluginsChanged,
    /// A TTS rule or grant was set, removed or expired.
    TtsRulesChanged,
    /// The speech queue or the speech settings changed.
    SpeechChanged,
    /// The EventSub connection changed state (connected, lost, a
    /// subscription revoked, ...).
    EventSubChanged,
    /// An overlay page connected or disconnected, an alert was queued or
    /// acknowledged, or the overlay key was regenerated: the dashboard
    /// re-fetches `/api/overlays`.
    OverlaysChanged,
    /// A file was added to or deleted from the media library: the
    /// dashboard re-fetches `/api/media`.
    MediaChanged,
    /// Something changed in the connections to the world outside Twitch
    /// (the Redis bridge connected or lost, a message came in): the
    /// dashboard re-fetches `/api/external`. Throttled by the sender.
    ExternalChanged,
}

impl LiveMessage {
    /// The topic name clients filter on (the SSE `event:` field).
    pub fn topic(&self) -> &'static str {
        match self {
            LiveMessage::Event(_) => "event",
            LiveMessage::EventDisplay { .. } => "event_display",
            LiveMessage::PluginsChanged => "plugins",
            LiveMessage::TtsRulesChanged => "tts_rules",
            LiveMessage::SpeechChanged => "speech",
            LiveMessage::EventSubChanged => "eventsub",
            LiveMessage::OverlaysChanged => "overlays",
            LiveMessage::MediaChanged => "media",
            LiveMessage::ExternalChanged => "external",
        }
    }
}

/// What a subscriber receives next.
#[derive(Debug)]
pub enum Received {
    Message(LiveMessage),
    /// The subscriber fell behind and `n` messages were skipped: it should
    /// re-fetch state rather than expect a complete history.
    Skipped(u64),
    Closed,
}

/// Publish/subscribe with a bounded buffer per subscriber: a slow subscriber
/// skips ahead and is told so; it never makes the publisher wait or grow
/// memory without bound.
#[derive(Clone)]
pub struct LiveFeed {
    tx: broadcast::Sender<LiveMessage>,
}

impl LiveFeed {
    /// A feed keeping up to `capacity` unread messages per subscriber.
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(1));
        LiveFeed { tx }
    }

    /// Sends to every current subscriber; no subscribers is fine.
    pub fn publish(&self, message: LiveMessage) {
        let _ = self.tx.send(message);
    }

    pub fn subscribe(&self) -> LiveSubscription {
        LiveSubscription {
            rx: self.tx.subscribe(),
        }
    }

    pub fn subscribers(&self) -> usize {
        self.tx.receiver_count()
    }
}

/// One subscriber's view of the feed.
pub struct LiveSubscription {
    rx: broadcast::Receiver<LiveMessage>,
}

impl LiveSubscription {
    pub async fn recv(&mut self) -> Received {
        match self.rx.recv().await {
            Ok(m) => Received::Message(m),
            Err(broadcast::error::RecvError::Lagged(n)) => Received::Skipped(n),
            Err(broadcast::error::RecvError::Closed) => Received::Closed,
        }
    }
}

/// JSON payload of an event on the wire (API listings and the live feed).
#[derive(Debug, Clone, Serialize)]
pub struct EventView<'a> {
    pub id: &'a str,
    pub seq: i64,
    pub kind: &'a str,
    pub source: &'a str,
    pub channel_id: &'a str,
    pub viewer: Option<&'a crate::event::Viewer>,
    pub occurred_at: String,
    pub received_at: String,
    pub details: crate::event::Details,
    pub display: Option<&'a serde_json::Value>,
}

impl<'a> From<&'a StoredEvent> for EventView<'a> {
    fn from(s: &'a StoredEvent) -> Self {
        use chrono::SecondsFormat;
        EventView {
            id: &s.event.id,
            seq: s.seq,
            kind: s.event.kind.as_str(),
            source: s.event.source.as_str(),
            channel_id: &s.event.channel_id,
            viewer: s.event.viewer.as_ref(),
            occurred_at: s
                .event
                .occurred_at
                .to_rfc3339_opts(SecondsFormat::Millis, true),
            received_at: s.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            details: s.event.data.to_details(),
            display: s.display.as_ref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, EventKind, Source};

    fn stored(n: i64) -> LiveMessage {
        LiveMessage::Event(Arc::new(StoredEvent {
            seq: n,
            event: Event::new(EventKind::Follow, Source::Test, "1"),
            created_at: crate::event::now_ms(),
            display: None,
        }))
    }

    #[tokio::test]
    async fn every_subscriber_gets_every_message() {
        let feed = LiveFeed::new(16);
        let mut a = feed.subscribe();
        let mut b = feed.subscribe();
        feed.publish(stored(1));
        for sub in [&mut a, &mut b] {
            match sub.recv().await {
                Received::Message(LiveMessage::Event(e)) => assert_eq!(e.seq, 1),
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn a_slow_subscriber_skips_ahead_instead_of_buffering() {
        let feed = LiveFeed::new(4);
        let mut slow = feed.subscribe();
        for n in 0..10 {
            feed.publish(stored(n));
        }
        assert!(matches!(slow.recv().await, Received::Skipped(6)));
        match slow.recv().await {
            Received::Message(LiveMessage::Event(e)) => assert_eq!(e.seq, 6),
            other => panic!("unexpected {other:?}"),
        }
    }
}
