//! The media library over HTTP: `POST /api/media` takes one file as the
//! raw request body with its `Content-Type` (and an optional `?name=` to
//! show it by) and answers 201 with the stored file; `GET /api/media` lists
//! the library, newest first; `DELETE /api/media/{id}` removes a file.
//! Every change is pushed on the live feed (`media`) so open dashboards
//! update. The files themselves are served by `GET /media/{file}`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AppState;
use super::error::{ApiError, ApiQuery};
use crate::live::LiveMessage;
use crate::media_library::sniff::SniffError;
use crate::media_library::{DeleteError, MediaItem, UploadError};

/// Query of `POST /api/media`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadParams {
    /// How the dashboard shows the file (its original file name, say).
    name: Option<String>,
}

/// Stores one uploaded file. Refusals: 400 `empty_body` / `bad_name`, 413
/// `too_large` (over its kind's cap), 415 `unsupported_media_type` (not a
/// format the library takes, or no media `Content-Type`) or `type_mismatch`
/// (content and declared type disagree), 422 `unsafe_svg`, 409
/// `library_full`.
pub async fn upload(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<UploadParams>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("uploads are at most {} bytes", super::MAX_MEDIA_UPLOAD),
            )
        } else {
            ApiError::bad_request(format!("cannot read the upload: {}", rejection.body_text()))
        }
    })?;
    let declared = headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let item = state
        .media
        .upload(body, &declared, params.name.as_deref())
        .await
        .map_err(upload_error)?;
    state.feed.publish(LiveMessage::MediaChanged);
    Ok((StatusCode::CREATED, Json(item)).into_response())
}

fn upload_error(e: UploadError) -> ApiError {
    let message = e.to_string();
    let (status, code) = match &e {
        UploadError::Empty => (StatusCode::BAD_REQUEST, "empty_body"),
        UploadError::BadName(_) => (StatusCode::BAD_REQUEST, "bad_name"),
        UploadError::TooLarge { .. } | UploadError::Refused(SniffError::TooLarge { .. }) => {
            (StatusCode::PAYLOAD_TOO_LARGE, "too_large")
        }
        UploadError::Refused(SniffError::Mismatch { .. }) => {
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "type_mismatch")
        }
        UploadError::Refused(SniffError::UndeclaredType(_) | SniffError::Unsupported(_)) => {
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
        }
        UploadError::Refused(SniffError::UnsafeSvg(_)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, "unsafe_svg")
        }
        UploadError::LibraryFull(_) => (StatusCode::CONFLICT, "library_full"),
        UploadError::Storage(_) => {
            tracing::error!(error = %message, "a media upload could not be stored");
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
        }
    };
    ApiError::new(status, code, message)
}

/// Every library file, newest first.
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<MediaItem>>, ApiError> {
    state
        .media
        .list()
        .await
        .map(Json)
        .map_err(|e| ApiError::unavailable(format!("cannot read the media library: {e}")))
}

/// Deletes one file; 404 for an id the library does not hold.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    match state.media.delete(&id).await {
        Ok(item) => {
            state.feed.publish(LiveMessage::MediaChanged);
            Ok(Json(serde_json::json!({"deleted": true, "id": item.id})))
        }
        Err(e @ DeleteError::NotFound(_)) => Err(ApiError::not_found(e.to_string())),
        Err(e @ DeleteError::Storage(_)) => Err(ApiError::unavailable(e.to_string())),
    }
}
