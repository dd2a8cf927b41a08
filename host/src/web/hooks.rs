//! `POST /hooks/{name}`: the only routes reachable without the API token,
//! for services outside (Ko-fi at `/hooks/kofi`, the streamer's own at
//! `/hooks/<name>`); each authenticates with its own token or signature
//! (see [`crate::hooks`]). A hook that is not configured answers exactly as
//! an unknown route does. An address sending too many wrong tokens or
//! signatures is refused for a while, apart from the API's count, so hook
//! guessing never locks the dashboard out. `GET /api/hooks` (behind the
//! token) shows each hook's counters.

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::ApiError;
use crate::config::KOFI_HOOK;
use crate::hooks::signature::SIGNATURE_HEADER;
use crate::hooks::{HookError, HooksStatus};

/// The header a sender may name its event's id with (for de-duplication).
pub const EVENT_ID_HEADER: &str = "x-stagehand-event-id";

/// Takes one request of hook `name`: 200 `{"id", "status"}` (`stored`,
/// `duplicate` or `buffered`), 400 for a body not of the hook's shape, 401
/// for a missing or wrong token or signature, 404 for a hook not
/// configured, 429 after too many wrong ones from the address, 503 when
/// the event could not be stored (the sender retries).
pub async fn receive(
    State(state): State<AppState>,
    Path(name): Path<String>,
    request: Request,
) -> Response {
    if !state.hooks.exists(&name) {
        return ApiError::not_found(format!("no route for POST /hooks/{name}")).into_response();
    }
    let ip = super::server::peer(&request).map(|peer| peer.ip());
    let now = std::time::Instant::now();
    if let Some(wait) = ip.and_then(|ip| state.hook_failures.blocked(ip, now)) {
        state.hooks.refuse(
            &name,
            &HookError {
                status: StatusCode::TOO_MANY_REQUESTS,
                code: "too_many_failures",
                message: "refused an address that sent too many wrong tokens or signatures".into(),
            },
        );
        return super::guard::too_many_failures(wait);
    }
    let signature = header(request.headers(), SIGNATURE_HEADER);
    let event_id = header(request.headers(), EVENT_ID_HEADER);
    // The router's body cap has already refused anything larger.
    let body = match axum::body::to_bytes(request.into_body(), super::MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(e) => {
            return ApiError::bad_request(format!("cannot read the request body: {e}"))
                .into_response();
        }
    };
    let received = if name == KOFI_HOOK {
        state.hooks.receive_kofi(&body).await
    } else {
        state
            .hooks
            .receive(&name, &body, signature.as_deref(), event_id.as_deref())
            .await
    };
    match received {
        // Configured a moment ago, so this cannot happen; answer as unknown.
        None => ApiError::not_found(format!("no route for POST /hooks/{name}")).into_response(),
        Some(Ok(accepted)) => (StatusCode::OK, Json(accepted)).into_response(),
        Some(Err(e)) => {
            if e.status == StatusCode::UNAUTHORIZED
                && let Some(ip) = ip
            {
                state.hook_failures.record(ip, now);
            }
            ApiError::new(e.status, e.code, e.message).into_response()
        }
    }
}

/// A header's value as text, if it has one.
fn header(headers: &axum::http::HeaderMap, key: &str) -> Option<String> {
    headers
        .get(key)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// `GET /api/hooks`: every hook's counters (see [`HooksStatus`]).
pub async fn status(State(state): State<AppState>) -> Json<HooksStatus> {
    Json(state.hooks.status())
}
