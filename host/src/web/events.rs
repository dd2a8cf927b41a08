//! `GET /api/events`, `POST /api/events/test` and
//! `POST /api/events/{id}/replay`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::{ApiError, ApiJson, ApiQuery};
use crate::event::{Details, Event, EventData, EventKind, Source, Strictness, Viewer, json_type};
use crate::live::EventView;
use crate::pipeline::Outcome;
use crate::store::events::{self, EventQuery};

/// Listings return at most this many events.
pub const MAX_LIMIT: u32 = 500;
const DEFAULT_LIMIT: u32 = 50;

/// Query of `GET /api/events`. Numbers arrive as text so a bad one gets our
/// own message.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    limit: Option<String>,
    kind: Option<String>,
    before: Option<String>,
    channel_id: Option<String>,
}

/// Recent events, newest first.
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Response, ApiError> {
    let limit = match params.limit.as_deref() {
        None | Some("") => DEFAULT_LIMIT,
        Some(text) => match text.parse::<u32>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "limit must be a whole number from 1 to {MAX_LIMIT}, not {text:?}"
                )));
            }
        },
    };
    let query = EventQuery {
        channel_id: params.channel_id.filter(|s| !s.is_empty()),
        kind: params.kind.filter(|s| !s.is_empty()),
        before: params.before.filter(|s| !s.is_empty()),
        limit,
    };
    let before = query.before.clone();
    let found = state
        .store
        .read(move |conn| events::recent(conn, &query))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "listing events failed");
            ApiError::unavailable(format!("cannot read events: {e}"))
        })?;
    let Some(found) = found else {
        return Err(ApiError::bad_request(format!(
            "before: no event has id {:?}",
            before.unwrap_or_default()
        )));
    };
    let views: Vec<EventView<'_>> = found.iter().map(EventView::from).collect();
    Ok(axum::Json(views).into_response())
}

/// Body of `POST /api/events/test`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestEvent {
    kind: String,
    #[serde(default)]
    details: Option<Value>,
    #[serde(default)]
    viewer: Option<Viewer>,
    #[serde(default)]
    channel_id: Option<String>,
    /// Lets a caller replay the same event to see de-duplication.
    #[serde(default)]
    id: Option<String>,
}

/// Runs a test event through the pipeline; answers once it is stored.
pub async fn post_test(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<TestEvent>,
) -> Result<Response, ApiError> {
    let event = build_test_event(body, &state.channel_id)?;
    let id = event.id.clone();
    match state.events.submit(event).await {
        Ok(Outcome::Stored(stored)) => Ok((
            StatusCode::CREATED,
            axum::Json(EventView::from(stored.as_ref())),
        )
            .into_response()),
        Ok(Outcome::Duplicate) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "duplicate_event",
            format!("an event with id {id:?} was already handled"),
        )),
        Ok(Outcome::Buffered) => Ok((
            StatusCode::ACCEPTED,
            axum::Json(serde_json::json!({
                "id": id,
                "status": "buffered",
                "message": "the database cannot be written now (is the disk full?); the event waits in memory and is stored as soon as it can be",
            })),
        )
            .into_response()),
        Ok(Outcome::Failed(why)) => Err(ApiError::unavailable(format!(
            "the event was not stored: {why}"
        ))),
        Err(closed) => Err(ApiError::unavailable(closed.to_string())),
    }
}

/// Runs a stored event's actions again (the dashboard's "replay" button,
/// for an alert that was missed or needs showing again): the action plugins
/// that want its kind get it once more, exactly as the pipeline handed it
/// over the first time. Nothing new is stored and the live feed hears of no
/// new event; what the plugins decide (alerts, speech) follows as usual.
/// Answers 202 with how many plugins it was queued for.
pub async fn replay(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let wanted = id.clone();
    let stored = state
        .store
        .read(move |conn| events::by_id(conn, &wanted))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "reading an event to replay failed");
            ApiError::unavailable(format!("cannot read the event: {e}"))
        })?
        .ok_or_else(|| ApiError::not_found(format!("no event has id {id:?}")))?;
    let stored = std::sync::Arc::new(stored);
    let plugins = state.plugins.dispatch(&stored, None);
    tracing::info!(event_id = %id, plugins, "event replayed");
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(json!({"replayed": id, "plugins": plugins})),
    )
        .into_response())
}

/// Validates a test event body and turns it into an [`Event`].
pub fn build_test_event(body: TestEvent, default_channel: &str) -> Result<Event, ApiError> {
    let kind_name = body.kind.trim();
    if !valid_kind(kind_name) {
        return Err(ApiError::bad_request(format!(
            "kind {kind_name:?} is not an event kind: use lowercase names like channel.follow"
        )));
    }
    let mut details: Details = match body.details {
        None | Some(Value::Null) => Details::new(),
        Some(Value::Object(map)) => map,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "details must be a JSON object, not {}",
                json_type(&other)
            )));
        }
    };
    let kind = EventKind::normalize(kind_name, &mut details);
    let data = EventData::from_details(&kind, &details, Strictness::Strict)
        .map_err(|e| ApiError::bad_request(format!("{e}")))?;
    let channel_id = body
        .channel_id
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| default_channel.to_owned());
    let mut event = Event::new(kind, Source::Test, channel_id).with_data(data);
    if let Some(id) = body.id {
        if id.is_empty() || id.len() > 128 {
            return Err(ApiError::bad_request("id must be 1 to 128 characters"));
        }
        event.id = id;
    }
    if let Some(viewer) = body.viewer {
        if viewer.id.is_empty() || viewer.login.is_empty() {
            return Err(ApiError::bad_request(
                "viewer needs a non-empty id and login",
            ));
        }
        event.viewer = Some(viewer);
    }
    Ok(event)
}

/// Whether `name` can be an event kind: lowercase names like
/// `channel.follow` (test events and the editor's samples).
pub(super) fn valid_kind(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> TestEvent {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_test_event_gets_the_test_source_and_default_channel() {
        let e = build_test_event(
            body(json!({"kind": "channel.follow", "details": {"username": "a"}})),
            "42",
        )
        .unwrap();
        assert_eq!(e.kind, EventKind::Follow);
        assert_eq!(e.source, Source::Test);
        assert_eq!(e.channel_id, "42");
        assert_eq!(e.details()["username"], json!("a"));
    }

    #[test]
    fn legacy_names_are_normalized() {
        let e = build_test_event(body(json!({"kind": "channel.user.timed_out"})), "1").unwrap();
        assert_eq!(e.kind, EventKind::Ban);
        assert_eq!(e.details()["is_permanent"], json!(false));
    }

    #[test]
    fn unknown_kinds_are_accepted() {
        let e = build_test_event(body(json!({"kind": "channel.hype_train.begin"})), "1").unwrap();
        assert_eq!(e.kind.as_str(), "channel.hype_train.begin");
    }

    #[test]
    fn bad_bodies_are_refused_with_a_reason() {
        for (b, needle) in [
            (json!({"kind": ""}), "not an event kind"),
            (json!({"kind": "Channel Follow"}), "not an event kind"),
            (
                json!({"kind": "channel.follow", "details": [1]}),
                "an array",
            ),
            (
                json!({"kind": "channel.follow", "details": "x"}),
                "a string",
            ),
            (json!({"kind": "channel.follow", "id": ""}), "id must be"),
            (
                json!({"kind": "channel.follow", "viewer": {"id": "", "login": "a", "display_name": "A"}}),
                "viewer",
            ),
        ] {
            let err = build_test_event(body(b.clone()), "1").unwrap_err();
            assert_eq!(err.status, StatusCode::BAD_REQUEST);
            assert!(err.message.contains(needle), "{b}: {}", err.message);
        }
    }
}
