//! Installing and removing plugins over the API (the Plugins page's
//! "Install plugin" and "Remove"):
//!
//! - `POST /api/plugins/install` with the file as the body (a package from
//!   `stagehand plugin pack` as `application/gzip`, or a bare component as
//!   `application/wasm`; `application/octet-stream` or no type: told apart
//!   by their first bytes) and, for a bare component, `?name=`: checks it
//!   without running it and answers its preview with a `token`;
//! - `POST /api/plugins/install/{token}` installs it (the streamer
//!   confirmed) and answers the plugin's status;
//! - `DELETE /api/plugins/{name}` removes a plugin with its stored data.
//!
//! A refused file answers 413 `too_large` or 400/422 with a code naming the
//! problem ([`crate::plugins::package::Problem::code`]); nothing changes.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::{ApiError, ApiQuery};
use crate::plugins::install::{InstallError, Preview, STAGED_FOR};
use crate::plugins::package::{PackageError, Problem};
use crate::plugins::worker::Status;

/// Query of `POST /api/plugins/install`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstallQuery {
    /// The plugin name for a bare `.wasm` (its file name will do: it is
    /// lowercased and `_`, spaces and dots become `-`).
    name: Option<String>,
}

/// The answer to an upload: what installing it would do, and the token
/// that confirms it.
#[derive(Debug, Serialize)]
pub struct Staged {
    /// Confirms the install: `POST /api/plugins/install/{token}`.
    token: String,
    /// The token is forgotten after this long.
    expires_in_secs: u64,
    #[serde(flatten)]
    preview: Preview,
}

/// The answer to a removal.
#[derive(Debug, Serialize)]
pub struct Removed {
    removed: String,
}

/// Content types an upload may have.
const ACCEPTED_TYPES: [&str; 5] = [
    "application/gzip",
    "application/x-gzip",
    "application/wasm",
    "application/octet-stream",
    "application/x-stagehand-plugin",
];

/// Checks an uploaded plugin and answers its preview and a token.
pub async fn upload(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<InstallQuery>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Staged>, ApiError> {
    if let Some(kind) = headers.get(header::CONTENT_TYPE) {
        let kind = kind.to_str().unwrap_or("").to_ascii_lowercase();
        let essence = kind.split(';').next().unwrap_or("").trim().to_owned();
        if !ACCEPTED_TYPES.contains(&essence.as_str()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!(
                    "send the plugin file itself as the body, as application/gzip (a .stagehand package) or application/wasm (a bare .wasm), not {essence:?}"
                ),
            ));
        }
    }
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            ApiError::bad_request(format!("cannot read the upload: {}", e.body_text()))
        }
    })?;
    if body.is_empty() {
        return Err(ApiError::bad_request(
            "the body is empty: send the plugin file as the body",
        ));
    }
    let (token, preview) = state
        .plugins
        .stage_upload(body.to_vec(), query.name)
        .await
        .map_err(refused)?;
    Ok(Json(Staged {
        token,
        expires_in_secs: STAGED_FOR.as_secs(),
        preview,
    }))
}

/// Installs a checked upload: the streamer confirmed its preview.
pub async fn confirm(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Json<Status>, ApiError> {
    match state.plugins.install_staged(&token).await {
        Ok(Some(status)) => Ok(Json(status)),
        Ok(None) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_token",
            "no upload waits under this token (it expired after 10 minutes, or was installed already): upload the file again",
        )),
        Err(e) => Err(install_failed(e)),
    }
}

/// Removes a plugin: its folder, its stored data, grants and settings.
pub async fn remove(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Removed>, ApiError> {
    match state.plugins.remove(&name).await {
        Ok(true) => Ok(Json(Removed { removed: name })),
        Ok(false) => Err(ApiError::not_found(format!("no plugin named {name:?}"))),
        Err(e) => Err(install_failed(e)),
    }
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        format!(
            "plugin uploads are at most {} bytes",
            super::MAX_PLUGIN_UPLOAD
        ),
    )
}

/// A refused file: 413 when too large, 400 when it is not a plugin file at
/// all or lacks its name, 422 when it is one that cannot be installed.
fn refused(e: PackageError) -> ApiError {
    let status = match e.problem {
        Problem::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        Problem::NotAPackage | Problem::NameRequired => StatusCode::BAD_REQUEST,
        Problem::Unreadable => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    ApiError::new(status, e.problem.code(), e.message)
}

fn install_failed(e: InstallError) -> ApiError {
    tracing::error!(error = %e, "plugin install or removal failed");
    match e {
        InstallError::Store(e) => ApiError::unavailable(format!("cannot store the change: {e}")),
        other => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "install_failed",
            other.to_string(),
        ),
    }
}
