//! Helix's rate limit: a token bucket per client id and user, as Twitch
//! describes it. The bucket holds `capacity` points, refills continuously at
//! `capacity` points per window (a minute), and each request takes its
//! cost (1 for almost every endpoint). `Ratelimit-Reset` is the epoch second
//! at which the bucket will be full again.
//!
//! Pure: the caller passes the time in epoch milliseconds, so the arithmetic
//! is unit-tested without sleeping.

use std::time::Duration;

/// What one request did to the bucket: whether it may proceed and the
/// values of the three `Ratelimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// False when the bucket did not hold enough points (answer 429).
    pub allowed: bool,
    /// `Ratelimit-Limit`: the bucket's capacity.
    pub limit: u32,
    /// `Ratelimit-Remaining`: whole points left after this request.
    pub remaining: u32,
    /// `Ratelimit-Reset`: epoch seconds when the bucket is full again.
    pub reset_epoch_secs: u64,
}

/// One bucket (one client id + user). Points are kept scaled by the
/// window's length in milliseconds, so refilling is exact integer
/// arithmetic (a point per `window / capacity` ms).
#[derive(Debug, Clone)]
pub struct TokenBucket {
    capacity: u64,
    window_ms: u64,
    /// Points times `window_ms`.
    scaled: u64,
    last_ms: u64,
}

impl TokenBucket {
    /// A full bucket of `capacity` points refilling completely over
    /// `window` (Twitch: 800 points per minute).
    pub fn new(capacity: u32, window: Duration, now_ms: u64) -> Self {
        let window_ms = u64::try_from(window.as_millis())
            .unwrap_or(u64::MAX / 2)
            .max(1);
        let capacity = u64::from(capacity);
        TokenBucket {
            capacity,
            window_ms,
            scaled: capacity.saturating_mul(window_ms),
            last_ms: now_ms,
        }
    }

    /// Takes `cost` points if the bucket holds them.
    pub fn take(&mut self, cost: u32, now_ms: u64) -> Verdict {
        self.refill(now_ms);
        let cost = u64::from(cost).saturating_mul(self.window_ms);
        let allowed = self.scaled >= cost;
        if allowed {
            self.scaled -= cost;
        }
        self.verdict(allowed, now_ms)
    }

    /// The headers' values without taking anything (for answers that do not
    /// count, such as a 401 or an injected fault).
    pub fn peek(&mut self, now_ms: u64) -> Verdict {
        self.refill(now_ms);
        self.verdict(true, now_ms)
    }

    /// Empties the bucket (an injected 429 behaves like real exhaustion).
    pub fn drain(&mut self, now_ms: u64) {
        self.refill(now_ms);
        self.scaled = 0;
    }

    fn full(&self) -> u64 {
        self.capacity.saturating_mul(self.window_ms)
    }

    fn refill(&mut self, now_ms: u64) {
        let elapsed = now_ms.saturating_sub(self.last_ms);
        self.scaled = self
            .scaled
            .saturating_add(elapsed.saturating_mul(self.capacity))
            .min(self.full());
        self.last_ms = self.last_ms.max(now_ms);
    }

    fn verdict(&self, allowed: bool, now_ms: u64) -> Verdict {
        let missing = self.full() - self.scaled;
        let full_in_ms = if self.capacity == 0 {
            0
        } else {
            missing.div_ceil(self.capacity)
        };
        Verdict {
            allowed,
            limit: u32::try_from(self.capacity).unwrap_or(u32::MAX),
            remaining: u32::try_from(self.scaled / self.window_ms).unwrap_or(u32::MAX),
            reset_epoch_secs: (now_ms + full_in_ms).div_ceil(1000),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);
    const T0: u64 = 1_700_000_000_000;

    #[test]
    fn a_full_bucket_allows_up_to_capacity_then_refuses() {
        let mut bucket = TokenBucket::new(3, MINUTE, T0);
        let first = bucket.take(1, T0);
        assert_eq!((first.allowed, first.limit, first.remaining), (true, 3, 2));
        assert!(bucket.take(1, T0).allowed);
        let last = bucket.take(1, T0);
        assert_eq!((last.allowed, last.remaining), (true, 0));
        let refused = bucket.take(1, T0);
        assert!(!refused.allowed);
        assert_eq!(refused.remaining, 0);
        // Empty: full again a whole window later.
        assert_eq!(refused.reset_epoch_secs, (T0 + 60_000) / 1000);
    }

    #[test]
    fn points_come_back_continuously() {
        let mut bucket = TokenBucket::new(60, MINUTE, T0);
        for _ in 0..60 {
            assert!(bucket.take(1, T0).allowed);
        }
        assert!(!bucket.take(1, T0).allowed);
        // One point per second.
        assert!(!bucket.take(1, T0 + 999).allowed);
        let verdict = bucket.take(1, T0 + 1_000);
        assert!(verdict.allowed);
        assert_eq!(verdict.remaining, 0);
        let later = bucket.peek(T0 + 11_000);
        assert_eq!(later.remaining, 10);
        // Never above capacity.
        assert_eq!(bucket.peek(T0 + 10 * 60_000).remaining, 60);
    }

    #[test]
    fn reset_is_when_the_bucket_is_full_again() {
        let mut bucket = TokenBucket::new(800, MINUTE, T0);
        let full = bucket.peek(T0);
        assert_eq!(full.remaining, 800);
        assert_eq!(full.reset_epoch_secs, T0 / 1000);
        let verdict = bucket.take(8, T0);
        assert_eq!(verdict.remaining, 792);
        // 8 points at 800/min = 600 ms.
        assert_eq!(verdict.reset_epoch_secs, (T0 + 600).div_ceil(1000));
    }

    #[test]
    fn drain_empties_and_time_going_backwards_is_harmless() {
        let mut bucket = TokenBucket::new(10, MINUTE, T0);
        bucket.drain(T0);
        assert!(!bucket.take(1, T0 - 5_000).allowed);
        assert_eq!(bucket.peek(T0).remaining, 0);
    }
}
