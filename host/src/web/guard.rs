//! Limits on what one client may cost the host, ahead of any handler:
//! request bodies over a size are refused with a 413 the client can read
//! (the rest of what it sends is read and thrown away first, up to a bound,
//! so it is not cut off mid-send and left with a reset instead of an
//! answer), and an address that keeps presenting wrong credentials is
//! refused for a while ([`AuthFailures`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

use super::error::ApiError;

/// What is read and thrown away of an oversized body before answering.
pub const DRAIN_BYTES: usize = 1 << 20;
/// How long that may take.
pub const DRAIN_TIME: Duration = Duration::from_secs(2);

/// Routes whose bodies are files (uploads) and may be larger than the
/// default cap: (method, path, cap in bytes). Everything else gets the
/// default, so a large body is refused before any handler reads it.
pub const UPLOAD_ROUTES: &[(&str, &str, usize)] = &[
    ("POST", "/api/media", crate::web::MAX_MEDIA_UPLOAD),
    (
        "POST",
        "/api/plugins/install",
        crate::web::MAX_PLUGIN_UPLOAD,
    ),
];

/// The body cap of one request: its upload route's, or `default`.
pub fn body_cap(method: &str, path: &str, default: usize) -> usize {
    UPLOAD_ROUTES
        .iter()
        .find(|(m, p, _)| *m == method && *p == path)
        .map_or(default, |(_, _, cap)| *cap)
}

/// Refuses bodies over the request's cap ([`body_cap`] with `default`) with
/// a readable 413.
pub async fn limit_body(request: Request, next: Next, default: usize) -> Response {
    let limit = body_cap(request.method().as_str(), request.uri().path(), default);
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(len) if len > limit as u64 => {
            drain(request.into_body(), DRAIN_BYTES).await;
            too_large(limit)
        }
        Some(_) => next.run(request).await,
        None => {
            // No length given (chunked): read up to the limit ourselves.
            let (parts, body) = request.into_parts();
            match read_at_most(body, limit).await {
                Ok(bytes) => {
                    next.run(Request::from_parts(parts, Body::from(bytes)))
                        .await
                }
                Err(ReadError::TooLarge(rest)) => {
                    drain(rest, DRAIN_BYTES).await;
                    too_large(limit)
                }
                Err(ReadError::Failed(e)) => {
                    ApiError::bad_request(format!("cannot read the request body: {e}"))
                        .into_response()
                }
            }
        }
    }
}

fn too_large(limit: usize) -> Response {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        format!("request bodies are at most {limit} bytes"),
    )
    .into_response()
}

enum ReadError {
    /// Over the limit: the body, to drain.
    TooLarge(Body),
    Failed(axum::Error),
}

async fn read_at_most(mut body: Body, limit: usize) -> Result<Bytes, ReadError> {
    let mut buf = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(ReadError::Failed)?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                return Err(ReadError::TooLarge(body));
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(buf))
}

/// Reads and discards up to `max` bytes of `body` within [`DRAIN_TIME`].
async fn drain(mut body: Body, max: usize) {
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        let mut seen = 0;
        while let Some(Ok(frame)) = body.frame().await {
            if let Ok(data) = frame.into_data() {
                seen += data.len();
                if seen >= max {
                    break;
                }
            }
        }
    })
    .await;
}

/// Wrong credentials per address: over [`AuthFailures::LIMIT`] in a window
/// of [`AuthFailures::WINDOW`], the address is refused until the window
/// ends (a guessing client gets nowhere, and its guesses are not checked).
#[derive(Default)]
pub struct AuthFailures {
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl AuthFailures {
    pub const LIMIT: u32 = 20;
    pub const WINDOW: Duration = Duration::from_secs(60);
    /// Addresses remembered at most (older windows are forgotten first).
    const MAX_ADDRESSES: usize = 10_000;

    /// How long `ip` is still refused, if it is.
    pub fn blocked(&self, ip: IpAddr, now: Instant) -> Option<Duration> {
        let windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let (start, failures) = windows.get(&ip)?;
        let end = *start + Self::WINDOW;
        (*failures >= Self::LIMIT && now < end).then(|| end - now)
    }

    /// Counts a failure of `ip`.
    pub fn record(&self, ip: IpAddr, now: Instant) {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() >= Self::MAX_ADDRESSES {
            windows.retain(|_, (start, _)| now < *start + Self::WINDOW);
        }
        let entry = windows.entry(ip).or_insert((now, 0));
        if now >= entry.0 + Self::WINDOW {
            *entry = (now, 0);
        }
        entry.1 += 1;
        if entry.1 == Self::LIMIT {
            tracing::warn!(%ip, "too many failed API logins from this address; refusing it for a minute");
        }
    }
}

/// The 429 for a refused address.
pub fn too_many_failures(wait: Duration) -> Response {
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_failures",
        format!(
            "too many requests with a wrong token from this address; try again in {} s",
            wait.as_secs().max(1)
        ),
    )
    .into_response();
    if let Ok(value) = wait.as_secs().max(1).to_string().parse() {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_refused_after_the_limit_until_the_window_ends() {
        let failures = AuthFailures::default();
        let (ip, other): (IpAddr, IpAddr) =
            ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let t0 = Instant::now();
        for _ in 0..AuthFailures::LIMIT - 1 {
            failures.record(ip, t0);
        }
        assert_eq!(failures.blocked(ip, t0), None);
        failures.record(ip, t0);
        assert!(failures.blocked(ip, t0).is_some());
        assert_eq!(failures.blocked(other, t0), None, "per address");
        let later = t0 + AuthFailures::WINDOW;
        assert_eq!(failures.blocked(ip, later), None);
        failures.record(ip, later);
        assert_eq!(
            failures.blocked(ip, later),
            None,
            "a new window counts anew"
        );
    }
}
