//! `GET /api/viewers`: the dashboard's Viewers screen: who holds a role or
//! a subscription in the channel now, with counts per role, so the streamer
//! can see what the role sync ("Sync from Twitch") found.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::{ApiError, ApiQuery};
use crate::store::viewer_list::{self, HeldRole, HeldSubscription, Holding, HoldingCounts};

/// Listings return at most this many viewers.
pub const MAX_LIMIT: u32 = 1000;
const DEFAULT_LIMIT: u32 = 200;

/// Query of `GET /api/viewers`: `role` (vip, moderator, broadcaster or
/// subscriber), `search` (a login prefix) and `limit`. Numbers and names
/// arrive as text so a bad one gets our own message.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    role: Option<String>,
    search: Option<String>,
    limit: Option<String>,
}

/// One viewer as listed.
#[derive(Debug, Serialize)]
pub struct ViewerView {
    /// Twitch user id.
    pub id: String,
    pub login: String,
    pub display_name: String,
    pub roles: Vec<HeldRole>,
    pub subscription: Option<HeldSubscription>,
    /// When the host first saw them.
    pub first_seen_at: DateTime<Utc>,
}

/// The answer: the viewers matching, how many match in all (the list stops
/// at `limit`), and how many hold each role whatever the filter.
#[derive(Debug, Serialize)]
pub struct ViewerListing {
    pub viewers: Vec<ViewerView>,
    pub total: i64,
    pub counts: HoldingCounts,
}

/// Lists viewers holding a role or a subscription, by login.
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<ViewerListing>, ApiError> {
    let filter = match params.role.as_deref() {
        None | Some("") => None,
        Some(text) => Some(
            serde_json::from_value::<Holding>(serde_json::Value::String(text.to_owned())).map_err(
                |_| {
                    ApiError::bad_request(format!(
                        "role must be vip, moderator, broadcaster or subscriber, not {text:?}"
                    ))
                },
            )?,
        ),
    };
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
    let search = params.search.unwrap_or_default();
    if search.len() > 64 {
        return Err(ApiError::bad_request(
            "search is a login prefix of at most 64 characters",
        ));
    }
    let channel = state.channel_id.to_string();
    let (rows, total, counts) = state
        .store
        .read(move |c| {
            let (rows, total) = viewer_list::list(c, &channel, filter, &search, limit)?;
            Ok((rows, total, viewer_list::counts(c, &channel)?))
        })
        .await
        .map_err(|e| ApiError::unavailable(format!("cannot read the viewers: {e}")))?;
    let viewers = rows
        .into_iter()
        .map(|row| ViewerView {
            id: row.viewer.twitch_id,
            login: row.viewer.login,
            display_name: row.viewer.display_name,
            roles: row.roles,
            subscription: row.subscription,
            first_seen_at: row.viewer.created_at,
        })
        .collect();
    Ok(Json(ViewerListing {
        viewers,
        total,
        counts,
    }))
}
