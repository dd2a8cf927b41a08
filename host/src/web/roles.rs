//! `POST /api/roles/sync`: the dashboard's "Sync from Twitch" button.

use axum::Json;
use axum::extract::State;

use super::AppState;
use super::error::ApiError;
use crate::polling::role_sync::{SyncOutcome, SyncTrigger};

/// Runs the role sync now (`manual` trigger) and answers its result: counts
/// per role type and an error per failed type, or `"status": "skipped"` with
/// `next_allowed_at` when a manual sync ran less than 5 minutes ago.
pub async fn sync(State(state): State<AppState>) -> Result<Json<SyncOutcome>, ApiError> {
    let sync = state.role_sync.as_ref().ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "not_logged_in",
            "not connected to Twitch: run `stagehand login` (or set TWITCH_ACCESS_TOKEN) and restart",
        )
    })?;
    Ok(Json(sync.sync(SyncTrigger::Manual).await))
}
