//! Helix rate limiting from Twitch's headers (a token bucket per client id
//! and user; most calls cost 1 point). Pure: no sockets, and the clock is a
//! parameter, so every decision is unit-tested.
//!
//! We throttle from the headers, not from the nominal 800 points a minute:
//! when the last answer said `Ratelimit-Remaining: 0`, the next request
//! waits until `Ratelimit-Reset` instead of burning a 429. Requests sent in
//! between count against the remaining points locally, so concurrent
//! callers don't all spend the last one.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use serde::Serialize;

/// Longest wait a header can impose: Twitch's bucket refills within a
/// minute, so a later reset means clock skew or a bad header.
pub const MAX_WAIT: Duration = Duration::from_secs(60);

/// The last `Ratelimit-*` headers Twitch sent, for status pages and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RateLimitSnapshot {
    /// `Ratelimit-Limit`: bucket size (points).
    pub limit: u32,
    /// `Ratelimit-Remaining`: points left.
    pub remaining: u32,
    /// `Ratelimit-Reset`: when the bucket is full again.
    pub reset: DateTime<Utc>,
}

impl RateLimitSnapshot {
    /// Reads the three headers; `None` unless all are present and numeric.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let number =
            |name: &str| -> Option<i64> { headers.get(name)?.to_str().ok()?.trim().parse().ok() };
        Some(RateLimitSnapshot {
            limit: u32::try_from(number("ratelimit-limit")?).ok()?,
            remaining: u32::try_from(number("ratelimit-remaining")?).ok()?,
            reset: DateTime::from_timestamp(number("ratelimit-reset")?, 0)?,
        })
    }

    /// How long until `reset` from `now` (zero if passed), at most
    /// [`MAX_WAIT`].
    pub fn until_reset(&self, now: DateTime<Utc>) -> Duration {
        (self.reset - now)
            .to_std()
            .unwrap_or_default()
            .min(MAX_WAIT)
    }
}

/// The client's view of the bucket: what Twitch last said, minus what we
/// sent since.
#[derive(Debug, Default)]
pub struct RateLimiter {
    last_seen: Option<RateLimitSnapshot>,
    budget: Option<RateLimitSnapshot>,
}

impl RateLimiter {
    /// Records the headers of an answer.
    pub fn observe(&mut self, seen: RateLimitSnapshot) {
        self.last_seen = Some(seen);
        self.budget = Some(seen);
    }

    /// Asks to send one request at `now`: `None` = go (the point is
    /// counted), `Some(wait)` = wait that long, then ask again.
    pub fn reserve(&mut self, now: DateTime<Utc>) -> Option<Duration> {
        let budget = self.budget.as_mut()?;
        if now >= budget.reset {
            // Refilled; the next answer's headers tell the new level.
            self.budget = None;
            return None;
        }
        if budget.remaining > 0 {
            budget.remaining -= 1;
            return None;
        }
        Some(budget.until_reset(now))
    }

    /// The last headers seen, as Twitch sent them.
    pub fn last_seen(&self) -> Option<RateLimitSnapshot> {
        self.last_seen
    }
}

/// How long to wait after a 429: until the answer's reset if it is ahead of
/// `now`, else `fallback` (a backoff). The caller adds jitter.
pub fn wait_after_429(
    seen: Option<&RateLimitSnapshot>,
    now: DateTime<Utc>,
    fallback: Duration,
) -> Duration {
    match seen {
        Some(seen) if seen.reset > now => seen.until_reset(now),
        _ => fallback,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap()
    }

    fn snap(remaining: u32, reset: i64) -> RateLimitSnapshot {
        RateLimitSnapshot {
            limit: 800,
            remaining,
            reset: at(reset),
        }
    }

    #[test]
    fn headers_are_read_or_ignored_whole() {
        let mut h = HeaderMap::new();
        h.insert("Ratelimit-Limit", "800".parse().unwrap());
        h.insert("Ratelimit-Remaining", "0".parse().unwrap());
        assert_eq!(RateLimitSnapshot::from_headers(&h), None);
        h.insert("Ratelimit-Reset", "1700000010".parse().unwrap());
        assert_eq!(RateLimitSnapshot::from_headers(&h), Some(snap(0, 10)));
        h.insert("Ratelimit-Remaining", "lots".parse().unwrap());
        assert_eq!(RateLimitSnapshot::from_headers(&h), None);
    }

    #[test]
    fn nothing_known_means_go() {
        assert_eq!(RateLimiter::default().reserve(at(0)), None);
    }

    #[test]
    fn remaining_points_are_spent_locally_then_we_wait_for_reset() {
        let mut limiter = RateLimiter::default();
        limiter.observe(snap(2, 30));
        assert_eq!(limiter.reserve(at(0)), None);
        assert_eq!(limiter.reserve(at(0)), None);
        assert_eq!(limiter.reserve(at(0)), Some(Duration::from_secs(30)));
        assert_eq!(limiter.reserve(at(20)), Some(Duration::from_secs(10)));
        // The headers as seen stay as Twitch sent them.
        assert_eq!(limiter.last_seen(), Some(snap(2, 30)));
    }

    #[test]
    fn an_empty_bucket_waits_until_reset_and_not_after() {
        let mut limiter = RateLimiter::default();
        limiter.observe(snap(0, 5));
        let now = at(0) + TimeDelta::milliseconds(500);
        assert_eq!(limiter.reserve(now), Some(Duration::from_millis(4500)));
        assert_eq!(limiter.reserve(at(5)), None);
        assert_eq!(
            limiter.reserve(at(5)),
            None,
            "refilled: go until told otherwise"
        );
    }

    #[test]
    fn a_far_reset_is_capped() {
        let mut limiter = RateLimiter::default();
        limiter.observe(snap(0, 3600));
        assert_eq!(limiter.reserve(at(0)), Some(MAX_WAIT));
    }

    #[test]
    fn after_a_429_wait_for_reset_or_back_off() {
        let fallback = Duration::from_millis(700);
        assert_eq!(
            wait_after_429(Some(&snap(0, 3)), at(0), fallback),
            Duration::from_secs(3)
        );
        assert_eq!(
            wait_after_429(Some(&snap(0, -1)), at(0), fallback),
            fallback
        );
        assert_eq!(wait_after_429(None, at(0), fallback), fallback);
    }
}
