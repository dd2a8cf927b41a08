//! What the mock records about the HTTP traffic it serves and the faults
//! it was told to inject: request counts per path (tests and benchmarks
//! assert on them), injected failures (the next N requests under a path
//! prefix, or only page k of a paginated list), the rate-limit buckets, and
//! the chat messages the host sent.
//!
//! Pure: time comes in as an argument.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ratelimit::{TokenBucket, Verdict};

/// An injected failure: requests matching `path_prefix` (and `method`,
/// `page` when set) answer `status` instead of their real answer, `times`
/// times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelixFault {
    /// Matched against the request path; `channels/followers`,
    /// `/channels/followers` and `/helix/channels/followers` all mean the
    /// Helix path, while `/oauth2/...` targets the auth endpoints.
    pub path_prefix: String,
    /// The status to answer (500, 503, 429, 401, ...).
    pub status: u16,
    /// How many matching requests fail (then the fault is spent).
    #[serde(default = "one")]
    pub times: u32,
    /// Only fail this 1-based page of a paginated list (page 1 = no cursor).
    #[serde(default)]
    pub page: Option<u32>,
    /// Only fail this HTTP method (`GET`, `POST`, ...).
    #[serde(default)]
    pub method: Option<String>,
    /// The error message (default: empty, as Twitch often sends).
    #[serde(default)]
    pub message: Option<String>,
    /// For a 429: seconds until `Ratelimit-Reset` (default 1).
    #[serde(default)]
    pub reset_after_secs: Option<u64>,
}

fn one() -> u32 {
    1
}

impl HelixFault {
    /// The next `times` requests under `path_prefix` answer `status`.
    pub fn new(path_prefix: &str, status: u16, times: u32) -> Self {
        HelixFault {
            path_prefix: normalize_path(path_prefix),
            status,
            times,
            page: None,
            method: None,
            message: None,
            reset_after_secs: None,
        }
    }

    /// Only page `page` (1-based) of the list fails.
    pub fn on_page(mut self, page: u32) -> Self {
        self.page = Some(page);
        self
    }

    fn matches(&self, method: &str, path: &str, page: u32) -> bool {
        path.starts_with(&normalize_path(&self.path_prefix))
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self.page.is_none_or(|p| p == page)
    }
}

/// Turns a path as tests write it into the server's path: Helix paths may
/// omit `/helix`; `/oauth2`, `/ws` and `/mock` paths are kept.
pub fn normalize_path(path: &str) -> String {
    let trimmed = path.trim();
    for root in ["/helix", "/oauth2", "/ws", "/mock"] {
        if trimmed == root || trimmed.starts_with(&format!("{root}/")) {
            return trimmed.to_owned();
        }
    }
    format!("/helix/{}", trimmed.trim_start_matches('/'))
}

/// A chat message the host sent with `POST /helix/chat/messages`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SentChatMessage {
    /// The id Helix answered with.
    pub message_id: String,
    /// The channel.
    pub broadcaster_id: String,
    /// Who sent it (the token's user).
    pub sender_id: String,
    /// The text.
    pub message: String,
    /// The message replied to, if any.
    pub reply_parent_message_id: Option<String>,
    /// When it arrived.
    pub sent_at: DateTime<Utc>,
}

/// The recorded traffic and the injected faults.
#[derive(Debug)]
pub struct Traffic {
    counts: BTreeMap<String, u64>,
    faults: Vec<HelixFault>,
    buckets: HashMap<(String, String), TokenBucket>,
    capacity: u32,
    window: Duration,
    sent_chat: Vec<SentChatMessage>,
}

impl Traffic {
    /// No traffic yet; buckets of `capacity` points per `window`.
    pub fn new(capacity: u32, window: Duration) -> Self {
        Traffic {
            counts: BTreeMap::new(),
            faults: Vec::new(),
            buckets: HashMap::new(),
            capacity,
            window,
            sent_chat: Vec::new(),
        }
    }

    /// Counts one request to `path`.
    pub fn count(&mut self, path: &str) {
        *self.counts.entry(path.to_owned()).or_default() += 1;
    }

    /// Requests served for `path` (written as for [`normalize_path`]).
    pub fn request_count(&self, path: &str) -> u64 {
        self.counts.get(&normalize_path(path)).copied().unwrap_or(0)
    }

    /// Every path's count.
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        self.counts.clone()
    }

    /// Forgets the counts.
    pub fn reset_counts(&mut self) {
        self.counts.clear();
    }

    /// Adds a fault (after those already waiting).
    pub fn add_fault(&mut self, fault: HelixFault) {
        if fault.times > 0 {
            self.faults.push(fault);
        }
    }

    /// Removes every waiting fault.
    pub fn clear_faults(&mut self) {
        self.faults.clear();
    }

    /// The fault this request runs into, if any (using up one of its times).
    pub fn take_fault(&mut self, method: &str, path: &str, page: u32) -> Option<HelixFault> {
        let index = self
            .faults
            .iter()
            .position(|f| f.matches(method, path, page))?;
        let fault = &mut self.faults[index];
        fault.times -= 1;
        let taken = fault.clone();
        if fault.times == 0 {
            self.faults.remove(index);
        }
        Some(taken)
    }

    fn bucket(&mut self, client_id: &str, user_id: &str, now_ms: u64) -> &mut TokenBucket {
        let (capacity, window) = (self.capacity, self.window);
        self.buckets
            .entry((client_id.to_owned(), user_id.to_owned()))
            .or_insert_with(|| TokenBucket::new(capacity, window, now_ms))
    }

    /// Takes one point from the client+user bucket.
    pub fn take_point(&mut self, client_id: &str, user_id: &str, now_ms: u64) -> Verdict {
        self.bucket(client_id, user_id, now_ms).take(1, now_ms)
    }

    /// The bucket's state without taking a point.
    pub fn peek(&mut self, client_id: &str, user_id: &str, now_ms: u64) -> Verdict {
        self.bucket(client_id, user_id, now_ms).peek(now_ms)
    }

    /// Empties the client+user bucket (an injected 429).
    pub fn drain(&mut self, client_id: &str, user_id: &str, now_ms: u64) {
        self.bucket(client_id, user_id, now_ms).drain(now_ms);
    }

    /// Records a chat message the host sent.
    pub fn record_chat(&mut self, message: SentChatMessage) {
        self.sent_chat.push(message);
    }

    /// The chat messages sent so far, oldest first.
    pub fn sent_chat(&self) -> &[SentChatMessage] {
        &self.sent_chat
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalized() {
        assert_eq!(normalize_path("users"), "/helix/users");
        assert_eq!(normalize_path("/users"), "/helix/users");
        assert_eq!(normalize_path("/helix/users"), "/helix/users");
        assert_eq!(normalize_path("/oauth2/token"), "/oauth2/token");
        assert_eq!(normalize_path("/helixir"), "/helix/helixir");
    }

    #[test]
    fn counts_per_path() {
        let mut traffic = Traffic::new(800, Duration::from_secs(60));
        traffic.count("/helix/users");
        traffic.count("/helix/users");
        traffic.count("/oauth2/validate");
        assert_eq!(traffic.request_count("users"), 2);
        assert_eq!(traffic.request_count("/oauth2/validate"), 1);
        assert_eq!(traffic.request_count("clips"), 0);
        traffic.reset_counts();
        assert_eq!(traffic.request_count("users"), 0);
    }

    #[test]
    fn a_fault_fires_its_number_of_times_then_is_spent() {
        let mut traffic = Traffic::new(800, Duration::from_secs(60));
        traffic.add_fault(HelixFault::new("channels", 503, 2));
        assert_eq!(
            traffic
                .take_fault("GET", "/helix/channels/followers", 1)
                .map(|f| f.status),
            Some(503)
        );
        assert!(traffic.take_fault("GET", "/helix/users", 1).is_none());
        assert!(
            traffic
                .take_fault("GET", "/helix/channels/vips", 3)
                .is_some()
        );
        assert!(
            traffic
                .take_fault("GET", "/helix/channels/vips", 1)
                .is_none()
        );
    }

    #[test]
    fn a_page_fault_only_hits_that_page() {
        let mut traffic = Traffic::new(800, Duration::from_secs(60));
        traffic.add_fault(HelixFault::new("/helix/channels/followers", 500, 1).on_page(3));
        assert!(
            traffic
                .take_fault("GET", "/helix/channels/followers", 1)
                .is_none()
        );
        assert!(
            traffic
                .take_fault("GET", "/helix/channels/followers", 2)
                .is_none()
        );
        assert!(
            traffic
                .take_fault("GET", "/helix/channels/followers", 3)
                .is_some()
        );
        assert!(
            traffic
                .take_fault("GET", "/helix/channels/followers", 3)
                .is_none()
        );
    }

    #[test]
    fn a_method_fault_ignores_other_methods() {
        let mut traffic = Traffic::new(800, Duration::from_secs(60));
        let fault = HelixFault {
            method: Some("POST".into()),
            ..HelixFault::new("eventsub/subscriptions", 500, 1)
        };
        traffic.add_fault(fault);
        assert!(
            traffic
                .take_fault("GET", "/helix/eventsub/subscriptions", 1)
                .is_none()
        );
        assert!(
            traffic
                .take_fault("post", "/helix/eventsub/subscriptions", 1)
                .is_some()
        );
    }

    #[test]
    fn buckets_are_per_client_and_user() {
        let mut traffic = Traffic::new(2, Duration::from_secs(60));
        assert!(traffic.take_point("c", "u1", 0).allowed);
        assert!(traffic.take_point("c", "u1", 0).allowed);
        assert!(!traffic.take_point("c", "u1", 0).allowed);
        assert!(traffic.take_point("c", "u2", 0).allowed);
        traffic.drain("c", "u2", 0);
        assert_eq!(traffic.peek("c", "u2", 0).remaining, 0);
    }
}
