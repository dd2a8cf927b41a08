//! The OAuth endpoints under `/oauth2`, as Twitch's id server answers
//! them: device-code flow (`/device`, `/token` with the device grant),
//! rotating refresh (`/token` with `refresh_token`), app access tokens
//! (`/token` with `client_credentials`), `/validate` and
//! `/revoke`. Parameters are read from the query and the form body alike.
//! Errors are `{"status": .., "message": ..}`.
//!
//! `GET /oauth2/activate?device-code=` (the `verification_uri`) approves a
//! pending grant, so a person trying `stagehand login` against the mock can
//! "log in" in a browser.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use serde_json::json;

use super::helix::auth_token;
use super::params::Params;
use super::tokens::{Issued, OauthError};
use super::{Shared, lock};

/// The routes, to nest under `/oauth2`.
pub(super) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/device", post(device))
        .route("/token", post(token))
        .route("/validate", get(validate))
        .route("/revoke", post(revoke))
        .route("/activate", get(activate))
}

fn error(status: u16, message: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (
        code,
        axum::Json(json!({"status": status, "message": message})),
    )
        .into_response()
}

fn oauth_error(e: OauthError) -> Response {
    error(400, &e.to_string())
}

fn issued(issued: Issued) -> Response {
    axum::Json(json!({
        "access_token": issued.access_token,
        "refresh_token": issued.refresh_token,
        "expires_in": issued.expires_in,
        "scope": issued.scopes,
        "token_type": "bearer",
    }))
    .into_response()
}

/// `POST /oauth2/device` (`client_id`, `scopes` space-separated).
async fn device(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let params = Params::merged(query.as_deref(), &body);
    let Some(client_id) = params.get("client_id") else {
        return error(400, "missing client_id");
    };
    if client_id != shared.options.client_id {
        return error(400, "invalid client");
    }
    let scopes: Vec<String> = match &shared.options.device_grant_scopes {
        Some(scopes) => scopes.clone(),
        None => params
            .get("scopes")
            .or(params.get("scope"))
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
    };
    let expires_in = shared.options.device_code_lifetime;
    let start = lock(&shared.tokens).start_device(client_id, scopes, expires_in, Utc::now());
    axum::Json(json!({
        "device_code": start.device_code,
        "expires_in": expires_in.as_secs(),
        "interval": shared.options.device_interval_secs,
        "user_code": start.user_code,
        "verification_uri": format!(
            "{}/oauth2/activate?public=true&device-code={}",
            shared.http_base, start.user_code
        ),
    }))
    .into_response()
}

/// `POST /oauth2/token` with the device grant, a refresh token or the
/// client credentials.
async fn token(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let params = Params::merged(query.as_deref(), &body);
    let now = Utc::now();
    match params.get("grant_type") {
        Some("urn:ietf:params:oauth:grant-type:device_code") => {
            let Some(device_code) = params.get("device_code") else {
                return error(400, "missing device_code");
            };
            let broadcaster = lock(&shared.channels)
                .default_channel()
                .broadcaster()
                .clone();
            let result = lock(&shared.tokens).poll_device(
                device_code,
                params.get("client_id"),
                (&broadcaster.id, &broadcaster.login),
                shared.options.auto_approve_device,
                now,
            );
            result.map_or_else(oauth_error, issued)
        }
        Some("refresh_token") => {
            let Some(refresh_token) = params.get("refresh_token") else {
                return error(400, "missing refresh token");
            };
            let result = lock(&shared.tokens).refresh(refresh_token, params.get("client_id"), now);
            result.map_or_else(oauth_error, issued)
        }
        Some("client_credentials") => {
            let (Some(client_id), Some(secret)) =
                (params.get("client_id"), params.get("client_secret"))
            else {
                return error(400, "missing client_id or client_secret");
            };
            if client_id != shared.options.client_id {
                return error(400, "invalid client");
            }
            if secret != shared.options.client_secret {
                return error(403, "invalid client secret");
            }
            let (access_token, expires_in) = lock(&shared.tokens).issue_app(client_id, now);
            axum::Json(json!({
                "access_token": access_token,
                "expires_in": expires_in,
                "token_type": "bearer",
            }))
            .into_response()
        }
        Some(_) => error(400, "unsupported grant type"),
        None => error(400, "missing grant_type"),
    }
}

/// `GET /oauth2/validate` with `Authorization: OAuth <token>`.
async fn validate(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let Some(token) = auth_token(&headers, &["OAuth", "Bearer"]) else {
        return error(401, "missing authorization token");
    };
    let now = Utc::now();
    let tokens = lock(&shared.tokens);
    match tokens.validate(token, now) {
        // An app token has no user: Twitch leaves out login and user_id.
        Some(access) if access.grant.user_id.is_empty() => axum::Json(json!({
            "client_id": access.grant.client_id,
            "scopes": access.grant.scopes,
            "expires_in": access.expires_in(now),
        }))
        .into_response(),
        Some(access) => axum::Json(json!({
            "client_id": access.grant.client_id,
            "login": access.grant.login,
            "scopes": access.grant.scopes,
            "user_id": access.grant.user_id,
            "expires_in": access.expires_in(now),
        }))
        .into_response(),
        None => error(401, "invalid access token"),
    }
}

/// `POST /oauth2/revoke` (`client_id`, `token`) → 200 with no body.
async fn revoke(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let params = Params::merged(query.as_deref(), &body);
    let (Some(client_id), Some(token)) = (params.get("client_id"), params.get("token")) else {
        return error(400, "missing client_id or token");
    };
    match lock(&shared.tokens).revoke(token, client_id) {
        Ok(()) => StatusCode::OK.into_response(),
        Err(OauthError::InvalidClient) => error(404, "client does not exist"),
        Err(e) => oauth_error(e),
    }
}

/// `GET /oauth2/activate?device-code=USERCODE`: approves that grant.
async fn activate(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Response {
    let params = Params::parse(query.as_deref());
    let code = params.get("device-code");
    let approved = lock(&shared.tokens).approve(code);
    if approved == 0 {
        return (StatusCode::NOT_FOUND, "No pending login with that code.\n").into_response();
    }
    (StatusCode::OK, "Approved: you can return to Stagehand.\n").into_response()
}
