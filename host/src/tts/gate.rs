//! The admission decision for one chat message (pure: no I/O, no clock), so
//! every rule is tested without sockets: the access policy, the viewer's
//! mute and cooldown, the per-viewer gap, the queue limit and the text
//! (commands skipped, links not spelled out, long messages cut).

use chrono::{DateTime, Duration, Utc};

use super::settings::{Access, TtsSettings};
use crate::store::access::ViewerRoles;

/// What the host knows about the chatter when the message arrives.
#[derive(Debug, Clone, Default)]
pub struct Chatter {
    pub roles: ViewerRoles,
    /// Holds a TTS grant in force.
    pub granted: bool,
    /// Muted now (a mute in force).
    pub muted: bool,
    /// A cooldown rule in force: its gap.
    pub cooldown: Option<Duration>,
    /// When their last message was admitted.
    pub last_admitted: Option<DateTime<Utc>>,
}

/// Why a message is not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Chat TTS is turned off.
    Disabled,
    /// A bot command or nothing readable.
    NotSpeech,
    /// The access policy does not include the chatter.
    NotAllowed,
    Muted,
    /// Too soon after their last message (the gap, or their cooldown).
    TooSoon {
        wait_secs: i64,
    },
    /// The speech queue is full.
    QueueFull,
}

impl Refusal {
    /// A short reason for logs and counters.
    pub fn reason(&self) -> String {
        match self {
            Refusal::Disabled => "chat TTS is off".into(),
            Refusal::NotSpeech => "a command or nothing to read".into(),
            Refusal::NotAllowed => "not allowed by the access policy".into(),
            Refusal::Muted => "muted".into(),
            Refusal::TooSoon { wait_secs } => format!("too soon (wait {wait_secs} s)"),
            Refusal::QueueFull => "the speech queue is full".into(),
        }
    }
}

/// Whether the policy lets the chatter be read aloud.
pub fn allowed(settings: &TtsSettings, chatter: &Chatter) -> bool {
    let r = chatter.roles;
    r.broadcaster
        || settings.access.iter().any(|a| match a {
            Access::Everyone => true,
            Access::Subscribers => r.subscriber,
            Access::Vips => r.vip,
            Access::Moderators => r.moderator,
            Access::Grants => chatter.granted,
        })
}

/// Decides on one message: the text to read, or why not. `queued` is how
/// many speech items wait now.
pub fn admit(
    settings: &TtsSettings,
    chatter: &Chatter,
    text: &str,
    queued: usize,
    now: DateTime<Utc>,
) -> Result<String, Refusal> {
    if !settings.enabled {
        return Err(Refusal::Disabled);
    }
    let trimmed = text.trim();
    if settings
        .skip_prefixes
        .iter()
        .any(|p| trimmed.starts_with(p.as_str()))
    {
        return Err(Refusal::NotSpeech);
    }
    let spoken = speakable(trimmed, settings.max_chars as usize);
    if spoken.is_empty() {
        return Err(Refusal::NotSpeech);
    }
    if !allowed(settings, chatter) {
        return Err(Refusal::NotAllowed);
    }
    if chatter.muted {
        return Err(Refusal::Muted);
    }
    // The broadcaster is not rate limited: it is their stream.
    if !chatter.roles.broadcaster {
        let gap = Duration::seconds(i64::from(settings.viewer_gap_seconds))
            .max(chatter.cooldown.unwrap_or_default());
        if let Some(last) = chatter.last_admitted {
            let next = last + gap;
            if now < next {
                let wait_secs = ((next - now).num_milliseconds() + 999) / 1000;
                return Err(Refusal::TooSoon { wait_secs });
            }
        }
    }
    if queued >= settings.max_queue as usize {
        return Err(Refusal::QueueFull);
    }
    Ok(spoken)
}

/// The text as it should be heard: whitespace collapsed, links said as
/// "link", cut to `max_chars` characters at a word boundary when one is
/// near (a 10,000-character message becomes one sentence's worth).
pub fn speakable(text: &str, max_chars: usize) -> String {
    let words = text.split_whitespace().map(|w| {
        let lower = w.to_ascii_lowercase();
        if lower.starts_with("http://")
            || lower.starts_with("https://")
            || lower.starts_with("www.")
        {
            "link"
        } else {
            w
        }
    });
    let mut out = String::new();
    let mut chars = 0;
    for word in words {
        let len = word.chars().count();
        let sep = usize::from(!out.is_empty());
        if chars + sep + len > max_chars {
            if out.is_empty() {
                // One enormous word: cut inside it.
                out.extend(word.chars().take(max_chars));
            }
            break;
        }
        if sep == 1 {
            out.push(' ');
        }
        out.push_str(word);
        chars += sep + len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap()
    }

    fn subscriber() -> Chatter {
        Chatter {
            roles: ViewerRoles {
                subscriber: true,
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn the_policy_admits_the_groups_it_names() {
        let mut s = TtsSettings {
            access: vec![Access::Vips, Access::Grants],
            ..Default::default()
        };
        let nobody = Chatter::default();
        let vip = Chatter {
            roles: ViewerRoles {
                vip: true,
                ..Default::default()
            },
            ..Default::default()
        };
        let granted = Chatter {
            granted: true,
            ..Default::default()
        };
        let owner = Chatter {
            roles: ViewerRoles {
                broadcaster: true,
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(!allowed(&s, &nobody));
        assert!(!allowed(&s, &subscriber()));
        assert!(allowed(&s, &vip));
        assert!(allowed(&s, &granted));
        assert!(allowed(&s, &owner), "the broadcaster always");
        s.access = vec![];
        assert!(!allowed(&s, &vip));
        assert!(allowed(&s, &owner));
        s.access = vec![Access::Everyone];
        assert!(allowed(&s, &nobody));
    }

    #[test]
    fn each_refusal_has_its_cause() {
        let s = TtsSettings::default();
        let sub = subscriber();
        assert_eq!(
            admit(&s, &sub, "hello there", 0, at(0)).unwrap(),
            "hello there"
        );
        let off = TtsSettings {
            enabled: false,
            ..Default::default()
        };
        assert_eq!(admit(&off, &sub, "hi", 0, at(0)), Err(Refusal::Disabled));
        assert_eq!(
            admit(&s, &sub, "!uptime", 0, at(0)),
            Err(Refusal::NotSpeech)
        );
        assert_eq!(
            admit(&s, &sub, "  ~mutevoice @x", 0, at(0)),
            Err(Refusal::NotSpeech)
        );
        assert_eq!(admit(&s, &sub, "   ", 0, at(0)), Err(Refusal::NotSpeech));
        assert_eq!(
            admit(&s, &Chatter::default(), "hi", 0, at(0)),
            Err(Refusal::NotAllowed)
        );
        let muted = Chatter {
            muted: true,
            ..subscriber()
        };
        assert_eq!(admit(&s, &muted, "hi", 0, at(0)), Err(Refusal::Muted));
        assert_eq!(admit(&s, &sub, "hi", 20, at(0)), Err(Refusal::QueueFull));
    }

    #[test]
    fn a_flood_from_one_viewer_is_held_to_the_gap() {
        let s = TtsSettings {
            viewer_gap_seconds: 10,
            ..Default::default()
        };
        let mut chatter = subscriber();
        let mut admitted = 0;
        for i in 0..100 {
            let now = at(i / 10); // ten messages a second for ten seconds
            if admit(&s, &chatter, "spam", 0, now).is_ok() {
                admitted += 1;
                chatter.last_admitted = Some(now);
            }
        }
        assert_eq!(admitted, 1, "one per 10 s");
        assert_eq!(
            admit(&s, &chatter, "x", 0, at(3)),
            Err(Refusal::TooSoon { wait_secs: 7 })
        );
        assert!(admit(&s, &chatter, "x", 0, at(10)).is_ok());
    }

    #[test]
    fn a_cooldown_lengthens_the_gap_but_never_shortens_it() {
        let s = TtsSettings {
            viewer_gap_seconds: 10,
            ..Default::default()
        };
        let long = Chatter {
            cooldown: Some(Duration::seconds(120)),
            last_admitted: Some(at(0)),
            ..subscriber()
        };
        assert_eq!(
            admit(&s, &long, "x", 0, at(60)),
            Err(Refusal::TooSoon { wait_secs: 60 })
        );
        assert!(admit(&s, &long, "x", 0, at(120)).is_ok());
        let short = Chatter {
            cooldown: Some(Duration::seconds(2)),
            ..long
        };
        assert!(
            admit(&s, &short, "x", 0, at(5)).is_err(),
            "the 10 s gap still holds"
        );
    }

    #[test]
    fn the_broadcaster_is_not_rate_limited() {
        let s = TtsSettings::default();
        let owner = Chatter {
            roles: ViewerRoles {
                broadcaster: true,
                ..Default::default()
            },
            last_admitted: Some(at(0)),
            ..Default::default()
        };
        assert!(admit(&s, &owner, "again", 0, at(0)).is_ok());
    }

    #[test]
    fn long_messages_are_cut_at_a_word() {
        let huge = "word ".repeat(2_000); // 10,000 characters
        let spoken = speakable(&huge, 300);
        assert!(spoken.chars().count() <= 300);
        assert!(spoken.ends_with("word"), "no half word");
        assert_eq!(speakable(&"x".repeat(10_000), 50), "x".repeat(50));
        assert_eq!(
            speakable("  many   spaces\n\there ", 100),
            "many spaces here"
        );
        assert_eq!(
            speakable("see https://example.com/a?b now", 100),
            "see link now"
        );
        assert_eq!(speakable("ünïcödé ok", 7), "ünïcödé");
    }
}
