//! Static files embedded in the binary (`host/assets/`): the overlay page
//! (`overlay/`), the dashboard (`dashboard/`) and the alert box's built-in
//! pictures and sounds (`alerts/`, which any alert may show: see
//! `actions::media`). `GET /assets/{*path}` is
//! public, so nothing secret may live there; pages get their secrets (API
//! token, overlay key) from the URL or a cookie at run time.
//!
//! Release builds carry the files inside the binary; debug builds read them
//! from `host/assets/` on each request (rust-embed's default), so a page can
//! be edited and reloaded without rebuilding.
//!
//! Every answer says `Cache-Control: no-cache` (revalidate with the ETag, so
//! an upgraded host never serves a stale script), `X-Content-Type-Options:
//! nosniff`, `Referrer-Policy: no-referrer` (the dashboard URL can carry the
//! token), and a Content-Security-Policy chosen by the folder the file is in.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::Embed;

use super::error::ApiError;

#[derive(Embed)]
#[folder = "assets/"]
struct Assets;

/// The overlay folder's files. The overlay page itself is served with a
/// policy that also lists the media hosts the streamer granted (see
/// `actions::media::overlay_csp`); without grants it is this one: its own
/// scripts and styles; images, sounds, videos and fonts from this host or
/// inline (`data:`/`blob:`) only, so neither an alert's media URLs nor a
/// plugin's custom CSS (rendered in a sandboxed `srcdoc` iframe that
/// inherits the policy and runs no script) can reach another host; sockets
/// back to this host only; framable by this host (a dashboard preview).
pub const OVERLAY_CSP: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; font-src 'self' data:; \
    img-src 'self' data: blob:; media-src 'self' data: blob:; \
    connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'self'";

/// The dashboard: everything from this host only, no inline script, never
/// framed (clickjacking of its buttons). Inline styles are allowed (style
/// attributes in markup), images also as `data:` URLs; it may frame the
/// overlay for a preview.
pub const DASHBOARD_CSP: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
    frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

/// Anything else: a document that may load nothing.
const DEFAULT_CSP: &str = "default-src 'none'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

/// The policy for an embedded file, by its top folder.
pub fn policy_for(path: &str) -> &'static str {
    match path.split('/').next() {
        Some("overlay") => OVERLAY_CSP,
        Some("dashboard") | Some("cluster") => DASHBOARD_CSP,
        _ => DEFAULT_CSP,
    }
}

/// `GET /assets/{*path}`: an embedded file, or a JSON 404.
pub async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&path, &headers)
}

/// Answers with embedded file `path` (relative to `host/assets/`, e.g.
/// `dashboard/index.html`) and the headers above; a JSON 404 if there is no
/// such file. For routes that serve a page under another URL (`/overlay/
/// {name}`, the dashboard at `/`). `request` supplies `If-None-Match`.
pub fn serve(path: &str, request: &HeaderMap) -> Response {
    serve_with_policy(path, request, policy_for(path))
}

/// [`serve`] with another Content-Security-Policy (the overlay page's
/// depends on what the streamer granted); the ETag covers the policy, so a
/// changed policy is never answered with "not modified".
pub fn serve_with_policy(path: &str, request: &HeaderMap, policy: &str) -> Response {
    let Some(file) = safe_path(path).and_then(Assets::get) else {
        return ApiError::not_found(format!("no asset {path:?}")).into_response();
    };
    let etag = {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(file.metadata.sha256_hash());
        h.update(policy.as_bytes());
        format!("\"{}\"", hex::encode(&h.finalize()[..16]))
    };
    let mut response = if request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        file.data.into_owned().into_response()
    };
    let headers = response.headers_mut();
    let mime = file.metadata.mimetype();
    let content_type = if mime.starts_with("text/") || mime == "application/javascript" {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    };
    for (name, value) in [
        (header::CONTENT_TYPE, content_type.as_str()),
        (header::CACHE_CONTROL, "no-cache"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CONTENT_SECURITY_POLICY, policy),
        (header::ETAG, etag.as_str()),
    ] {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
    response
}

/// `path` if it names a file inside the assets folder: relative, no `..`,
/// no empty or hidden segments, no backslashes (rust-embed reads from disk in
/// debug builds, so this is checked here too).
fn safe_path(path: &str) -> Option<&str> {
    let ok = !path.is_empty()
        && path.len() <= 256
        && !path.contains('\\')
        && !path.contains('\0')
        && path
            .split('/')
            .all(|segment| !segment.is_empty() && !segment.starts_with('.'));
    ok.then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths_are_served() {
        assert_eq!(safe_path("overlay/overlay.js"), Some("overlay/overlay.js"));
        for bad in [
            "",
            "../Cargo.toml",
            "overlay/../../Cargo.toml",
            "/etc/passwd",
            "overlay//x",
            "overlay/.hidden",
            "a\\b",
        ] {
            assert_eq!(safe_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn each_folder_gets_its_policy() {
        assert_eq!(policy_for("overlay/index.html"), OVERLAY_CSP);
        assert_eq!(policy_for("dashboard/app.js"), DASHBOARD_CSP);
        assert_eq!(policy_for("other.txt"), DEFAULT_CSP);
        assert!(OVERLAY_CSP.contains("script-src 'self';"));
        assert!(!OVERLAY_CSP.contains("'unsafe-eval'"));
    }

    #[test]
    fn the_overlay_page_is_embedded_with_its_headers() {
        let response = serve("overlay/index.html", &HeaderMap::new());
        assert_eq!(response.status(), StatusCode::OK);
        let h = response.headers();
        assert_eq!(h[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(h[header::CACHE_CONTROL], "no-cache");
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(h[header::CONTENT_SECURITY_POLICY], OVERLAY_CSP);
        let mut again = HeaderMap::new();
        again.insert(header::IF_NONE_MATCH, h[header::ETAG].clone());
        assert_eq!(
            serve("overlay/index.html", &again).status(),
            StatusCode::NOT_MODIFIED
        );
        assert_eq!(
            serve("overlay/nope.js", &HeaderMap::new()).status(),
            StatusCode::NOT_FOUND
        );
    }
}
