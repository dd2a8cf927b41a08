//! What the Redis bridge is doing, shared by its tasks and read by
//! `GET /api/external`, `/healthz` and the dashboard: whether each side is
//! connected, what came in, what went out, and the last error. Every change
//! wakes [`RedisStatus::changed`], which the bridge turns into (throttled)
//! `external` live notices.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use tokio::sync::Notify;

/// How long a configured side may be disconnected before `/healthz` says
/// the host is degraded. A reconnect (a killed connection, a Redis restart)
/// takes a second or two; this is long enough that one never flips health,
/// short enough that a Redis that is really gone shows within a minute.
pub const DEGRADED_AFTER: Duration = Duration::from_secs(30);

/// The longest error text kept (a server's error can be long).
const MAX_ERROR_CHARS: usize = 300;

/// The bridge's shared state. Cloning is cheap.
#[derive(Clone)]
pub struct RedisStatus {
    inner: Arc<Mutex<State>>,
    changed: Arc<Notify>,
}

/// One side of the bridge (the subscriber, or the publisher).
#[derive(Debug, Clone, Default)]
struct Side {
    connected: bool,
    connected_at: Option<DateTime<Utc>>,
    /// Since when it has been trying to connect (the monotonic clock, for
    /// health; `None` while connected or not configured).
    down_since: Option<Instant>,
    last_error: Option<String>,
    last_error_at: Option<DateTime<Utc>>,
    /// Connections lost and made again.
    reconnects: u64,
}

impl Side {
    fn up(&mut self) {
        if self.connected_at.is_some() {
            // A connection was made before: this one replaces it.
            self.reconnects += 1;
        }
        self.connected = true;
        self.connected_at = Some(crate::event::now_ms());
        self.down_since = None;
    }

    fn down(&mut self, error: &str, now: Instant) {
        self.connected = false;
        self.down_since.get_or_insert(now);
        let error: String = error.chars().take(MAX_ERROR_CHARS).collect();
        self.last_error = Some(error);
        self.last_error_at = Some(crate::event::now_ms());
    }
}

#[derive(Debug, Clone, Default)]
struct State {
    configured: bool,
    url: Option<String>,
    channels: Vec<String>,
    publish_channel: Option<String>,
    client_name: Option<String>,
    subscriber: Side,
    publisher: Side,
    last_message_at: Option<DateTime<Utc>>,
    messages: u64,
    malformed: u64,
    dropped: u64,
    published: u64,
    publish_dropped: u64,
}

/// `GET /api/external`'s `redis` part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RedisView {
    /// Whether `STAGEHAND_REDIS_URL` is set.
    pub configured: bool,
    /// Whether the subscription is up now.
    pub connected: bool,
    /// The server's URL with any password shown as `***`.
    pub url: Option<String>,
    pub channels: Vec<String>,
    pub publish_channel: Option<String>,
    /// The name the bridge's connections carry in Redis's `CLIENT LIST`
    /// (the publisher's adds `-publish`).
    pub client_name: Option<String>,
    pub connected_at: Option<String>,
    /// When the last message arrived (any message, malformed included).
    pub last_message_at: Option<String>,
    /// Messages received, malformed included.
    pub messages: u64,
    /// Messages that were not made events (see the protocol).
    pub malformed: u64,
    /// Messages that arrived faster than the pipeline took them and were
    /// dropped.
    pub dropped: u64,
    /// The last connection error of either side, with when it happened.
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    /// Subscriptions lost and made again.
    pub reconnects: u64,
    /// Whether the publishing connection is up (false when not publishing).
    pub publish_connected: bool,
    pub published: u64,
    /// Stored events not published because Redis was unreachable and the
    /// queue was full (or the host stopped meanwhile).
    pub publish_dropped: u64,
    pub publish_reconnects: u64,
}

fn iso(at: Option<DateTime<Utc>>) -> Option<String> {
    at.map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

impl Default for RedisStatus {
    fn default() -> Self {
        RedisStatus {
            inner: Arc::new(Mutex::new(State::default())),
            changed: Arc::new(Notify::new()),
        }
    }
}

impl RedisStatus {
    /// The status of a configured bridge (`url` already without its
    /// password).
    pub fn configured(
        url: String,
        channels: Vec<String>,
        publish_channel: Option<String>,
        client_name: String,
    ) -> Self {
        let status = RedisStatus::default();
        {
            let mut s = status.lock();
            let now = Instant::now();
            s.configured = true;
            s.url = Some(url);
            s.channels = channels;
            s.subscriber.down_since = Some(now);
            if publish_channel.is_some() {
                s.publisher.down_since = Some(now);
            }
            s.publish_channel = publish_channel;
            s.client_name = Some(client_name);
        }
        status
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn update(&self, change: impl FnOnce(&mut State)) {
        change(&mut self.lock());
        self.changed.notify_one();
    }

    /// Resolves after the next change (one wake-up for any number of
    /// changes since the last one).
    pub async fn changed(&self) {
        self.changed.notified().await;
    }

    pub fn is_configured(&self) -> bool {
        self.lock().configured
    }

    /// The subscription is up.
    pub fn subscriber_up(&self) {
        self.update(|s| s.subscriber.up());
    }

    /// The subscription is down (or could not be made), and why.
    pub fn subscriber_down(&self, error: &str) {
        let now = Instant::now();
        self.update(|s| s.subscriber.down(error, now));
    }

    /// The publishing connection is up.
    pub fn publisher_up(&self) {
        self.update(|s| s.publisher.up());
    }

    /// The publishing connection is down, and why.
    pub fn publisher_down(&self, error: &str) {
        let now = Instant::now();
        self.update(|s| s.publisher.down(error, now));
    }

    /// A message arrived; `malformed` when it was not made an event.
    pub fn message(&self, malformed: bool) -> u64 {
        let mut count = 0;
        self.update(|s| {
            s.messages += 1;
            s.last_message_at = Some(crate::event::now_ms());
            if malformed {
                s.malformed += 1;
            }
            count = s.malformed;
        });
        count
    }

    /// A message arrived while the inbox was full; it was dropped.
    pub fn message_dropped(&self) -> u64 {
        let mut count = 0;
        self.update(|s| {
            s.messages += 1;
            s.dropped += 1;
            s.last_message_at = Some(crate::event::now_ms());
            count = s.dropped;
        });
        count
    }

    /// An event was published.
    pub fn published(&self) {
        self.update(|s| s.published += 1);
    }

    /// `n` stored events were not published.
    pub fn publish_dropped(&self, n: u64) -> u64 {
        let mut count = 0;
        self.update(|s| {
            s.publish_dropped += n;
            count = s.publish_dropped;
        });
        count
    }

    /// What `GET /api/external` shows.
    pub fn view(&self) -> RedisView {
        let s = self.lock();
        let (last_error, last_error_at) = match (
            (&s.subscriber.last_error, s.subscriber.last_error_at),
            (&s.publisher.last_error, s.publisher.last_error_at),
        ) {
            ((Some(a), Some(at_a)), (Some(b), Some(at_b))) => {
                if at_b > at_a {
                    (Some(format!("publishing: {b}")), Some(at_b))
                } else {
                    (Some(a.clone()), Some(at_a))
                }
            }
            ((Some(a), at), _) => (Some(a.clone()), at),
            (_, (Some(b), at)) => (Some(format!("publishing: {b}")), at),
            _ => (None, None),
        };
        RedisView {
            configured: s.configured,
            connected: s.subscriber.connected,
            url: s.url.clone(),
            channels: s.channels.clone(),
            publish_channel: s.publish_channel.clone(),
            client_name: s.client_name.clone(),
            connected_at: iso(s.subscriber.connected_at),
            last_message_at: iso(s.last_message_at),
            messages: s.messages,
            malformed: s.malformed,
            dropped: s.dropped,
            last_error,
            last_error_at: iso(last_error_at),
            reconnects: s.subscriber.reconnects,
            publish_connected: s.publisher.connected,
            published: s.published,
            publish_dropped: s.publish_dropped,
            publish_reconnects: s.publisher.reconnects,
        }
    }

    /// Why `/healthz` should say degraded at `now`: a side that has been
    /// trying to connect for longer than [`DEGRADED_AFTER`]; `None` while
    /// both are up or only briefly down.
    pub fn health_problem(&self, now: Instant) -> Option<String> {
        let s = self.lock();
        let url = s.url.as_deref().unwrap_or("Redis");
        let mut reasons = Vec::new();
        let sides = [
            ("subscribing to", &s.subscriber),
            ("publishing to", &s.publisher),
        ];
        for (what, side) in sides {
            let Some(since) = side.down_since else {
                continue;
            };
            let down = now.saturating_duration_since(since);
            if down > DEGRADED_AFTER {
                reasons.push(format!(
                    "{what} {url}: disconnected for {} s ({})",
                    down.as_secs(),
                    side.last_error.as_deref().unwrap_or("not connected yet")
                ));
            }
        }
        (!reasons.is_empty()).then(|| reasons.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status() -> RedisStatus {
        RedisStatus::configured(
            "redis://:***@127.0.0.1:6379".into(),
            vec!["discord_events".into()],
            Some("stagehand_events".into()),
            "stagehand-1".into(),
        )
    }

    #[test]
    fn health_degrades_only_after_thirty_seconds_down() {
        let s = status();
        let start = Instant::now();
        s.subscriber_down("Connection refused");
        assert_eq!(s.health_problem(start + Duration::from_secs(5)), None);
        let problem = s
            .health_problem(start + Duration::from_secs(31))
            .expect("degraded after 30 s");
        assert!(
            problem.contains("subscribing to redis://:***@127.0.0.1:6379"),
            "{problem}"
        );
        assert!(problem.contains("Connection refused"), "{problem}");
        assert!(
            problem.contains("publishing to"),
            "the publisher never connected either"
        );
        s.subscriber_up();
        s.publisher_up();
        assert_eq!(s.health_problem(start + Duration::from_secs(60)), None);
    }

    #[test]
    fn a_brief_reconnect_does_not_flip_health() {
        let s = status();
        s.subscriber_up();
        s.publisher_up();
        let lost = Instant::now();
        s.subscriber_down("connection closed");
        s.subscriber_up();
        assert_eq!(s.health_problem(lost + Duration::from_secs(300)), None);
        let view = s.view();
        assert!(view.connected);
        assert_eq!(view.reconnects, 1);
        assert_eq!(view.last_error.as_deref(), Some("connection closed"));
    }

    #[test]
    fn counters_and_errors_show_in_the_view() {
        let s = status();
        s.subscriber_up();
        s.message(false);
        s.message(true);
        s.message_dropped();
        s.published();
        s.publish_dropped(3);
        s.publisher_down(&"x".repeat(1000));
        let view = s.view();
        assert_eq!((view.messages, view.malformed, view.dropped), (3, 1, 1));
        assert_eq!((view.published, view.publish_dropped), (1, 3));
        assert_eq!(view.reconnects, 0, "the first connection is no reconnect");
        let error = view.last_error.unwrap();
        assert!(error.starts_with("publishing: "), "{error}");
        assert!(error.len() < 400, "errors are cut short");
        assert!(view.last_message_at.is_some());
        let unconfigured = RedisStatus::default().view();
        assert!(!unconfigured.configured && !unconfigured.connected);
        assert_eq!(RedisStatus::default().health_problem(Instant::now()), None);
    }
}
