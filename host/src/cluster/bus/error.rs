//! Why a bus call failed, with the subject, stream or consumer it was
//! about, so a log line says what to look at.

use super::super::subjects::SubjectError;

/// What async-nats reports: many typed errors, boxed here once the
/// context (which stream, which subject) is attached.
pub type NatsError = async_nats::Error;

/// Why a bus call failed.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// A channel id, prefix, partition count or subject was refused before
    /// anything was sent.
    #[error(transparent)]
    Subject(#[from] SubjectError),
    /// A Twitch message id unfit for the `Nats-Msg-Id` header.
    #[error("message id {shown} must be 1-{max} visible ASCII characters")]
    InvalidMessageId { shown: String, max: usize },
    /// The first connection failed (later ones are retried by async-nats).
    #[error("cannot connect to NATS at {url}: {source}")]
    Connect {
        url: String,
        source: async_nats::ConnectError,
    },
    /// The events stream could not be read, created or removed.
    #[error("events stream {stream}: {source}")]
    Stream { stream: String, source: NatsError },
    /// The events stream was made for another partition count: running
    /// would put channels in partitions other nodes do not expect.
    #[error(
        "events stream {stream} was created for {found} partitions but this node is configured for {configured}; \
         every node of a cluster needs the same partition count (changing it means a new stream)"
    )]
    PartitionMismatch {
        stream: String,
        found: u32,
        configured: u32,
    },
    /// A stream of the expected name that Stagehand did not make (or made
    /// for another prefix): its subjects or description do not match.
    #[error("stream {stream} is not a Stagehand events stream for {subjects}: {reason}")]
    ForeignStream {
        stream: String,
        subjects: String,
        reason: String,
    },
    /// A publish was not sent, or not confirmed by the stream.
    #[error("publishing to {subject}: {source}")]
    Publish { subject: String, source: NatsError },
    /// A subscription could not be made.
    #[error("subscribing to {subject}: {source}")]
    Subscribe { subject: String, source: NatsError },
    /// A partition consumer could not be made, read or acknowledged.
    #[error("consumer {consumer} of stream {stream}: {source}")]
    Consumer {
        stream: String,
        consumer: String,
        source: NatsError,
    },
    /// A fetch was refused because the pull could outlast the owner's
    /// lease: renew the lease (and call `hold_until`) first.
    #[error(
        "consumer {consumer}: not fetching, the partition lease could end before the pull does"
    )]
    LeaseEnding { consumer: String },
    /// A pull request got no answer, not even its expiry, within its wait
    /// and grace; the consumer must be reopened (see
    /// [`super::consumer::PullGrace`]).
    #[error("consumer {consumer}: no answer to a pull request within {waited:?} ({server_says})")]
    Unanswered {
        consumer: String,
        waited: std::time::Duration,
        server_says: String,
    },
    /// Buffered messages could not be written to the server.
    #[error("flushing to NATS: {0}")]
    Flush(#[from] async_nats::client::FlushError),
}
