//! A tiny fake of Twitch's OAuth endpoints for socket tests (auth and
//! Helix): served with axum on 127.0.0.1:0, its state inspectable.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use super::{StoredToken, TwitchAuth};

/// The client id the fake issues tokens to.
pub(crate) const CLIENT_ID: &str = "test-client";
/// The scopes every fake token has.
pub(crate) const SCOPES: [&str; 2] = ["moderator:read:followers", "user:read:chat"];

/// What the fake auth server knows and counts.
#[derive(Default)]
pub(crate) struct FakeAuth {
    /// Access tokens `/validate` accepts.
    pub valid: HashSet<String>,
    /// The one refresh token `/token` accepts now (rotates on use).
    pub refresh: Option<String>,
    /// Successful refreshes.
    pub refreshes: usize,
    /// Requests to `/validate`.
    pub validations: usize,
    /// `authorization_pending` answers still to give to device polls.
    pub pending_polls: usize,
    /// Device polls received.
    pub polls: usize,
    /// Tokens revoked.
    pub revoked: Vec<String>,
    /// Delay before answering a refresh (widens race windows).
    pub refresh_delay: Duration,
    /// The form `/device` received.
    pub device_form: HashMap<String, String>,
    issued: usize,
}

/// Shared handle on the fake's state.
pub(crate) type Shared = Arc<Mutex<FakeAuth>>;

impl FakeAuth {
    /// A fake that accepts `access` and the refresh token `refresh`.
    pub fn with_token(access: &str, refresh: &str) -> Shared {
        let fake = FakeAuth {
            valid: HashSet::from([access.to_owned()]),
            refresh: Some(refresh.to_owned()),
            ..FakeAuth::default()
        };
        Arc::new(Mutex::new(fake))
    }

    fn issue(&mut self) -> serde_json::Value {
        self.issued += 1;
        let access = format!("access-{}", self.issued);
        let refresh = format!("refresh-{}", self.issued);
        self.valid = HashSet::from([access.clone()]);
        self.refresh = Some(refresh.clone());
        json!({"access_token": access, "refresh_token": refresh, "expires_in": 14400,
               "scope": SCOPES, "token_type": "bearer"})
    }
}

/// The OAuth routes, to nest at `/oauth2`.
pub(crate) fn auth_routes(state: Shared) -> Router {
    Router::new()
        .route("/validate", get(validate))
        .route("/token", post(token))
        .route("/device", post(device))
        .route("/revoke", post(revoke))
        .with_state(state)
}

/// Serves `router` on 127.0.0.1:0; returns `http://127.0.0.1:<port>`.
pub(crate) async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

/// A plain HTTP client for tests.
pub(crate) fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// A saved token as the fake issued it.
pub(crate) fn stored(access: &str, refresh: &str) -> StoredToken {
    StoredToken {
        access_token: access.into(),
        refresh_token: Some(refresh.into()),
        scopes: SCOPES.map(String::from).to_vec(),
        client_id: CLIENT_ID.into(),
        expires_at: None,
    }
}

/// A `TwitchAuth` against the fake at `base`, reading `file`.
pub(crate) fn auth_at(base: &str, file: &std::path::Path) -> TwitchAuth {
    TwitchAuth::new(
        http(),
        &format!("{base}/oauth2"),
        Some(CLIENT_ID.into()),
        Some(file.to_owned()),
        None,
    )
}

async fn validate(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("OAuth "))
        .unwrap_or_default();
    let mut s = s.lock().unwrap();
    s.validations += 1;
    if !s.valid.contains(token) {
        let body = json!({"status": 401, "message": "invalid access token"});
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    }
    Json(
        json!({"client_id": CLIENT_ID, "login": "streamer", "user_id": "1001",
                "scopes": SCOPES, "expires_in": 14000}),
    )
    .into_response()
}

async fn token(State(s): State<Shared>, Form(form): Form<HashMap<String, String>>) -> Response {
    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
    if field("client_id") != CLIENT_ID {
        return bad_request("invalid client");
    }
    match field("grant_type").as_str() {
        "refresh_token" => {
            let delay = s.lock().unwrap().refresh_delay;
            tokio::time::sleep(delay).await;
            let mut s = s.lock().unwrap();
            if s.refresh.as_deref() != Some(field("refresh_token").as_str()) {
                return bad_request("Invalid refresh token");
            }
            s.refreshes += 1;
            Json(s.issue()).into_response()
        }
        "urn:ietf:params:oauth:grant-type:device_code" => {
            let mut s = s.lock().unwrap();
            s.polls += 1;
            if field("device_code") != "dev-code" {
                return bad_request("invalid device code");
            }
            if s.pending_polls > 0 {
                s.pending_polls -= 1;
                return bad_request("authorization_pending");
            }
            Json(s.issue()).into_response()
        }
        _ => bad_request("unsupported grant type"),
    }
}

async fn device(State(s): State<Shared>, Form(form): Form<HashMap<String, String>>) -> Response {
    s.lock().unwrap().device_form = form;
    Json(json!({"device_code": "dev-code", "user_code": "ABCD-EFGH",
                "verification_uri": "https://www.twitch.tv/activate?device-code=ABCD-EFGH",
                "expires_in": 1800, "interval": 1}))
    .into_response()
}

async fn revoke(State(s): State<Shared>, Form(form): Form<HashMap<String, String>>) -> Response {
    let token = form.get("token").cloned().unwrap_or_default();
    let mut s = s.lock().unwrap();
    s.valid.remove(&token);
    s.revoked.push(token);
    StatusCode::OK.into_response()
}

fn bad_request(message: &str) -> Response {
    let body = json!({"status": 400, "message": message});
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}
