//! Who may use `/api/*`: a script sends `Authorization: Bearer <api token>`;
//! the dashboard in a browser carries a session cookie instead, which it got
//! once from the URL printed at start-up (`GET /?token=...`, see
//! [`super::dashboard`]). The cookie is HttpOnly (page scripts never see it)
//! and SameSite=Strict (other sites' pages cannot make the browser send it),
//! and a state-changing request it authenticates must come from the
//! dashboard's own origin, because SameSite does not separate two ports of
//! the same machine.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::AppState;
use super::error::ApiError;

/// How long the browser keeps the session cookie. The cookie is only as
/// good as the token it was made from, so a host that generates a new token
/// at each start invalidates it anyway; a fixed `STAGEHAND_API_TOKEN` keeps
/// the streamer logged in across browser restarts for this long.
pub const COOKIE_MAX_AGE_SECS: u64 = 30 * 24 * 60 * 60;

/// How a request proved it may use the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// `Authorization: Bearer <api token>`: a script or a test, which
    /// browsers never send on their own, so no origin check is needed.
    Bearer,
    /// The dashboard's session cookie, which a browser attaches by itself.
    Cookie,
}

/// The dashboard's session cookie for one API token.
///
/// Its value is a hash of the token rather than the token itself, so the
/// cookie jar never holds the API token and the cookie cannot be replayed
/// as a bearer token. Its name also derives from the token, so two hosts on
/// one machine (different ports share cookies) do not overwrite each
/// other's sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCookie {
    name: String,
    value: String,
}

impl SessionCookie {
    /// The cookie that `api_token` grants.
    pub fn for_token(api_token: &str) -> SessionCookie {
        let hash = |purpose: &str| {
            let mut h = Sha256::new();
            h.update(purpose.as_bytes());
            h.update([0]);
            h.update(api_token.as_bytes());
            hex::encode(h.finalize())
        };
        SessionCookie {
            name: format!("stagehand_{}", &hash("stagehand cookie name")[..12]),
            value: hash("stagehand dashboard session"),
        }
    }

    /// The cookie's name (`stagehand_` and 12 hex digits).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `Set-Cookie` header that logs a browser in.
    pub fn set_cookie(&self) -> HeaderValue {
        let cookie = format!(
            "{}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={COOKIE_MAX_AGE_SECS}",
            self.name, self.value
        );
        HeaderValue::from_str(&cookie).expect("hex and ASCII make a valid header")
    }

    /// Whether the request carries this cookie (compared in constant time).
    pub fn presented_in(&self, headers: &HeaderMap) -> bool {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .any(|(name, value)| {
                name == self.name && constant_time_eq(value.as_bytes(), self.value.as_bytes())
            })
    }
}

/// Which credential, if any, in `headers` is good for `api_token`.
pub fn authenticate(headers: &HeaderMap, api_token: &str) -> Option<Credential> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    if let Some(token) = bearer
        && constant_time_eq(token.as_bytes(), api_token.as_bytes())
    {
        return Some(Credential::Bearer);
    }
    SessionCookie::for_token(api_token)
        .presented_in(headers)
        .then_some(Credential::Cookie)
}

/// Lets the request through with the bearer token, or with the dashboard's
/// cookie when the request comes from the dashboard's own origin (or is a
/// read, which another origin could send but never read the answer of).
///
/// An address that sent too many wrong credentials lately is refused
/// without its credentials being checked (see [`super::guard::AuthFailures`]).
pub async fn require_api_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let ip = super::server::peer(&request).map(|peer| peer.ip());
    let now = std::time::Instant::now();
    if let Some(wait) = ip.and_then(|ip| state.auth_failures.blocked(ip, now)) {
        return super::guard::too_many_failures(wait);
    }
    match authenticate(request.headers(), &state.api_token) {
        Some(Credential::Bearer) => next.run(request).await,
        Some(Credential::Cookie) => {
            if changes_state(request.method()) && cross_origin(request.headers()) {
                tracing::warn!(
                    method = %request.method(),
                    path = request.uri().path(),
                    "refused a cookie-authenticated request from another origin"
                );
                return ApiError::new(
                    StatusCode::FORBIDDEN,
                    "cross_origin",
                    "this request came from another web page; use the dashboard itself or send the bearer token",
                )
                .into_response();
            }
            next.run(request).await
        }
        None => {
            if let Some(ip) = ip {
                state.auth_failures.record(ip, now);
            }
            ApiError::unauthorized().into_response()
        }
    }
}

fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// True when the browser says the request comes from a page of another
/// origin: `Sec-Fetch-Site` other than same-origin (or none, a typed URL),
/// or an `Origin` whose host and port differ from the `Host` asked for.
fn cross_origin(headers: &HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site")
        && !matches!(site, "same-origin" | "none")
    {
        return true;
    }
    match (header("origin"), header("host")) {
        (Some(origin), Some(host)) => {
            let origin_host = origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"));
            origin_host != Some(host)
        }
        // `Origin: null` without a Host, or an Origin but no Host: refuse.
        (Some(_), None) => true,
        // No Origin: not a browser's cross-origin request.
        (None, _) => false,
    }
}

/// Compares without an early exit, so timing does not reveal how much of a
/// guessed token was right.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_only_when_identical() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn the_cookie_derives_from_the_token_and_never_contains_it() {
        let a = SessionCookie::for_token("token-a-0123456789");
        let b = SessionCookie::for_token("token-b-0123456789");
        assert_ne!(a.name(), b.name(), "two hosts keep separate sessions");
        assert_ne!(a, b);
        let set = a.set_cookie();
        let set = set.to_str().unwrap();
        assert!(!set.contains("token-a"));
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(set.contains(attribute), "{set}");
        }
        let pair = set.split(';').next().unwrap();
        assert!(a.presented_in(&headers(&[("cookie", &format!("x=1; {pair}"))])));
        assert!(!b.presented_in(&headers(&[("cookie", pair)])));
        assert!(!a.presented_in(&headers(&[("cookie", &format!("{pair}0"))])));
    }

    #[test]
    fn bearer_or_cookie_authenticate() {
        let token = "the-token-0123456789";
        let cookie = SessionCookie::for_token(token);
        let pair = format!("{}={}", cookie.name, cookie.value);
        assert_eq!(
            authenticate(
                &headers(&[("authorization", "Bearer the-token-0123456789")]),
                token
            ),
            Some(Credential::Bearer)
        );
        assert_eq!(
            authenticate(&headers(&[("cookie", &pair)]), token),
            Some(Credential::Cookie)
        );
        assert_eq!(
            authenticate(&headers(&[("authorization", "Bearer wrong")]), token),
            None
        );
        // The cookie's value is not a bearer token.
        assert_eq!(
            authenticate(
                &headers(&[("authorization", &format!("Bearer {}", cookie.value))]),
                token
            ),
            None
        );
        assert_eq!(authenticate(&HeaderMap::new(), token), None);
    }

    #[test]
    fn other_origins_are_recognised() {
        let same = headers(&[
            ("host", "127.0.0.1:7878"),
            ("origin", "http://127.0.0.1:7878"),
            ("sec-fetch-site", "same-origin"),
        ]);
        assert!(!cross_origin(&same));
        assert!(!cross_origin(&headers(&[("host", "127.0.0.1:7878")])));
        assert!(cross_origin(&headers(&[
            ("host", "127.0.0.1:7878"),
            ("origin", "http://127.0.0.1:8080"),
        ])));
        assert!(cross_origin(&headers(&[
            ("host", "127.0.0.1:7878"),
            ("sec-fetch-site", "same-site"),
        ])));
        assert!(cross_origin(&headers(&[
            ("host", "127.0.0.1:7878"),
            ("origin", "null"),
        ])));
    }
}
