//! Helix client: typed requests for what Stagehand needs (users, EventSub
//! subscriptions, the pollers' lists, chat), with cursor pagination,
//! throttling from Twitch's rate-limit headers and retries.
//!
//! The list functions that read "all pages" either return the complete list
//! or an error, never a partial list: the pollers diff whole sets, and a
//! truncated follower list would look like mass unfollows. Tokens come from
//! [`TwitchAuth`] (a 401 refreshes once) and never reach a log.

mod error;
mod ratelimit;
mod request;
mod retry;
#[cfg(test)]
mod tests;
mod types;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::twitch::auth::TwitchAuth;
use crate::twitch::eventsub::protocol::Subscription;
use request::Call;

pub use error::{HelixError, missing_scope};
pub use ratelimit::{MAX_WAIT, RateLimitSnapshot, RateLimiter, wait_after_429};
pub use retry::RetryPolicy;
pub use types::{
    BannedUser, Clip, DropReason, Follower, Page, SentChat, Subscriber, User, UserRef,
};

/// Helix allows at most 100 items (or ids) per request.
pub const MAX_PAGE: u32 = 100;

/// The Helix API client; cheap to clone (clones share the rate-limit view
/// and the request counter).
#[derive(Clone)]
pub struct HelixClient {
    inner: Arc<Inner>,
    retry: RetryPolicy,
}

/// Shows where it points and the request count: never the token.
impl std::fmt::Debug for HelixClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HelixClient")
            .field("api_url", &self.inner.api_url)
            .field("requests_sent", &self.requests_sent())
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

struct Inner {
    http: reqwest::Client,
    api_url: String,
    auth: TwitchAuth,
    limiter: Mutex<RateLimiter>,
    sent: AtomicU64,
}

impl HelixClient {
    /// A client for `api_url` (e.g. `https://api.twitch.tv/helix`) using
    /// `auth`'s token, with the default [`RetryPolicy`].
    pub fn new(http: reqwest::Client, api_url: &str, auth: TwitchAuth) -> Self {
        HelixClient {
            inner: Arc::new(Inner {
                http,
                api_url: api_url.trim_end_matches('/').to_owned(),
                auth,
                limiter: Mutex::new(RateLimiter::default()),
                sent: AtomicU64::new(0),
            }),
            retry: RetryPolicy::default(),
        }
    }

    /// The same client with other retry settings (tests use short delays).
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Users by id and/or login (batched by 100); none at all = the token's
    /// own user.
    pub async fn users(&self, ids: &[&str], logins: &[&str]) -> Result<Vec<User>, HelixError> {
        let keys: Vec<(&'static str, String)> = ids
            .iter()
            .map(|id| ("id", id.to_string()))
            .chain(logins.iter().map(|login| ("login", login.to_string())))
            .collect();
        if keys.is_empty() {
            return Ok(self.page(&Call::get("users", Vec::new())).await?.data);
        }
        let mut users = Vec::new();
        for batch in keys.chunks(MAX_PAGE as usize) {
            users.extend(self.page(&Call::get("users", batch.to_vec())).await?.data);
        }
        Ok(users)
    }

    /// Creates an EventSub subscription (`body` = `{type, version,
    /// condition, transport}`); Twitch answers 202 with it.
    /// A duplicate is [`HelixError::Conflict`].
    pub async fn create_eventsub_subscription(
        &self,
        body: &Value,
    ) -> Result<Subscription, HelixError> {
        // Repeatable: if a lost answer hid a success, the retry's 409 says so.
        self.first_item(&Call::post("eventsub/subscriptions", body, true))
            .await
    }

    /// Every EventSub subscription of this client id and user (all pages),
    /// so stale ones can be deleted at start-up.
    pub async fn eventsub_subscriptions(&self) -> Result<Vec<Subscription>, HelixError> {
        self.all_pages("eventsub/subscriptions", Vec::new(), false)
            .await
    }

    /// Deletes an EventSub subscription; one already gone (404) counts as
    /// deleted.
    pub async fn delete_eventsub_subscription(&self, id: &str) -> Result<(), HelixError> {
        let call = Call::delete("eventsub/subscriptions", vec![("id", id.to_owned())]);
        match self.send(&call).await {
            Err(HelixError::Status { status: 404, .. }) => Ok(()),
            other => other.map(drop),
        }
    }

    /// One page of followers (newest first), with `total`; `first` is
    /// clamped to 1..=100.
    pub async fn followers_page(
        &self,
        broadcaster_id: &str,
        after: Option<&str>,
        first: u32,
    ) -> Result<Page<Follower>, HelixError> {
        let mut query = vec![
            ("broadcaster_id", broadcaster_id.to_owned()),
            ("first", first.clamp(1, MAX_PAGE).to_string()),
        ];
        query.extend(after.map(|a| ("after", a.to_owned())));
        self.page(&Call::get("channels/followers", query)).await
    }

    /// Every follower (all pages) or an error.
    pub async fn followers(&self, broadcaster_id: &str) -> Result<Vec<Follower>, HelixError> {
        self.all_pages("channels/followers", broadcaster(broadcaster_id), true)
            .await
    }

    /// Every subscriber (all pages) or an error.
    pub async fn subscriptions(&self, broadcaster_id: &str) -> Result<Vec<Subscriber>, HelixError> {
        self.all_pages("subscriptions", broadcaster(broadcaster_id), true)
            .await
    }

    /// Every VIP (all pages) or an error.
    pub async fn vips(&self, broadcaster_id: &str) -> Result<Vec<UserRef>, HelixError> {
        self.all_pages("channels/vips", broadcaster(broadcaster_id), true)
            .await
    }

    /// Every moderator (all pages) or an error.
    pub async fn moderators(&self, broadcaster_id: &str) -> Result<Vec<UserRef>, HelixError> {
        self.all_pages("moderation/moderators", broadcaster(broadcaster_id), true)
            .await
    }

    /// Every ban and timeout (all pages) or an error.
    pub async fn banned(&self, broadcaster_id: &str) -> Result<Vec<BannedUser>, HelixError> {
        self.all_pages("moderation/banned", broadcaster(broadcaster_id), true)
            .await
    }

    /// The channel's clips (all pages), made since `started_at` when given
    /// (Twitch then ends the window a week later).
    pub async fn clips(
        &self,
        broadcaster_id: &str,
        started_at: Option<DateTime<Utc>>,
    ) -> Result<Vec<Clip>, HelixError> {
        let mut query = broadcaster(broadcaster_id);
        query.extend(
            started_at.map(|t| ("started_at", t.to_rfc3339_opts(SecondsFormat::Secs, true))),
        );
        self.all_pages("clips", query, true).await
    }

    /// Posts `message` to the broadcaster's chat as `sender_id`. Not
    /// retried once it may have reached Twitch (no double posts).
    pub async fn send_chat_message(
        &self,
        broadcaster_id: &str,
        sender_id: &str,
        message: &str,
    ) -> Result<SentChat, HelixError> {
        let body = json!({
            "broadcaster_id": broadcaster_id,
            "sender_id": sender_id,
            "message": message,
        });
        self.first_item(&Call::post("chat/messages", &body, false))
            .await
    }

    /// HTTP requests actually sent (retries included), for benchmarks.
    pub fn requests_sent(&self) -> u64 {
        self.inner.sent.load(Ordering::Relaxed)
    }

    /// The last rate-limit headers Twitch sent.
    pub fn rate_limit(&self) -> Option<RateLimitSnapshot> {
        self.limiter().last_seen()
    }

    fn limiter(&self) -> MutexGuard<'_, RateLimiter> {
        self.inner
            .limiter
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

fn broadcaster(id: &str) -> Vec<(&'static str, String)> {
    vec![("broadcaster_id", id.to_owned())]
}
