//! `GET /api/polling` and `PUT /api/polling/{name}`: each poller's interval,
//! whether it runs, its last run and error, and the interval in force now.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;

use super::AppState;
use super::error::{ApiError, ApiJson};
use crate::polling::schedule::{PollerStatus, ScheduleError};
use crate::store::polling_config::PollingRow;

/// Every poller (and the role sync) with its schedule and last outcome.
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<PollerStatus>>, ApiError> {
    state
        .polling
        .status()
        .await
        .map(Json)
        .map_err(|e| ApiError::unavailable(format!("cannot read the polling schedule: {e}")))
}

/// The body of `PUT /api/polling/{name}`: either field may be left out.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PollingChange {
    pub interval_secs: Option<u64>,
    pub enabled: Option<bool>,
}

/// Changes a poller's fast interval and/or enabled flag; takes effect at once.
pub async fn update(
    State(state): State<AppState>,
    Path(name): Path<String>,
    ApiJson(change): ApiJson<PollingChange>,
) -> Result<Json<PollingRow>, ApiError> {
    if change.interval_secs.is_none() && change.enabled.is_none() {
        return Err(ApiError::bad_request("send interval_secs and/or enabled"));
    }
    state
        .polling
        .set(&name, change.interval_secs, change.enabled)
        .await
        .map(Json)
        .map_err(|e| match e {
            ScheduleError::Unknown(_) => ApiError::not_found(e.to_string()),
            ScheduleError::BadInterval => ApiError::bad_request(e.to_string()),
            ScheduleError::Store(e) => {
                ApiError::unavailable(format!("cannot store the change: {e}"))
            }
        })
}
