//! Sending one Helix request: token and `Client-Id` headers, the rate-limit
//! wait, and the retry rules (429, 5xx, connection errors, one refresh
//! after a 401, missing scopes reported at once).

use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::Utc;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::{missing_scope, twitch_message};
use super::ratelimit::{RateLimitSnapshot, wait_after_429};
use super::types::{Envelope, Page};
use super::{HelixClient, HelixError};
use crate::twitch::auth::AuthError;

/// Per-request limit, so a stalled connection cannot hang a poller.
const TIMEOUT: Duration = Duration::from_secs(30);

/// One Helix call to make.
pub(crate) struct Call<'a> {
    method: Method,
    path: &'static str,
    query: Vec<(&'static str, String)>,
    body: Option<&'a Value>,
    /// Whether repeating it after Twitch may have acted is harmless; if
    /// not, only failures that certainly did nothing are retried.
    repeatable: bool,
}

impl<'a> Call<'a> {
    /// A GET (repeatable).
    pub fn get(path: &'static str, query: Vec<(&'static str, String)>) -> Self {
        Call {
            method: Method::GET,
            path,
            query,
            body: None,
            repeatable: true,
        }
    }

    /// A DELETE (repeatable).
    pub fn delete(path: &'static str, query: Vec<(&'static str, String)>) -> Self {
        Call {
            method: Method::DELETE,
            ..Call::get(path, query)
        }
    }

    /// A POST with a JSON body; `repeatable` says whether a 5xx may be
    /// retried.
    pub fn post(path: &'static str, body: &'a Value, repeatable: bool) -> Self {
        Call {
            method: Method::POST,
            path,
            query: Vec::new(),
            body: Some(body),
            repeatable,
        }
    }

    /// How errors name the call, e.g. `GET /users`.
    pub fn name(&self) -> String {
        format!("{} /{}", self.method, self.path)
    }
}

/// An answer as read off the wire.
struct Answer {
    status: u16,
    body: Vec<u8>,
    rate: Option<RateLimitSnapshot>,
}

/// What to do after an answer.
enum Step {
    Done(Vec<u8>),
    Retry(Duration),
    Refresh,
    Fail(HelixError),
}

/// Counts per request, for the retry limits.
#[derive(Default)]
struct Tries {
    sent: u32,
    failures: u32,
    limited: u32,
    refreshed: bool,
}

impl HelixClient {
    /// Sends `call` until it succeeds or a rule says stop; returns the body.
    pub(crate) async fn send(&self, call: &Call<'_>) -> Result<Vec<u8>, HelixError> {
        let mut token = self.inner.auth.access_token().await?;
        if self.inner.auth.client_id().is_none() {
            return Err(AuthError::NoClientId.into());
        }
        let mut tries = Tries::default();
        loop {
            self.wait_for_budget().await;
            tries.sent += 1;
            let step = match self.attempt(call, &token).await {
                Ok(answer) => self.judge(call, answer, &mut tries),
                Err(e) => self.judge_transport(call, e, &mut tries),
            };
            match step {
                Step::Done(body) => return Ok(body),
                Step::Fail(e) => return Err(e),
                Step::Retry(wait) => tokio::time::sleep(wait).await,
                Step::Refresh => token = self.inner.auth.refresh_after_401(&token).await?,
            }
        }
    }

    /// Sends `call` and reads one page of a list endpoint.
    pub(crate) async fn page<T: DeserializeOwned>(
        &self,
        call: &Call<'_>,
    ) -> Result<Page<T>, HelixError> {
        let body = self.send(call).await?;
        decode::<Envelope<T>>(call, &body).map(Envelope::into_page)
    }

    /// Reads every page of a list endpoint (`first=100` when `first`), or
    /// fails: a partial list is never returned as if complete.
    pub(crate) async fn all_pages<T: DeserializeOwned>(
        &self,
        path: &'static str,
        query: Vec<(&'static str, String)>,
        first: bool,
    ) -> Result<Vec<T>, HelixError> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut q = query.clone();
            if first {
                q.push(("first", "100".into()));
            }
            q.extend(after.clone().map(|a| ("after", a)));
            let call = Call::get(path, q);
            let page = self.page::<T>(&call).await?;
            if page.cursor.is_some() && page.cursor == after {
                return Err(HelixError::Decode {
                    endpoint: call.name(),
                    detail: "Twitch repeated the pagination cursor".into(),
                });
            }
            let last = page.data.is_empty() || page.cursor.is_none();
            all.extend(page.data);
            if last {
                return Ok(all);
            }
            after = page.cursor;
        }
    }

    /// Sends `call` and returns `data[0]`.
    pub(crate) async fn first_item<T: DeserializeOwned>(
        &self,
        call: &Call<'_>,
    ) -> Result<T, HelixError> {
        let body = self.send(call).await?;
        let envelope = decode::<Envelope<T>>(call, &body)?;
        envelope
            .data
            .into_iter()
            .next()
            .ok_or_else(|| HelixError::Decode {
                endpoint: call.name(),
                detail: "empty `data`".into(),
            })
    }

    /// Waits while the bucket is empty (until `Ratelimit-Reset`).
    async fn wait_for_budget(&self) {
        loop {
            let wait = self.limiter().reserve(Utc::now());
            let Some(wait) = wait else { return };
            tracing::debug!(
                wait_ms = wait.as_millis() as u64,
                "Helix rate limit reached; waiting for the reset"
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// One HTTP exchange.
    async fn attempt(&self, call: &Call<'_>, token: &str) -> Result<Answer, reqwest::Error> {
        let client_id = self.inner.auth.client_id().unwrap_or_default();
        let mut request = self
            .inner
            .http
            .request(
                call.method.clone(),
                format!("{}/{}", self.inner.api_url, call.path),
            )
            .bearer_auth(token)
            .header("Client-Id", client_id)
            .timeout(TIMEOUT);
        if !call.query.is_empty() {
            request = request.query(&call.query);
        }
        if let Some(body) = call.body {
            request = request.json(body);
        }
        self.inner.sent.fetch_add(1, Ordering::Relaxed);
        let response = request.send().await?;
        let status = response.status().as_u16();
        let rate = RateLimitSnapshot::from_headers(response.headers());
        if let Some(rate) = rate {
            self.limiter().observe(rate);
        }
        let body = response.bytes().await?.to_vec();
        tracing::debug!(endpoint = %call.name(), status, "Helix answered");
        Ok(Answer { status, body, rate })
    }

    /// Decides what an answer means.
    fn judge(&self, call: &Call<'_>, answer: Answer, tries: &mut Tries) -> Step {
        let endpoint = call.name();
        let status = answer.status;
        if (200..300).contains(&status) {
            return Step::Done(answer.body);
        }
        let message = twitch_message(&answer.body);
        if let (401 | 403, Some(scope)) = (status, missing_scope(&message)) {
            return Step::Fail(HelixError::MissingScope { endpoint, scope });
        }
        match status {
            401 if !tries.refreshed => {
                tries.refreshed = true;
                tracing::info!(%endpoint, "Helix answered 401; refreshing the token");
                Step::Refresh
            }
            401 => Step::Fail(HelixError::Unauthorized { endpoint, message }),
            409 => Step::Fail(HelixError::Conflict { endpoint, message }),
            429 => self.after_429(endpoint, answer.rate, tries),
            500..=599 => self.after_5xx(call, status, message, tries),
            _ => Step::Fail(HelixError::Status {
                endpoint,
                status,
                message,
            }),
        }
    }

    fn after_429(
        &self,
        endpoint: String,
        rate: Option<RateLimitSnapshot>,
        tries: &mut Tries,
    ) -> Step {
        tries.limited += 1;
        if tries.limited >= self.retry.max_rate_limited {
            return Step::Fail(HelixError::RateLimited {
                endpoint,
                attempts: tries.sent,
            });
        }
        let fallback = self.retry.backoff(tries.limited);
        let wait = wait_after_429(rate.as_ref(), Utc::now(), fallback) + self.retry.jitter();
        tracing::warn!(%endpoint, wait_ms = wait.as_millis() as u64, "Helix answered 429; waiting");
        Step::Retry(wait)
    }

    fn after_5xx(&self, call: &Call<'_>, status: u16, message: String, tries: &mut Tries) -> Step {
        tries.failures += 1;
        if !call.repeatable || tries.failures >= self.retry.max_attempts {
            return Step::Fail(HelixError::Unavailable {
                endpoint: call.name(),
                status,
                message,
                attempts: tries.sent,
            });
        }
        let wait = self.retry.backoff(tries.failures);
        tracing::warn!(endpoint = %call.name(), status, wait_ms = wait.as_millis() as u64, "Helix failed; retrying");
        Step::Retry(wait)
    }

    /// Decides what a transport error means: retried if the call is
    /// repeatable or certainly never reached Twitch.
    fn judge_transport(&self, call: &Call<'_>, e: reqwest::Error, tries: &mut Tries) -> Step {
        tries.failures += 1;
        let retry = call.repeatable || e.is_connect();
        if !retry || tries.failures >= self.retry.max_attempts {
            return Step::Fail(HelixError::Http {
                endpoint: call.name(),
                attempts: tries.sent,
                source: e,
            });
        }
        let wait = self.retry.backoff(tries.failures);
        tracing::warn!(endpoint = %call.name(), error = %e, wait_ms = wait.as_millis() as u64, "Helix unreachable; retrying");
        Step::Retry(wait)
    }
}

fn decode<T: DeserializeOwned>(call: &Call<'_>, body: &[u8]) -> Result<T, HelixError> {
    serde_json::from_slice(body).map_err(|e| HelixError::Decode {
        endpoint: call.name(),
        detail: e.to_string(),
    })
}
