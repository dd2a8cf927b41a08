//! `GET /api/eventsub` and `POST /api/eventsub/{connect,disconnect}`: the
//! EventSub connection's status (the dashboard's EventSub panel) and its
//! controls.

use axum::Json;
use axum::extract::State;

use super::AppState;
use super::error::ApiError;
use crate::twitch::link::LinkStatus;

/// Connected or not, the session, every subscription and its status, the
/// last message time and the reconnect count, plus the login's state.
pub async fn status(State(state): State<AppState>) -> Json<LinkStatus> {
    Json(state.twitch.status())
}

/// Connects (no-op when connected); 409 when there is no usable login.
pub async fn connect(State(state): State<AppState>) -> Result<Json<LinkStatus>, ApiError> {
    let session = state.twitch.session().ok_or_else(not_logged_in)?;
    if !session.connect().await {
        return Err(ApiError::unavailable("the EventSub session has stopped"));
    }
    Ok(Json(state.twitch.status()))
}

/// Closes the socket and stays disconnected until `connect`.
pub async fn disconnect(State(state): State<AppState>) -> Result<Json<LinkStatus>, ApiError> {
    let session = state.twitch.session().ok_or_else(not_logged_in)?;
    if !session.disconnect().await {
        return Err(ApiError::unavailable("the EventSub session has stopped"));
    }
    Ok(Json(state.twitch.status()))
}

fn not_logged_in() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::CONFLICT,
        "not_logged_in",
        "not connected to Twitch: run `stagehand login` (or set TWITCH_ACCESS_TOKEN) and restart",
    )
}
