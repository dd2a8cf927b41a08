//! Between the host's types and the contract's: events in, displays and
//! alerts out (as the JSON the API and the overlay speak).

use serde_json::{Value, json};

use super::runtime::wit;
use crate::event::{Event, Source};

/// The contract's view of an event.
pub fn event_to_wit(event: &Event) -> wit::Event {
    wit::Event {
        id: event.id.clone(),
        kind: event.kind.as_str().to_owned(),
        source: match event.source {
            Source::Eventsub => wit::Source::Eventsub,
            Source::Poll => wit::Source::Poll,
            Source::Chat => wit::Source::Chat,
            Source::Test => wit::Source::Test,
        },
        channel_id: event.channel_id.clone(),
        viewer: event.viewer.as_ref().map(|v| wit::Viewer {
            id: v.id.clone(),
            login: v.login.clone(),
            display_name: v.display_name.clone(),
        }),
        occurred_at_ms: event.occurred_at.timestamp_millis().max(0) as u64,
        details: serde_json::to_string(&event.data.to_details()).unwrap_or_else(|_| "{}".into()),
    }
}

/// A formatter's display as stored with the event.
pub fn display_to_json(d: &wit::Display) -> Value {
    json!({"label": d.label, "icon": d.icon, "color": d.color, "text": d.text})
}

/// An alert's fields as queued for an overlay.
pub fn alert_to_json(a: &wit::Alert) -> Value {
    json!({
        "title": a.title,
        "message": a.message,
        "image_url": a.image_url,
        "sound_url": a.sound_url,
        "video_url": a.video_url,
        "tts": a.tts,
        "duration_ms": a.duration_ms,
        "html": a.html,
        "css": a.css,
    })
}

/// The role names of `roles`, for the API.
pub fn role_name(role: wit::Role) -> &'static str {
    match role {
        wit::Role::Formatter => "formatter",
        wit::Role::Actions => "actions",
        wit::Role::Renderer => "renderer",
    }
}
