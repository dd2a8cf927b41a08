//! `GET /`: the dashboard's front door. The URL printed at start-up
//! (`/?token=...`) trades the token for the session cookie and redirects to
//! `/`, so the token leaves the address bar and the history; `/` with the
//! cookie serves the single-page dashboard (its scripts and styles come from
//! `/assets/dashboard/`); `/` without it explains how to get in, never
//! showing the token.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::AppState;
use super::assets;
use super::auth::{SessionCookie, constant_time_eq};

/// The dashboard page inside the embedded assets.
const INDEX: &str = "dashboard/index.html";

/// `GET /` and `GET /?token=...`.
pub async fn index(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let cookie = SessionCookie::for_token(&state.api_token);
    if let Some(token) = token_in(query.as_deref()) {
        if !constant_time_eq(token.as_bytes(), state.api_token.as_bytes()) {
            tracing::warn!("dashboard login with a wrong token refused");
            return page(
                StatusCode::UNAUTHORIZED,
                "Wrong or outdated link",
                "This link's token is not the one this Stagehand uses. If Stagehand was restarted, \
                 it printed a new dashboard URL: open the URL it printed at start-up.",
            );
        }
        let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
        let h = response.headers_mut();
        h.insert(header::SET_COOKIE, cookie.set_cookie());
        private(h);
        return response;
    }
    if !cookie.presented_in(&headers) {
        return page(
            StatusCode::UNAUTHORIZED,
            "Log in to the dashboard",
            "Open the dashboard URL that Stagehand printed when it started (the line beginning \
             with \u{201c}Dashboard:\u{201d}); it logs this browser in. If you chose the API \
             token yourself (STAGEHAND_API_TOKEN), add ?token= and that token to this address.",
        );
    }
    // The embedded page with the dashboard's Content-Security-Policy; a
    // logged-in page is never cached, since it must not outlive the login.
    let mut response = assets::serve(INDEX, &headers);
    if response.status() == StatusCode::NOT_FOUND {
        tracing::error!("the dashboard page is missing from the binary's assets");
    }
    private(response.headers_mut());
    response
}

/// The `token` query parameter, if given (other parameters are ignored).
fn token_in(query: Option<&str>) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
}

/// Nothing about a logged-in page is cached or leaks its URL elsewhere.
fn private(h: &mut HeaderMap) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// A small self-contained HTML page for the way in.
fn page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <title>Stagehand: {title}</title>\
         <style>body{{font:16px/1.5 system-ui,sans-serif;background:#18181b;color:#efeff1;\
         display:grid;place-items:center;min-height:90vh;margin:0}}\
         main{{max-width:32rem;padding:2rem;background:#26262c;border-radius:8px}}\
         h1{{font-size:1.3rem;margin-top:0;color:#bf94ff}}</style></head>\
         <body><main><h1>{title}</h1><p>{message}</p></main></body></html>\n"
    );
    let mut response = (status, Html(body)).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    private(h);
    response
}

#[cfg(test)]
mod tests {
    use super::token_in;

    #[test]
    fn the_token_is_read_from_the_query() {
        assert_eq!(token_in(Some("token=abc")), Some("abc".into()));
        assert_eq!(token_in(Some("x=1&token=a%2Bb")), Some("a+b".into()));
        assert_eq!(token_in(Some("tokens=abc")), None);
        assert_eq!(token_in(None), None);
    }
}
