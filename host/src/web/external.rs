//! `GET /api/external`: the connections to the world outside Twitch, for
//! the dashboard's External page. Each kind of connection has its own part
//! (`redis`: the Redis bridge, see [`crate::external::redis`]); the
//! dashboard re-fetches on the `external` live topic.

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::AppState;
use crate::external::redis::RedisView;

/// The answer of `GET /api/external`.
#[derive(Debug, Serialize)]
pub struct ExternalView {
    pub redis: RedisView,
}

/// The bridge's state now.
pub async fn status(State(state): State<AppState>) -> Json<ExternalView> {
    Json(ExternalView {
        redis: state.redis.view(),
    })
}
