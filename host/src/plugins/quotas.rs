//! What one plugin may produce and keep: every limit on a plugin's output
//! and storage, in one place, so the runtime, the workers, the executor and
//! the SDK guide agree. A plugin over a quota gets an error or is faulted;
//! the host and the other plugins never notice.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::runtime::wit;

/// Keys and values a plugin keeps in its kv storage (all of it is held in
/// memory while the plugin runs).
pub const MAX_KV_BYTES: usize = 16 << 20;
pub const MAX_KV_KEYS: usize = 10_000;
pub const MAX_KV_KEY_BYTES: usize = 256;
pub const MAX_KV_VALUE_BYTES: usize = 64 << 10;
/// Keys and values one call may write: they are saved to the database when
/// the call returns, on the same writer as the events, so a bigger burst
/// would hold up events behind it.
pub const MAX_KV_WRITE_PER_CALL: usize = 256 << 10;

/// Actions one `on-event` call may return. More is refused whole and
/// faults the plugin: a flood of alerts would sit ahead of every real one.
pub const MAX_ACTIONS_PER_EVENT: usize = 20;

/// A formatter's display, field by field.
pub const MAX_DISPLAY_LABEL: usize = 64;
pub const MAX_DISPLAY_ICON: usize = 32;
pub const MAX_DISPLAY_COLOR: usize = 64;
pub const MAX_DISPLAY_TEXT: usize = 1024;

/// An alert's title, message and speech text.
pub const MAX_ALERT_TITLE: usize = 1024;
pub const MAX_ALERT_MESSAGE: usize = 4096;
pub const MAX_ALERT_TTS: usize = 1024;
/// An alert's custom HTML and CSS, each.
pub const MAX_ALERT_MARKUP: usize = 64 << 10;
/// A media URL (a `data:` URL is the longest kind).
pub const MAX_MEDIA_URL: usize = 64 << 10;
/// The longest alert.
pub const MAX_ALERT_DURATION_MS: u32 = 5 * 60 * 1000;

/// A chat message a plugin sends (Twitch's own limit).
pub const MAX_CHAT_MESSAGE: usize = 500;

/// A log line (longer ones are cut).
pub const MAX_LOG_LINE: usize = 2048;
/// Log lines per second a plugin may write, with bursts up to
/// [`LOG_BURST`]; the excess is dropped and counted in one summary line.
pub const LOG_LINES_PER_SECOND: f64 = 20.0;
pub const LOG_BURST: f64 = 100.0;

/// An error string a plugin returns (longer ones are cut).
pub const MAX_ERROR: usize = 1024;

/// Cuts `s` to at most `max` bytes at a character boundary, marking the cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes cut)", &s[..end], s.len() - end)
}

/// Checks a display against the per-field limits.
pub fn check_display(d: &wit::Display) -> Result<(), String> {
    for (field, value, max) in [
        ("label", &d.label, MAX_DISPLAY_LABEL),
        ("icon", &d.icon, MAX_DISPLAY_ICON),
        ("color", &d.color, MAX_DISPLAY_COLOR),
        ("text", &d.text, MAX_DISPLAY_TEXT),
    ] {
        if value.len() > max {
            return Err(format!(
                "display {field} of {} bytes; at most {max}",
                value.len()
            ));
        }
    }
    Ok(())
}

/// Checks how many actions one event produced.
pub fn check_action_count(n: usize) -> Result<(), String> {
    if n > MAX_ACTIONS_PER_EVENT {
        return Err(format!(
            "on-event returned {n} actions; at most {MAX_ACTIONS_PER_EVENT} per event, so none were carried out"
        ));
    }
    Ok(())
}

/// A plugin's log rate: a token bucket shared by all its instances.
pub struct LogBudget {
    inner: Mutex<Bucket>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
    dropped: u64,
    /// When dropped lines were last reported.
    reported: Option<Instant>,
}

impl Default for LogBudget {
    fn default() -> Self {
        LogBudget {
            inner: Mutex::new(Bucket {
                tokens: LOG_BURST,
                at: Instant::now(),
                dropped: 0,
                reported: None,
            }),
        }
    }
}

impl LogBudget {
    fn lock(&self) -> std::sync::MutexGuard<'_, Bucket> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes one line's worth at `now`: true to write the line, false to
    /// drop it (it is counted).
    pub fn admit(&self, now: Instant) -> bool {
        let mut b = self.lock();
        let elapsed = now.saturating_duration_since(b.at);
        b.at = now;
        b.tokens = (b.tokens + elapsed.as_secs_f64() * LOG_LINES_PER_SECOND).min(LOG_BURST);
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            b.dropped += 1;
            false
        }
    }

    /// Lines dropped since the last report, at most once a second (so the
    /// summary itself cannot flood the log).
    pub fn take_summary(&self, now: Instant) -> Option<u64> {
        let mut b = self.lock();
        if b.dropped == 0
            || b.reported
                .is_some_and(|at| now < at + Duration::from_secs(1))
        {
            return None;
        }
        b.reported = Some(now);
        Some(std::mem::take(&mut b.dropped))
    }
}

/// How long a bucket takes to refill one line (for tests and docs).
pub const LOG_REFILL: Duration = Duration::from_millis((1000.0 / LOG_LINES_PER_SECOND) as u64);

#[cfg(test)]
mod tests {
    use super::*;

    /// Plugin authors read the limits from the SDK; they must be the ones
    /// the host enforces.
    #[test]
    fn the_sdk_publishes_the_limits_the_host_enforces() {
        use crate::plugins::manifest as m;
        use crate::viewer_rules as v;
        use stagehand_plugin_sdk::limits as sdk;
        let pairs: [(&str, u64, u64); 25] = [
            (
                "actions",
                MAX_ACTIONS_PER_EVENT as u64,
                sdk::MAX_ACTIONS_PER_EVENT as u64,
            ),
            (
                "label",
                MAX_DISPLAY_LABEL as u64,
                sdk::MAX_DISPLAY_LABEL as u64,
            ),
            (
                "icon",
                MAX_DISPLAY_ICON as u64,
                sdk::MAX_DISPLAY_ICON as u64,
            ),
            (
                "color",
                MAX_DISPLAY_COLOR as u64,
                sdk::MAX_DISPLAY_COLOR as u64,
            ),
            (
                "text",
                MAX_DISPLAY_TEXT as u64,
                sdk::MAX_DISPLAY_TEXT as u64,
            ),
            ("title", MAX_ALERT_TITLE as u64, sdk::MAX_ALERT_TITLE as u64),
            (
                "message",
                MAX_ALERT_MESSAGE as u64,
                sdk::MAX_ALERT_MESSAGE as u64,
            ),
            ("tts", MAX_ALERT_TTS as u64, sdk::MAX_ALERT_TTS as u64),
            (
                "markup",
                MAX_ALERT_MARKUP as u64,
                sdk::MAX_ALERT_MARKUP as u64,
            ),
            ("media url", MAX_MEDIA_URL as u64, sdk::MAX_MEDIA_URL as u64),
            (
                "duration",
                MAX_ALERT_DURATION_MS.into(),
                sdk::MAX_ALERT_DURATION_MS.into(),
            ),
            (
                "chat",
                MAX_CHAT_MESSAGE as u64,
                sdk::MAX_CHAT_MESSAGE as u64,
            ),
            (
                "rule minutes",
                v::MAX_RULE_MINUTES.into(),
                sdk::MAX_TTS_RULE_MINUTES.into(),
            ),
            (
                "gap",
                v::MAX_COOLDOWN_GAP_SECONDS.into(),
                sdk::MAX_TTS_COOLDOWN_GAP_SECONDS.into(),
            ),
            ("kv bytes", MAX_KV_BYTES as u64, sdk::MAX_KV_BYTES as u64),
            ("kv keys", MAX_KV_KEYS as u64, sdk::MAX_KV_KEYS as u64),
            (
                "kv key",
                MAX_KV_KEY_BYTES as u64,
                sdk::MAX_KV_KEY_BYTES as u64,
            ),
            (
                "kv value",
                MAX_KV_VALUE_BYTES as u64,
                sdk::MAX_KV_VALUE_BYTES as u64,
            ),
            (
                "kv per call",
                MAX_KV_WRITE_PER_CALL as u64,
                sdk::MAX_KV_WRITE_PER_CALL as u64,
            ),
            ("log line", MAX_LOG_LINE as u64, sdk::MAX_LOG_LINE as u64),
            ("error", MAX_ERROR as u64, sdk::MAX_ERROR as u64),
            ("deadline", m::DEFAULT_DEADLINE_MS, sdk::DEFAULT_DEADLINE_MS),
            ("memory", m::DEFAULT_MEMORY_MIB, sdk::DEFAULT_MEMORY_MIB),
            ("max deadline", m::MAX_DEADLINE_MS, sdk::MAX_DEADLINE_MS),
            ("max memory", m::MAX_MEMORY_MIB, sdk::MAX_MEMORY_MIB),
        ];
        for (what, host, sdk) in pairs {
            assert_eq!(
                host, sdk,
                "{what}: the host enforces {host}, the SDK says {sdk}"
            );
        }
        let longest = "a".repeat(sdk::MAX_OVERLAY_NAME);
        assert!(crate::actions::alerts::valid_overlay_name(&longest));
        assert!(!crate::actions::alerts::valid_overlay_name(
            &(longest + "a")
        ));
    }

    #[test]
    fn truncation_respects_characters_and_says_how_much() {
        assert_eq!(truncate("short", 10), "short");
        let cut = truncate("ééééé", 3);
        assert!(cut.starts_with("é…"), "{cut}");
        assert!(cut.contains("8 bytes cut"), "{cut}");
    }

    #[test]
    fn a_display_over_a_limit_names_the_field() {
        let mut d = wit::Display {
            label: "Follow".into(),
            icon: "❤".into(),
            color: "#fff".into(),
            text: "a followed".into(),
        };
        assert!(check_display(&d).is_ok());
        d.text = "x".repeat(MAX_DISPLAY_TEXT + 1);
        let err = check_display(&d).unwrap_err();
        assert!(err.contains("display text"), "{err}");
    }

    #[test]
    fn too_many_actions_is_refused_with_the_limit() {
        assert!(check_action_count(MAX_ACTIONS_PER_EVENT).is_ok());
        let err = check_action_count(5000).unwrap_err();
        assert!(err.contains("5000") && err.contains("at most 20"), "{err}");
    }

    #[test]
    fn the_log_budget_allows_a_burst_then_the_rate_and_counts_drops() {
        let budget = LogBudget::default();
        let t0 = Instant::now();
        for _ in 0..LOG_BURST as usize {
            assert!(budget.admit(t0));
        }
        for _ in 0..7 {
            assert!(!budget.admit(t0));
        }
        // One refill later a line goes through again.
        let t1 = t0 + LOG_REFILL + Duration::from_millis(1);
        assert!(budget.admit(t1));
        assert!(!budget.admit(t1));
        // The drops are summed up once, then not again within a second.
        assert_eq!(budget.take_summary(t1), Some(8));
        assert!(!budget.admit(t1));
        assert_eq!(budget.take_summary(t1 + Duration::from_millis(500)), None);
        assert_eq!(budget.take_summary(t1 + Duration::from_secs(1)), Some(1));
        assert_eq!(budget.take_summary(t1 + Duration::from_secs(5)), None);
    }
}
