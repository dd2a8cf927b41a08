//! `GET /api/live`: the live feed as server-sent events, for the dashboard.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};

use super::AppState;
use crate::live::{EventView, LiveMessage, Received};

/// Streams every live message; a client that falls behind gets a `skipped`
/// message (re-fetch) instead of an ever-growing buffer.
pub async fn stream(
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let subscription = state.feed.subscribe();
    let stream = futures_util::stream::unfold(subscription, |mut sub| async move {
        let event = match sub.recv().await {
            Received::Message(message) => to_sse(&message),
            Received::Skipped(n) => SseEvent::default().event("skipped").data(n.to_string()),
            Received::Closed => return None,
        };
        Some((Ok(event), sub))
    })
    .take_until(state.shutdown.clone().cancelled_owned());
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

fn to_sse(message: &LiveMessage) -> SseEvent {
    let base = SseEvent::default().event(message.topic());
    let data = match message {
        LiveMessage::Event(stored) => serde_json::to_string(&EventView::from(stored.as_ref())),
        LiveMessage::EventDisplay { id, display } => {
            serde_json::to_string(&serde_json::json!({"id": id, "display": display}))
        }
        // Change notices: the client re-fetches what it shows.
        LiveMessage::PluginsChanged
        | LiveMessage::TtsRulesChanged
        | LiveMessage::SpeechChanged
        | LiveMessage::EventSubChanged
        | LiveMessage::OverlaysChanged
        | LiveMessage::MediaChanged
        | LiveMessage::ExternalChanged => Ok("{}".to_owned()),
    };
    match data {
        Ok(json) => base.data(json),
        Err(e) => base.comment(format!("unserializable message: {e}")),
    }
}
