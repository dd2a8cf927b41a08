//! Chat read aloud, from the dashboard: the speech settings (who is read,
//! limits), the queue with skip and remove, and TTS grants. Every change is
//! pushed on the live feed (`speech` for the queue and settings, `tts_rules`
//! for grants).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::AppState;
use super::error::{ApiError, ApiJson};
use super::tts::{normalize_login, unknown_viewer};
use crate::event::now_ms;
use crate::live::LiveMessage;
use crate::store::overlay_alerts::QueuedSpeech;
use crate::store::tts_grants::{self, GrantSource, TtsGrant};
use crate::store::viewers;
use crate::tts::TtsSettings;
use crate::tts::settings::MAX_GRANT_MINUTES;

/// `GET /api/tts/settings`.
pub async fn get_settings(State(state): State<AppState>) -> axum::Json<TtsSettings> {
    axum::Json(state.speech.settings())
}

/// `PUT /api/tts/settings` with any of the fields: 200 with all of them, or
/// 422 `invalid_settings` naming the bad one (nothing changes).
pub async fn put_settings(
    State(state): State<AppState>,
    ApiJson(patch): ApiJson<Value>,
) -> Result<axum::Json<TtsSettings>, ApiError> {
    match state.speech.update_settings(&patch).await {
        Ok(settings) => {
            tracing::info!("TTS settings changed from the dashboard");
            Ok(axum::Json(settings))
        }
        Err(Ok(reason)) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_settings",
            reason,
        )),
        Err(Err(e)) => Err(ApiError::unavailable(format!(
            "cannot store the TTS settings: {e}"
        ))),
    }
}

/// The queue as the dashboard shows it, with the host's clock.
#[derive(Debug, Serialize)]
pub struct QueueView {
    pub now: DateTime<Utc>,
    pub items: Vec<QueuedSpeech>,
}

/// `GET /api/tts/queue`: speech waiting or playing, in order.
pub async fn queue(State(state): State<AppState>) -> Result<axum::Json<QueueView>, ApiError> {
    let items = state
        .speech
        .queue()
        .await
        .map_err(|e| ApiError::unavailable(format!("cannot read the speech queue: {e}")))?;
    Ok(axum::Json(QueueView {
        now: now_ms(),
        items,
    }))
}

/// `POST /api/tts/skip`: the speech overlay stops what it says now.
pub async fn skip(State(state): State<AppState>) -> axum::Json<Value> {
    let overlay = state.speech.skip();
    // The pages of the speaking overlay, not every socket listening.
    let pages = state
        .overlay_pages
        .counts()
        .get(&overlay)
        .copied()
        .unwrap_or(0);
    tracing::info!(pages, "speech skipped from the dashboard");
    axum::Json(json!({"pages": pages}))
}

/// `DELETE /api/tts/queue/{id}`: the item is not said (pages drop it).
pub async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    if id.is_empty() || id.len() > 64 {
        return Err(ApiError::bad_request("not a queue item id"));
    }
    let removed = state
        .speech
        .remove(&id)
        .await
        .map_err(|e| ApiError::unavailable(format!("cannot change the speech queue: {e}")))?;
    if removed {
        Ok(axum::Json(json!({"removed": true, "id": id})))
    } else {
        Err(ApiError::not_found(format!(
            "{id:?} is not waiting in the speech queue"
        )))
    }
}

/// A grant as the dashboard shows it.
#[derive(Debug, Serialize)]
pub struct GrantView {
    pub login: String,
    pub display_name: String,
    pub source: GrantSource,
    pub granted_by: Option<String>,
    pub granted_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl From<TtsGrant> for GrantView {
    fn from(g: TtsGrant) -> Self {
        GrantView {
            login: g.viewer.login,
            display_name: g.viewer.display_name,
            source: g.source,
            granted_by: g.granted_by,
            granted_at: g.granted_at,
            expires_at: g.expires_at,
        }
    }
}

/// `GET /api/tts/grants`: grants in force, soonest expiry first.
pub async fn grants(State(state): State<AppState>) -> Result<axum::Json<Value>, ApiError> {
    let channel = state.channel_id.to_string();
    let now = now_ms();
    let grants = state
        .store
        .read(move |c| tts_grants::active(c, &channel, now))
        .await
        .map_err(|e| ApiError::unavailable(format!("cannot read the TTS grants: {e}")))?;
    let grants: Vec<GrantView> = grants.into_iter().map(GrantView::from).collect();
    Ok(axum::Json(json!({"now": now, "grants": grants})))
}

/// Body of `POST /api/tts/grants`; minutes signed so a negative number gets
/// a clear message.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewGrant {
    login: String,
    minutes: i64,
}

/// `POST /api/tts/grants`: lets a viewer be read aloud for some minutes.
pub async fn grant(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewGrant>,
) -> Result<Response, ApiError> {
    let login = normalize_login(&body.login)?;
    if !(1..=i64::from(MAX_GRANT_MINUTES)).contains(&body.minutes) {
        return Err(ApiError::bad_request(format!(
            "minutes must be 1 to {MAX_GRANT_MINUTES}"
        )));
    }
    let minutes = body.minutes as u32;
    let channel = state.channel_id.to_string();
    let who = login.clone();
    let granted = state
        .store
        .write(move |c| {
            let Some(viewer) = viewers::by_login(c, &who)? else {
                return Ok(None);
            };
            let until = tts_grants::grant(
                c,
                &channel,
                viewer.id,
                minutes,
                GrantSource::Dashboard,
                Some("dashboard"),
                now_ms(),
            )?;
            Ok(Some((viewer, until)))
        })
        .await
        .map_err(|e| ApiError::unavailable(format!("cannot store the TTS grant: {e}")))?;
    let (viewer, until) = granted.ok_or_else(|| unknown_viewer(&login))?;
    state.feed.publish(LiveMessage::TtsRulesChanged);
    tracing::info!(login = %viewer.login, minutes, "TTS granted from the dashboard");
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"login": viewer.login, "display_name": viewer.display_name, "expires_at": until})),
    )
        .into_response())
}

/// `DELETE /api/tts/grants/{login}`: ends their grant now.
pub async fn revoke(
    State(state): State<AppState>,
    Path(login): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let login = normalize_login(&login)?;
    let channel = state.channel_id.to_string();
    let who = login.clone();
    let revoked = state
        .store
        .write(move |c| {
            let Some(viewer) = viewers::by_login(c, &who)? else {
                return Ok(None);
            };
            tts_grants::revoke(c, &channel, viewer.id, now_ms()).map(Some)
        })
        .await
        .map_err(|e| ApiError::unavailable(format!("cannot revoke the TTS grant: {e}")))?;
    match revoked {
        None => Err(unknown_viewer(&login)),
        Some(false) => Err(ApiError::not_found(format!("{login:?} holds no TTS grant"))),
        Some(true) => {
            state.feed.publish(LiveMessage::TtsRulesChanged);
            Ok(axum::Json(json!({"removed": true, "login": login})))
        }
    }
}
