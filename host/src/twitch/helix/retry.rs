//! How often and how long to retry a Helix request. Pure apart from the
//! random jitter, whose bounds are tested.

use std::time::Duration;

/// Retry settings; [`RetryPolicy::default`] is what production uses, tests
/// shrink the delays with [`super::HelixClient::with_retry`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// First backoff after a 5xx or connection error; doubles per failure.
    pub base: Duration,
    /// Longest single backoff.
    pub cap: Duration,
    /// Attempts in all before a 5xx / connection error is reported.
    pub max_attempts: u32,
    /// Attempts in all before a run of 429s is reported.
    pub max_rate_limited: u32,
    /// Most random delay added to a 429 wait, so many clients don't all
    /// come back at the reset instant.
    pub jitter: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_millis(250),
            cap: Duration::from_secs(8),
            max_attempts: 4,
            max_rate_limited: 5,
            jitter: Duration::from_millis(250),
        }
    }
}

impl RetryPolicy {
    /// The wait after the `failures`-th failure (1-based): exponential from
    /// `base`, at most `cap`, randomized within its upper half ("equal
    /// jitter") so retries from many requests spread out.
    pub fn backoff(&self, failures: u32) -> Duration {
        let ceiling = self.ceiling(failures);
        let half = ceiling / 2;
        half + random_up_to(ceiling - half)
    }

    /// The largest [`RetryPolicy::backoff`] for `failures`.
    pub fn ceiling(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        self.base.saturating_mul(1 << doublings).min(self.cap)
    }

    /// A random extra delay for 429 waits, at most `jitter`.
    pub fn jitter(&self) -> Duration {
        random_up_to(self.jitter)
    }
}

fn random_up_to(max: Duration) -> Duration {
    let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rand::random_range(0..=nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_bounds_and_stops_at_the_cap() {
        let p = RetryPolicy::default();
        let ms = Duration::from_millis;
        assert_eq!(p.ceiling(1), ms(250));
        assert_eq!(p.ceiling(2), ms(500));
        assert_eq!(p.ceiling(4), ms(2000));
        assert_eq!(p.ceiling(6), ms(8000));
        assert_eq!(p.ceiling(u32::MAX), ms(8000));
        for failures in 1..40 {
            for _ in 0..20 {
                let wait = p.backoff(failures);
                let ceiling = p.ceiling(failures);
                assert!(
                    wait >= ceiling / 2 && wait <= ceiling,
                    "{failures}: {wait:?}"
                );
            }
        }
    }

    #[test]
    fn jitter_is_bounded() {
        let p = RetryPolicy::default();
        for _ in 0..100 {
            assert!(p.jitter() <= p.jitter);
        }
        let none = RetryPolicy {
            jitter: Duration::ZERO,
            ..p
        };
        assert_eq!(none.jitter(), Duration::ZERO);
    }
}
