//! The NATS subjects of cluster mode, and the one rule that spreads
//! channels over partitions. Pure: no I/O, so every node (ingest, worker,
//! edge, and any version of them) computes the same names.
//!
//! NATS 2.9 cannot derive a partition from a subject (no subject
//! transforms), so the publisher writes the partition into the subject:
//!
//! - events: `<prefix>.events.<partition>.<channel_id>` (JetStream),
//! - alerts: `<prefix>.alerts.<channel_id>` (core NATS),
//! - live updates: `<prefix>.live.<channel_id>` (core NATS).
//!
//! A channel id becomes a subject token only as a [`ChannelSubject`], which
//! admits 1–20 ASCII digits (a Twitch user id), so input from outside can
//! never add a `.`, `*`, `>` or space and land on, or listen to, another
//! channel's subjects.

use std::fmt;

/// The prefix used when the operator names none.
pub const DEFAULT_PREFIX: &str = "stagehand";

/// The most partitions a cluster may have: more would only add idle
/// consumers (one per partition) without spreading the work further.
pub const MAX_PARTITIONS: u32 = 1024;

/// The longest channel id: Twitch user ids are decimal 64-bit numbers,
/// which never exceed 20 digits.
const MAX_CHANNEL_LEN: usize = 20;

/// The longest prefix: subjects stay short, and the stream name derived
/// from it stays well under NATS's limits.
const MAX_PREFIX_LEN: usize = 64;

/// Why a name could not be made into, or read back from, a subject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubjectError {
    /// A channel id that is not 1–20 ASCII digits. The offending text is
    /// shown escaped and cut short, since it may come from anyone.
    #[error("channel id {shown} is not 1-20 ASCII digits")]
    InvalidChannel { shown: String },
    /// A prefix that is not dot-separated tokens of letters, digits, `_`
    /// and `-`.
    #[error(
        "subject prefix {shown} must be dot-separated tokens of letters, digits, '_' and '-' (at most {MAX_PREFIX_LEN} characters)"
    )]
    InvalidPrefix { shown: String },
    /// A partition count outside `1..=MAX_PARTITIONS`.
    #[error("partition count {0} is outside 1..={MAX_PARTITIONS}")]
    InvalidPartitions(u32),
    /// A partition number not below the partition count.
    #[error("partition {partition} does not exist: there are {partitions} (0-based)")]
    PartitionOutOfRange { partition: u32, partitions: u32 },
    /// A subject that is not one of ours: another prefix, another kind, a
    /// token that is not a partition or a channel.
    #[error("subject {shown} is not a {expected} subject of prefix {prefix}")]
    Unexpected {
        shown: String,
        expected: &'static str,
        prefix: String,
    },
    /// An event subject whose partition is not the one its channel hashes
    /// to (or is beyond the partition count): a publisher with another
    /// configuration, whose events would break per-channel order.
    #[error(
        "subject {subject} carries partition {found}, but channel {channel} belongs to partition {expected} of {partitions}"
    )]
    WrongPartition {
        subject: String,
        channel: String,
        found: u32,
        expected: u32,
        partitions: u32,
    },
}

/// Text from outside, made safe to print in an error: escaped, and cut to
/// a length that cannot flood a log.
fn shown(text: &str) -> String {
    const SHOWN: usize = 40;
    let cut: String = text.chars().take(SHOWN).collect();
    if cut.len() < text.len() {
        format!("{cut:?}…")
    } else {
        format!("{cut:?}")
    }
}

/// A channel id checked to be safe as a subject token: 1–20 ASCII digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelSubject(String);

impl ChannelSubject {
    /// Checks a channel id (a Twitch broadcaster user id).
    pub fn parse(id: &str) -> Result<ChannelSubject, SubjectError> {
        let ok =
            !id.is_empty() && id.len() <= MAX_CHANNEL_LEN && id.bytes().all(|b| b.is_ascii_digit());
        if ok {
            Ok(ChannelSubject(id.to_owned()))
        } else {
            Err(SubjectError::InvalidChannel { shown: shown(id) })
        }
    }

    /// The channel id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The channel id, owned (the storage layer's `ChannelId`).
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for ChannelSubject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for ChannelSubject {
    type Err = SubjectError;

    fn from_str(id: &str) -> Result<Self, Self::Err> {
        ChannelSubject::parse(id)
    }
}

/// The partition a channel's events go to, in `0..partitions`.
///
/// The rule is part of the cluster's wire format and never changes between
/// versions (nodes of two versions must agree during a rolling upgrade):
/// FNV-1a 64-bit (offset basis `0xcbf29ce484222325`, prime
/// `0x100000001b3`) over the channel id's ASCII bytes, modulo the partition
/// count. A `partitions` of 0 is treated as 1.
pub fn partition_of(channel: &ChannelSubject, partitions: u32) -> u32 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = channel.as_str().bytes().fold(OFFSET, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(PRIME)
    });
    // The remainder is below `partitions`, a u32, so it fits.
    (hash % u64::from(partitions.max(1))) as u32
}

/// The subjects and stream name of one cluster (one prefix and partition
/// count).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subjects {
    prefix: String,
    partitions: u32,
}

impl Subjects {
    /// Checks the prefix and partition count.
    pub fn new(prefix: &str, partitions: u32) -> Result<Subjects, SubjectError> {
        let token_ok = |t: &str| {
            !t.is_empty()
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        };
        if prefix.len() > MAX_PREFIX_LEN || !prefix.split('.').all(token_ok) {
            return Err(SubjectError::InvalidPrefix {
                shown: shown(prefix),
            });
        }
        if partitions == 0 || partitions > MAX_PARTITIONS {
            return Err(SubjectError::InvalidPartitions(partitions));
        }
        Ok(Subjects {
            prefix: prefix.to_owned(),
            partitions,
        })
    }

    /// The subject prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The partition count.
    pub fn partitions(&self) -> u32 {
        self.partitions
    }

    /// The JetStream stream holding the events: the prefix upper-cased,
    /// `.` and `-` made `_` (stream names cannot hold `.`), then `_EVENTS`;
    /// `stagehand` gives `STAGEHAND_EVENTS`.
    pub fn stream_name(&self) -> String {
        let base: String = self
            .prefix
            .chars()
            .map(|c| match c {
                '.' | '-' => '_',
                c => c.to_ascii_uppercase(),
            })
            .collect();
        format!("{base}_EVENTS")
    }

    /// The durable consumer of a partition: `worker-p07`. One name per
    /// partition, so whoever holds the partition's lease owns it.
    pub fn consumer_name(partition: u32) -> String {
        format!("worker-p{partition:02}")
    }

    /// The partition of a channel under this count.
    pub fn partition_of(&self, channel: &ChannelSubject) -> u32 {
        partition_of(channel, self.partitions)
    }

    /// Where a channel's events are published, with its partition.
    pub fn event(&self, channel: &ChannelSubject) -> (u32, String) {
        let partition = self.partition_of(channel);
        (
            partition,
            format!("{}.events.{partition}.{channel}", self.prefix),
        )
    }

    /// Every event subject: what the stream stores.
    pub fn events_all(&self) -> String {
        format!("{}.events.*.*", self.prefix)
    }

    /// The event subjects of one partition: a partition consumer's filter.
    pub fn events_of_partition(&self, partition: u32) -> String {
        format!("{}.events.{partition}.*", self.prefix)
    }

    /// Where a channel's alerts are published.
    pub fn alert(&self, channel: &ChannelSubject) -> String {
        format!("{}.alerts.{channel}", self.prefix)
    }

    /// Every alert subject: an edge's subscription.
    pub fn alerts_all(&self) -> String {
        format!("{}.alerts.*", self.prefix)
    }

    /// Where a channel's live updates are published.
    pub fn live(&self, channel: &ChannelSubject) -> String {
        format!("{}.live.{channel}", self.prefix)
    }

    /// Every live-update subject: an edge's subscription.
    pub fn live_all(&self) -> String {
        format!("{}.live.*", self.prefix)
    }

    /// Where a channel's control notices go (its plugins changed): every
    /// worker listens, so the one running the channel loads them again.
    pub fn control(&self, channel: &ChannelSubject) -> String {
        format!("{}.control.{channel}", self.prefix)
    }

    /// Where a channel's chat messages to send go (from workers' plugins to
    /// an ingest node, which holds the channel's Twitch token).
    pub fn chat(&self, channel: &ChannelSubject) -> String {
        format!("{}.chat.{channel}", self.prefix)
    }

    /// Every chat subject: the ingest nodes' queue subscription.
    pub fn chat_all(&self) -> String {
        format!("{}.chat.*", self.prefix)
    }

    /// Reads a chat subject back to its channel.
    pub fn parse_chat(&self, subject: &str) -> Result<ChannelSubject, SubjectError> {
        self.parse_channel_subject(subject, "chat", "chat")
    }

    /// Every control subject: a worker's subscription.
    pub fn control_all(&self) -> String {
        format!("{}.control.*", self.prefix)
    }

    /// Reads an event subject back: its partition and channel. The
    /// partition must be the channel's own, so an event published under
    /// another partition count is refused rather than processed out of
    /// order.
    pub fn parse_event(&self, subject: &str) -> Result<(u32, ChannelSubject), SubjectError> {
        let unexpected = || SubjectError::Unexpected {
            shown: shown(subject),
            expected: "event",
            prefix: self.prefix.clone(),
        };
        let rest = self.strip(subject, "events").ok_or_else(unexpected)?;
        let (partition, channel) = rest.split_once('.').ok_or_else(unexpected)?;
        // Only canonical decimal (no sign, no leading zeros): one partition,
        // one spelling.
        let canonical = partition == "0" || !partition.starts_with('0');
        let partition: u32 = match partition.parse() {
            Ok(p) if canonical && partition.bytes().all(|b| b.is_ascii_digit()) => p,
            _ => return Err(unexpected()),
        };
        let channel = ChannelSubject::parse(channel).map_err(|_| unexpected())?;
        let expected = self.partition_of(&channel);
        if partition != expected {
            return Err(SubjectError::WrongPartition {
                subject: shown(subject),
                channel: channel.into_string(),
                found: partition,
                expected,
                partitions: self.partitions,
            });
        }
        Ok((partition, channel))
    }

    /// Reads an alert subject back to its channel.
    pub fn parse_alert(&self, subject: &str) -> Result<ChannelSubject, SubjectError> {
        self.parse_channel_subject(subject, "alerts", "alert")
    }

    /// Reads a live-update subject back to its channel.
    pub fn parse_live(&self, subject: &str) -> Result<ChannelSubject, SubjectError> {
        self.parse_channel_subject(subject, "live", "live-update")
    }

    /// Reads a control subject back to its channel.
    pub fn parse_control(&self, subject: &str) -> Result<ChannelSubject, SubjectError> {
        self.parse_channel_subject(subject, "control", "control")
    }

    fn parse_channel_subject(
        &self,
        subject: &str,
        kind: &str,
        expected: &'static str,
    ) -> Result<ChannelSubject, SubjectError> {
        self.strip(subject, kind)
            .and_then(|channel| ChannelSubject::parse(channel).ok())
            .ok_or_else(|| SubjectError::Unexpected {
                shown: shown(subject),
                expected,
                prefix: self.prefix.clone(),
            })
    }

    /// What follows `<prefix>.<kind>.` in `subject`.
    fn strip<'s>(&self, subject: &'s str, kind: &str) -> Option<&'s str> {
        subject
            .strip_prefix(self.prefix.as_str())?
            .strip_prefix('.')?
            .strip_prefix(kind)?
            .strip_prefix('.')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(id: &str) -> ChannelSubject {
        ChannelSubject::parse(id).unwrap()
    }

    #[test]
    fn channel_ids_are_digits_only() {
        for good in [
            "1",
            "141981764",
            "18446744073709551615",
            "00000000000000000000",
        ] {
            assert_eq!(ChannelSubject::parse(good).unwrap().as_str(), good);
        }
        for bad in [
            "",
            "123456789012345678901",
            "12.34",
            "12*",
            "12>",
            ">",
            "*",
            "12 34",
            " 12",
            "12\n",
            "12\r\n",
            "-12",
            "+12",
            "１２",
            "12\u{0}",
            "abc",
            "stagehand.events.0.1",
        ] {
            let err = ChannelSubject::parse(bad).unwrap_err();
            assert!(
                matches!(err, SubjectError::InvalidChannel { .. }),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn errors_show_hostile_text_escaped_and_short() {
        let long = format!("1\n{}", "x".repeat(500));
        let text = ChannelSubject::parse(&long).unwrap_err().to_string();
        assert!(!text.contains('\n'), "{text}");
        assert!(text.len() < 120, "{text}");
    }

    /// These values are the wire format: if this test has to change, nodes
    /// of the old and the new version would disagree on where a channel's
    /// events are, and per-channel order would break.
    #[test]
    fn partitioning_is_fixed_forever() {
        assert_eq!(partition_of(&channel("141981764"), 16), 8);
        assert_eq!(partition_of(&channel("12826"), 16), 14);
        assert_eq!(partition_of(&channel("44322889"), 16), 13);
        assert_eq!(partition_of(&channel("1"), 16), 12);
        assert_eq!(partition_of(&channel("141981764"), 7), 1);
        assert_eq!(partition_of(&channel("18446744073709551615"), 1024), 84);
        assert_eq!(partition_of(&channel("42"), 1), 0);
        assert_eq!(partition_of(&channel("42"), 0), 0);
    }

    #[test]
    fn partitions_spread_channels() {
        let mut counts = [0u32; 16];
        for id in 1_000_000u64..1_016_000 {
            counts[partition_of(&channel(&id.to_string()), 16) as usize] += 1;
        }
        // 1000 expected per partition; allow generous noise.
        assert!(
            counts.iter().all(|&n| (800..1200).contains(&n)),
            "{counts:?}"
        );
    }

    #[test]
    fn subjects_round_trip() {
        let s = Subjects::new("stagehand", 16).unwrap();
        let c = channel("141981764");
        let (p, subject) = s.event(&c);
        assert_eq!(subject, format!("stagehand.events.{p}.141981764"));
        assert_eq!(s.parse_event(&subject).unwrap(), (p, c.clone()));
        assert_eq!(s.alert(&c), "stagehand.alerts.141981764");
        assert_eq!(s.parse_alert(&s.alert(&c)).unwrap(), c);
        assert_eq!(s.live(&c), "stagehand.live.141981764");
        assert_eq!(s.parse_live(&s.live(&c)).unwrap(), c);
        assert_eq!(s.events_all(), "stagehand.events.*.*");
        assert_eq!(s.events_of_partition(3), "stagehand.events.3.*");
        assert_eq!(s.alerts_all(), "stagehand.alerts.*");
        assert_eq!(s.live_all(), "stagehand.live.*");
        assert_eq!(s.stream_name(), "STAGEHAND_EVENTS");
        assert_eq!(Subjects::consumer_name(7), "worker-p07");
        assert_eq!(Subjects::consumer_name(123), "worker-p123");
    }

    #[test]
    fn prefixes_are_checked_and_named() {
        let s = Subjects::new("test-a1.run_2", 4).unwrap();
        assert_eq!(s.stream_name(), "TEST_A1_RUN_2_EVENTS");
        assert_eq!(s.alerts_all(), "test-a1.run_2.alerts.*");
        for bad in [
            "",
            ".",
            "a.",
            ".a",
            "a..b",
            "a b",
            "a*",
            "a>",
            "a.>",
            "ä",
            &"a".repeat(65),
        ] {
            assert!(
                matches!(
                    Subjects::new(bad, 4),
                    Err(SubjectError::InvalidPrefix { .. })
                ),
                "{bad:?}"
            );
        }
        assert_eq!(
            Subjects::new("a", 0),
            Err(SubjectError::InvalidPartitions(0))
        );
        assert_eq!(
            Subjects::new("a", 1025),
            Err(SubjectError::InvalidPartitions(1025))
        );
    }

    #[test]
    fn foreign_subjects_are_refused() {
        let s = Subjects::new("stagehand", 16).unwrap();
        let c = channel("141981764");
        let p = s.partition_of(&c);
        for bad in [
            format!("other.events.{p}.141981764"),
            format!("stagehand.alerts.{p}.141981764"),
            format!("stagehand.events.{p}"),
            format!("stagehand.events.{p}.141981764.x"),
            format!("stagehand.events.{p}.abc"),
            format!("stagehand.events.0{p}.141981764"),
            format!("stagehand.events.+{p}.141981764"),
            "stagehand.events.x.141981764".to_owned(),
            "stagehandx.events.0.1".to_owned(),
        ] {
            assert!(
                matches!(s.parse_event(&bad), Err(SubjectError::Unexpected { .. })),
                "{bad}: {:?}",
                s.parse_event(&bad)
            );
        }
        let wrong = format!("stagehand.events.{}.141981764", (p + 1) % 16);
        assert!(matches!(
            s.parse_event(&wrong),
            Err(SubjectError::WrongPartition { expected, .. }) if expected == p
        ));
        for bad in [
            "stagehand.alerts.",
            "stagehand.alerts.1.2",
            "stagehand.live.1",
            "stagehand.alerts.x",
        ] {
            assert!(s.parse_alert(bad).is_err(), "{bad}");
        }
        assert!(s.parse_live("stagehand.alerts.1").is_err());
    }
}
