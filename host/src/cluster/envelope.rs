//! What travels on the event stream: the normalised event and when the
//! ingest node received it (the start of the event → overlay latency).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::Event;

/// One event on the bus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub event: Event,
    /// When the ingest node read it from Twitch (or its poller found it).
    pub received_at: DateTime<Utc>,
}

/// Why a message on the stream is not an event.
#[derive(Debug, thiserror::Error)]
#[error("not an event envelope: {0}")]
pub struct EnvelopeError(String);

impl Envelope {
    /// The bytes published.
    pub fn encode(&self) -> Vec<u8> {
        // An Event always serialises (its JSON form is built from typed data).
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads a published envelope; anything else is an error naming what
    /// was wrong, never a panic (the stream may carry anything).
    pub fn decode(bytes: &[u8]) -> Result<Envelope, EnvelopeError> {
        serde_json::from_slice(bytes).map_err(|e| EnvelopeError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventData, Source};

    #[test]
    fn an_envelope_round_trips_and_garbage_is_an_error() {
        let event = Event::of(
            EventData::Follow(crate::event::data::Follow::new("Ada", Utc::now())),
            Source::Eventsub,
            "1234",
        );
        let envelope = Envelope {
            event,
            received_at: Utc::now(),
        };
        let back = Envelope::decode(&envelope.encode()).expect("decodes");
        assert_eq!(back.event.id, envelope.event.id);
        assert_eq!(back.event.channel_id, "1234");
        assert!(Envelope::decode(b"{\"event\":1}").is_err());
        assert!(Envelope::decode(b"\xff").is_err());
    }
}
