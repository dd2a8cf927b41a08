//! `GET /api/plugins`, `POST /api/plugins/{name}/grant` and
//! `POST /api/plugins/{name}/reset`.

use axum::Json;
use axum::extract::{Path, State};

use super::AppState;
use super::error::ApiError;
use crate::plugins::worker::Status;

/// Every plugin: name, version, status, last error, permissions.
pub async fn list(State(state): State<AppState>) -> Json<Vec<Status>> {
    Json(state.plugins.list())
}

/// The streamer allows everything the plugin's manifest asks for.
pub async fn grant(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Status>, ApiError> {
    match state.plugins.grant(&name).await {
        Ok(Some(status)) => Ok(Json(status)),
        Ok(None) => Err(ApiError::not_found(format!("no plugin named {name:?}"))),
        Err(e) => Err(ApiError::unavailable(format!(
            "cannot store the grant: {e}"
        ))),
    }
}

/// Takes a plugin out of quarantine (or retries a failed load).
pub async fn reset(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Status>, ApiError> {
    state
        .plugins
        .reset(&name)
        .await
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no plugin named {name:?}")))
}
