//! The streamer's control of the overlay queues: the list
//! (`GET /api/overlays`, `GET /api/overlays/{name}`), pause and resume
//! (`POST /api/overlays/{name}/pause|resume`, kept across restarts), skip
//! the alert playing (`POST …/skip`), clear the queue (`POST …/clear`) and
//! remove one waiting alert (`DELETE …/queue/{id}`). Every change is
//! announced on the live feed (topic `overlays`).
//!
//! Any valid overlay name is an overlay (its queue may simply be empty), as
//! for the page and the socket; a name that cannot be one answers 404.

use std::collections::BTreeSet;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::{ApiError, ApiJson};
use super::overlay::{base_url, overlay_url, unknown_overlay};
use crate::actions::alerts::{DEFAULT_OVERLAY, OverlayControl, Waiting, valid_overlay_name};
use crate::live::LiveMessage;
use crate::store::overlay_alerts::QueueEntry;

/// How many waiting alerts each overlay lists (`pending` counts them all).
pub const LISTED_ALERTS: u32 = 50;

/// One overlay as the dashboard lists it.
#[derive(Debug, Serialize)]
pub struct OverlayView {
    pub name: String,
    /// Pages connected now.
    pub connected: usize,
    /// Alerts queued and not yet acknowledged (all of them, not only those
    /// in `queued`).
    pub pending: u64,
    /// Paused by the streamer: its pages are sent nothing until resumed.
    pub paused: bool,
    /// When it was paused (null when it is not).
    pub paused_at: Option<DateTime<Utc>>,
    /// The first waiting alerts, in the order they will play.
    pub queued: Vec<QueueEntry>,
    /// The URL to paste into an OBS browser source (with the key).
    pub url: String,
}

/// The views of `waiting`, with pages, pause state and URL.
fn views(state: &AppState, headers: &HeaderMap, waiting: Vec<Waiting>) -> Vec<OverlayView> {
    let connected = state.overlay_pages.counts();
    let pauses = state.overlays.pauses();
    let key = state.overlay_key.current();
    let base = base_url(headers);
    waiting
        .into_iter()
        .map(|w| OverlayView {
            connected: connected.get(&w.name).copied().unwrap_or(0),
            paused: pauses.is_paused(&w.name),
            paused_at: pauses.paused_at(&w.name),
            url: overlay_url(&base, &w.name, &key),
            pending: w.pending,
            queued: w.queued,
            name: w.name,
        })
        .collect()
}

fn unreadable(e: crate::store::StoreError) -> ApiError {
    tracing::error!(error = %e, "cannot read the overlay alert queue");
    ApiError::unavailable("cannot read the overlay alert queue")
}

/// `GET /api/overlays`: every overlay that has pages connected, alerts
/// waiting or a pause (and the default one), by name, with the URL to give
/// OBS and its waiting alerts.
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<ApiJson<Vec<OverlayView>>, ApiError> {
    let mut names: BTreeSet<String> = state.overlay_pages.counts().into_keys().collect();
    names.insert(DEFAULT_OVERLAY.to_owned());
    names.extend(state.overlays.pauses().names().map(str::to_owned));
    let waiting = state
        .overlays
        .waiting(names, true, LISTED_ALERTS)
        .await
        .map_err(unreadable)?;
    Ok(ApiJson(views(&state, &headers, waiting)))
}

/// The view of one overlay (404 for a name that cannot be one).
async fn view(state: &AppState, headers: &HeaderMap, name: &str) -> Result<OverlayView, ApiError> {
    checked(name)?;
    let waiting = state
        .overlays
        .waiting(BTreeSet::from([name.to_owned()]), false, LISTED_ALERTS)
        .await
        .map_err(unreadable)?;
    views(state, headers, waiting)
        .pop()
        .ok_or_else(|| ApiError::unavailable("cannot read the overlay alert queue"))
}

fn checked(name: &str) -> Result<(), ApiError> {
    if valid_overlay_name(name) {
        Ok(())
    } else {
        Err(unknown_overlay(name))
    }
}

/// `GET /api/overlays/{name}`: one overlay, as listed.
pub async fn one(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<ApiJson<OverlayView>, ApiError> {
    Ok(ApiJson(view(&state, &headers, &name).await?))
}

/// `POST /api/overlays/{name}/pause`: the overlay's pages finish what they
/// play and show nothing more; alerts queued meanwhile (speech included)
/// wait. Kept across restarts. Pausing a paused overlay changes nothing.
/// Answers with the overlay.
pub async fn pause(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<ApiJson<OverlayView>, ApiError> {
    checked(&name)?;
    let changed = state.overlays.pause(&name).await.map_err(|e| {
        tracing::error!(error = %e, overlay = name, "cannot store an overlay pause");
        ApiError::unavailable(format!("cannot pause the overlay: {e}"))
    })?;
    if changed {
        tracing::info!(overlay = name, "overlay paused from the dashboard");
    }
    Ok(ApiJson(view(&state, &headers, &name).await?))
}

/// `POST /api/overlays/{name}/resume`: the overlay's pages play every alert
/// that waited, in order, once. Resuming an overlay that is not paused
/// changes nothing. Answers with the overlay.
pub async fn resume(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<ApiJson<OverlayView>, ApiError> {
    checked(&name)?;
    let changed = state.overlays.resume(&name).await.map_err(|e| {
        tracing::error!(error = %e, overlay = name, "cannot store an overlay resume");
        ApiError::unavailable(format!("cannot resume the overlay: {e}"))
    })?;
    if changed {
        tracing::info!(overlay = name, "overlay resumed from the dashboard");
    }
    Ok(ApiJson(view(&state, &headers, &name).await?))
}

/// `POST /api/overlays/{name}/skip`: the overlay's pages stop what they
/// play now and go on with the next alert (none while paused). Answers how
/// many pages were told.
pub async fn skip(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<ApiJson<Value>, ApiError> {
    checked(&name)?;
    state.overlays.control(OverlayControl::Skip {
        overlay: name.clone(),
    });
    let pages = state
        .overlay_pages
        .counts()
        .get(&name)
        .copied()
        .unwrap_or(0);
    tracing::info!(
        overlay = name,
        pages,
        "overlay alert skipped from the dashboard"
    );
    Ok(ApiJson(json!({"overlay": name, "pages": pages})))
}

/// `POST /api/overlays/{name}/clear`: withdraws every alert waiting for the
/// overlay (a speech item being said stops too); pages drop them. Answers
/// how many.
pub async fn clear(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<ApiJson<Value>, ApiError> {
    checked(&name)?;
    let withdrawn = state.overlays.clear(&name).await.map_err(|e| {
        tracing::error!(error = %e, overlay = name, "cannot clear an overlay queue");
        ApiError::unavailable(format!("cannot change the overlay queue: {e}"))
    })?;
    if !withdrawn.is_empty() {
        // Speech may have been among them: the speech queue re-reads.
        state.feed.publish(LiveMessage::SpeechChanged);
    }
    tracing::info!(
        overlay = name,
        withdrawn = withdrawn.len(),
        "overlay queue cleared from the dashboard"
    );
    Ok(ApiJson(
        json!({"overlay": name, "withdrawn": withdrawn.len()}),
    ))
}

/// `DELETE /api/overlays/{name}/queue/{id}`: withdraws one waiting alert of
/// that overlay; 404 when it is not waiting there.
pub async fn remove(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, String)>,
) -> Result<ApiJson<Value>, ApiError> {
    checked(&name)?;
    if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(ApiError::bad_request(
            "not an alert id: ids are up to 64 letters, digits and -",
        ));
    }
    let removed = state.overlays.remove(&name, &id).await.map_err(|e| {
        tracing::error!(error = %e, overlay = name, "cannot remove a queued alert");
        ApiError::unavailable(format!("cannot change the overlay queue: {e}"))
    })?;
    if !removed {
        return Err(ApiError::not_found(format!(
            "{id:?} is not waiting in the queue of overlay {name:?}"
        )));
    }
    state.feed.publish(LiveMessage::SpeechChanged);
    tracing::info!(
        overlay = name,
        id,
        "queued alert removed from the dashboard"
    );
    Ok(ApiJson(json!({"removed": true, "overlay": name, "id": id})))
}
