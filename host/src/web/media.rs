//! `GET /media/{file}`: the streamer's own media (the data directory's
//! `media/` folder), the only files besides built-in assets that alerts may
//! show without a media grant. Public, like the overlay page that loads
//! them; the folder cannot be listed. Only plain files directly inside the
//! folder are served (no links, no sub-paths), with byte ranges for video
//! and sound, and a policy that keeps an SVG from running script. Files of
//! the media library (see `media_library`) are served with the type they
//! were listed with, which their extension names.

use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use super::AppState;
use super::error::ApiError;
use crate::media_library::sniff::Format;

/// Served media files are documents of their own: an SVG may not run
/// script or load anything.
const MEDIA_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

/// A media file name: one path segment, not hidden, no backslash or NUL.
pub fn valid_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && !name.contains(['/', '\\', '\0'])
}

/// Serves one file of the media folder.
pub async fn serve(
    State(state): State<AppState>,
    Path(file): Path<String>,
    request: Request,
) -> Response {
    let not_found = || ApiError::not_found(format!("no media file {file:?}")).into_response();
    if !valid_file_name(&file) {
        return not_found();
    }
    let path = state.media_dir.join(&file);
    match tokio::fs::symlink_metadata(&path).await {
        Ok(meta) if meta.file_type().is_file() => {}
        _ => return not_found(),
    }
    let mut response = match ServeFile::new(&path).oneshot(request).await {
        Ok(r) => r.map(axum::body::Body::new).into_response(),
        Err(e) => match e {},
    };
    let library_type = file
        .rsplit_once('.')
        .and_then(|(_, extension)| Format::from_extension(extension))
        .map(Format::content_type);
    let success = response.status().is_success();
    let headers = response.headers_mut();
    if let Some(content_type) = library_type.filter(|_| success) {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, MEDIA_CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CACHE_CONTROL, "no-cache"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_in_the_folder_are_media() {
        for ok in ["boom.png", "a b.ogg", "ünï.webm"] {
            assert!(valid_file_name(ok), "{ok}");
        }
        for bad in [
            "",
            ".hidden",
            "../stagehand.db",
            "sub/x.png",
            "a\\b",
            "x\0y",
        ] {
            assert!(!valid_file_name(bad), "{bad:?}");
        }
    }
}
