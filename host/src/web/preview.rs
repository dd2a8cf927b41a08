//! `POST /api/plugins/{name}/preview`: the alerts a plugin would show for
//! sample events with unsaved settings (the alert editor's preview pane),
//! and optionally queues them on the real overlay ("Send test").
//!
//! Body: `{"settings": {...}?, "events": [{"kind", "details"?, "viewer"?}],
//! "send": false}`. Each event starts from a complete sample of its kind;
//! `details` replaces the fields it names (`{"bits": 1000}` for a variation
//! of big cheers). Answers `{"results": [{"kind", "alerts": [{"overlay",
//! "alert"}], "error"}], "queued": [alert ids]}`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::{ApiError, ApiJson};
use super::plugins::SettingsRejection;
use crate::event::{Event, EventData, EventKind, Source, Strictness, Viewer, json_type};
use crate::plugins::preview::{MAX_EVENTS, PreviewError, PreviewResult};

/// Body of a preview request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    /// Draft settings; the plugin's current ones when absent.
    #[serde(default)]
    settings: Option<Value>,
    events: Vec<SampleEvent>,
    /// Also queue the alerts on their overlays, as a real event would.
    #[serde(default)]
    send: bool,
}

/// One sample event: a kind and the fields that differ from its sample.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleEvent {
    kind: String,
    #[serde(default)]
    details: Option<Value>,
    #[serde(default)]
    viewer: Option<Viewer>,
}

/// Runs the preview (see the module documentation).
pub async fn preview(
    State(state): State<AppState>,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<PreviewRequest>,
) -> Result<Json<Value>, SettingsRejection> {
    if body.events.is_empty() || body.events.len() > MAX_EVENTS {
        return Err(ApiError::bad_request(format!(
            "events must list 1 to {MAX_EVENTS} sample events"
        ))
        .into());
    }
    if let Some(settings) = &body.settings
        && !settings.is_object()
    {
        return Err(ApiError::bad_request(format!(
            "settings must be a JSON object, not {}",
            json_type(settings)
        ))
        .into());
    }
    // A bad sample is reported in its own place; the others still run.
    let samples: Vec<Result<Event, String>> = body
        .events
        .into_iter()
        .map(|sample| sample_event(sample, &state.channel_id))
        .collect();
    let events: Vec<Event> = samples
        .iter()
        .filter_map(|s| s.as_ref().ok().cloned())
        .collect();
    let mut ran = if events.is_empty() {
        Vec::new()
    } else {
        state
            .plugins
            .preview(&name, body.settings, events)
            .await
            .map_err(preview_error)?
    }
    .into_iter();
    let results: Vec<PreviewResult> = samples
        .into_iter()
        .map(|sample| match sample {
            Ok(_) => ran.next().unwrap_or_else(|| PreviewResult {
                kind: String::new(),
                alerts: Vec::new(),
                error: Some("the preview did not run this event".into()),
            }),
            Err(why) => PreviewResult {
                kind: String::new(),
                alerts: Vec::new(),
                error: Some(format!("bad sample event: {why}")),
            },
        })
        .collect();
    let mut queued = Vec::new();
    if body.send {
        for alert in results.iter().flat_map(|r| &r.alerts) {
            let id = state
                .overlays
                .enqueue(
                    &alert.overlay,
                    None,
                    Some(name.clone()),
                    alert.alert.clone(),
                )
                .await
                .map_err(|e| ApiError::unavailable(format!("cannot queue the alert: {e}")))?;
            queued.push(id);
        }
        if !queued.is_empty() {
            tracing::info!(
                plugin = name,
                alerts = queued.len(),
                "test alerts sent from the editor"
            );
        }
    }
    Ok(Json(json!({"results": results, "queued": queued})))
}

/// The sample of `sample.kind` with `sample.details` laid over it.
fn sample_event(sample: SampleEvent, channel: &str) -> Result<Event, String> {
    let kind_name = sample.kind.trim();
    if !super::events::valid_kind(kind_name) {
        return Err(format!(
            "kind {kind_name:?} is not an event kind: use lowercase names like channel.follow"
        ));
    }
    let mut overrides = match sample.details {
        None | Some(Value::Null) => Default::default(),
        Some(Value::Object(map)) => map,
        Some(other) => {
            return Err(format!(
                "details must be a JSON object, not {}",
                json_type(&other)
            ));
        }
    };
    let kind = EventKind::normalize(kind_name, &mut overrides);
    let mut details = crate::event::data::sample(&kind).to_details();
    details.extend(overrides);
    let data =
        EventData::from_details(&kind, &details, Strictness::Strict).map_err(|e| e.to_string())?;
    let mut event = Event::new(kind, Source::Test, channel).with_data(data);
    event.viewer = sample.viewer.or_else(|| {
        Some(Viewer {
            id: "1000".into(),
            login: "janedoe".into(),
            display_name: "JaneDoe".into(),
        })
    });
    Ok(event)
}

fn preview_error(e: PreviewError) -> SettingsRejection {
    if let PreviewError::Invalid(invalid) = e {
        return SettingsRejection::Invalid(invalid);
    }
    let status = match &e {
        PreviewError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        PreviewError::NoPlugin(_) => StatusCode::NOT_FOUND,
        PreviewError::NotRunning(_) => StatusCode::CONFLICT,
        PreviewError::Refused(_) => StatusCode::UNPROCESSABLE_ENTITY,
        PreviewError::Busy => StatusCode::TOO_MANY_REQUESTS,
        PreviewError::Failed(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    let code = match &e {
        PreviewError::Invalid(_) => "invalid_settings",
        PreviewError::NoPlugin(_) => "not_found",
        PreviewError::NotRunning(_) => "not_running",
        PreviewError::Refused(_) => "settings_refused",
        PreviewError::Busy => "busy",
        PreviewError::Failed(_) => "unavailable",
    };
    ApiError::new(status, code, e.to_string()).into()
}
