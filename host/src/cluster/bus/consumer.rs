//! One worker's reading of one partition of the events stream.
//!
//! # Why this keeps per-channel order and loses nothing
//!
//! - A channel's events all go to one partition ([`partition_of`]), and the
//!   stream keeps them in publish order.
//! - A partition is read by one worker at a time: the holder of the
//!   PostgreSQL lease `worker-partition-<p>`. It alone reads through the
//!   durable consumer `worker-p<NN>`, batch by batch, in stream order.
//! - A batch's work (stored events, alerts, plugin state) is committed to
//!   PostgreSQL in one transaction together with the stream sequence of its
//!   last message (the `StreamCursor`), and the commit is refused if the
//!   lease was lost. Only after the commit is the batch acknowledged
//!   ([`PartitionConsumer::ack_through`]; ack policy *all*, so acking the
//!   last message acknowledges the batch).
//! - A new owner of a partition (after a crash, a lost lease, a rebalance)
//!   calls [`PartitionConsumer::open`] with the committed cursor: the
//!   consumer left by the previous owner is deleted and made again to start
//!   right after the cursor. Whatever the previous owner fetched but did not
//!   commit is delivered again; nothing it committed is. Acknowledgements
//!   the previous owner sent, or failed to send, do not matter: the cursor
//!   in the database, written in the same transaction as the work, is the
//!   truth. Deleting the consumer also fences the previous owner: its next
//!   fetch or ack fails.
//! - A previous owner that stalled past its lease and wakes up must not
//!   pull again: the consumer it names is now its successor's (same name),
//!   and what it pulled would be missing from the successor's deliveries
//!   until acknowledged past. So the owner tells the consumer when its lease
//!   ends ([`PartitionConsumer::hold_until`], measured from before the
//!   renewal request), and `fetch` refuses a pull that could still run at
//!   that instant. Its acknowledgements cannot harm the successor: it acks
//!   only after a commit, which the database accepts only while the lease
//!   is held, so its cursor is at or after anything it acks and the
//!   successor starts after that cursor.
//! - A crash between commit and ack redelivers a committed batch only to
//!   the same consumer, whose next owner skips it by reopening at the
//!   cursor; within one owner, a redelivery (ack wait passed) is stored
//!   again as a no-op, since events are unique by Twitch message id per
//!   channel.
//!
//! [`partition_of`]: crate::cluster::subjects::partition_of

use std::fmt;
use std::time::{Duration, Instant};

use async_nats::StatusCode;
use async_nats::jetstream::{self, consumer::Consumer, consumer::pull};
use futures_util::StreamExt;

use super::{BusError, Bytes, EventBus, NatsError};
use crate::cluster::subjects::{ChannelSubject, SubjectError, Subjects};

/// How much longer than the asked wait a pull may take before it is taken
/// to be lost, at first. The server answers every pull at its expiry at the
/// latest, but NATS 2.9 has been seen to leave every pending pull of a
/// server unanswered after a burst of publishes; the consumer is then
/// reopened at the committed cursor, so a lost pull costs this long, not
/// more. See [`PullGrace`] for a server that is only slow.
const PULL_GRACE: Duration = Duration::from_secs(1);

/// The longest grace a pull is given after pulls in a row went unanswered.
const MAX_PULL_GRACE: Duration = Duration::from_secs(32);

/// How long past its expiry a partition's pulls may go unanswered before
/// the consumer is reopened. A fixed grace would never let a server that is
/// slow to answer a fresh consumer's first pull (a busy server loading the
/// partition's messages from disk) answer at all: each reopen would give up
/// on it in the same time and start it over. So each unanswered pull in a
/// row doubles the grace (up to [`MAX_PULL_GRACE`]), and an answer brings
/// it back to [`PULL_GRACE`]. Kept by the partition's runner across
/// reopens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PullGrace(Duration);

impl Default for PullGrace {
    fn default() -> Self {
        PullGrace(PULL_GRACE)
    }
}

impl PullGrace {
    /// The grace now.
    pub fn get(self) -> Duration {
        self.0
    }

    /// A pull was answered.
    pub fn answered(&mut self) {
        self.0 = PULL_GRACE;
    }

    /// A pull went unanswered.
    pub fn unanswered(&mut self) {
        self.0 = (self.0 * 2).min(MAX_PULL_GRACE);
    }
}

/// How long before its lease ends an owner stops pulling, beyond the
/// pull's own wait, at most: the server forgets a pull request when it
/// expires, so this only has to cover the time a request takes to reach it.
/// A short lease gets a sixth of its TTL instead ([`lease_margin`]), so the
/// renewal, a third of the TTL in, always comes before the margin starts.
const LEASE_MARGIN: Duration = Duration::from_secs(2);

/// The margin for a lease of `ttl`: [`LEASE_MARGIN`] or a sixth of the TTL,
/// whichever is shorter.
fn lease_margin(ttl: Duration) -> Duration {
    (ttl / 6).min(LEASE_MARGIN)
}

/// An event read from a partition.
pub struct BusMessage {
    /// Its position in the stream: what the cursor records.
    pub sequence: u64,
    /// How many times it has been delivered (1 the first time): more means
    /// a worker before took it and did not acknowledge it in time.
    pub delivered: u64,
    /// The partition it was read from.
    pub partition: u32,
    /// The channel, read back from the subject.
    pub channel: ChannelSubject,
    /// Events left in the partition for this consumer after this one, as
    /// the server said when delivering it: the consumer's lag, without
    /// asking.
    pub pending: u64,
    /// The `Nats-Msg-Id` it was published with (the Twitch message id).
    pub msg_id: Option<String>,
    /// The event as published.
    pub payload: Bytes,
    /// Kept to acknowledge it.
    message: jetstream::Message,
}

impl fmt::Debug for BusMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BusMessage")
            .field("sequence", &self.sequence)
            .field("delivered", &self.delivered)
            .field("partition", &self.partition)
            .field("channel", &self.channel)
            .field("msg_id", &self.msg_id)
            .field("payload_len", &self.payload.len())
            .finish()
    }
}

/// A partition's durable pull consumer, owned by the worker holding the
/// partition's lease. After any error from it, reopen at the committed
/// cursor rather than carry on: the consumer may be gone, or messages may
/// be in flight to a request that was given up.
pub struct PartitionConsumer {
    consumer: Consumer<pull::Config>,
    subjects: Subjects,
    stream: String,
    name: String,
    partition: u32,
    max_batch: usize,
    /// The highest sequence handed out by `fetch` and not yet covered by
    /// an acknowledgement.
    outstanding: Option<u64>,
    /// Messages on the partition's subjects that are not events of this
    /// partition (published by something other than a Stagehand node).
    malformed: u64,
    /// When the owner's lease ends, if it said, and the margin before it.
    lease_ends: Option<(Instant, Duration)>,
    /// The inbox every pull of this consumer is answered on: one
    /// subscription for the consumer's life rather than one per pull, as
    /// each subscription change costs the server a routing-table update.
    inbox: async_nats::Subject,
    replies: async_nats::Subscriber,
    context: jetstream::Context,
    /// How long past its expiry a pull may go unanswered.
    grace: PullGrace,
}

impl PartitionConsumer {
    /// (Re)creates the partition's consumer to deliver the events after
    /// stream sequence `after` (all retained events when `None`), deleting
    /// the one a previous owner left. Only the holder of the partition's
    /// lease may call it (see the module documentation).
    pub async fn open(
        bus: &EventBus,
        partition: u32,
        after: Option<u64>,
    ) -> Result<PartitionConsumer, BusError> {
        let subjects = bus.subjects().clone();
        if partition >= subjects.partitions() {
            return Err(SubjectError::PartitionOutOfRange {
                partition,
                partitions: subjects.partitions(),
            }
            .into());
        }
        let stream_name = bus.stream_name().to_owned();
        let name = Subjects::consumer_name(partition);
        let failed = |source: NatsError| BusError::Consumer {
            stream: stream_name.clone(),
            consumer: name.clone(),
            source,
        };
        let stream = bus
            .jetstream()
            .get_stream_no_info(&stream_name)
            .await
            .map_err(|e| failed(e.into()))?;
        match stream.delete_consumer(&name).await {
            Ok(_) => tracing::info!(consumer = %name, "deleted the previous owner's consumer"),
            Err(e) if is_consumer_not_found(&e) => {}
            Err(e) => return Err(failed(e.into())),
        }
        let deliver_policy = match after {
            None => jetstream::consumer::DeliverPolicy::All,
            Some(sequence) => jetstream::consumer::DeliverPolicy::ByStartSequence {
                start_sequence: sequence.saturating_add(1),
            },
        };
        let config = bus.config();
        let consumer = stream
            .create_consumer(pull::Config {
                durable_name: Some(name.clone()),
                description: Some(format!("Stagehand worker of partition {partition}")),
                filter_subject: subjects.events_of_partition(partition),
                deliver_policy,
                ack_policy: jetstream::consumer::AckPolicy::All,
                ack_wait: config.ack_wait,
                max_ack_pending: i64::from(config.max_ack_pending),
                ..Default::default()
            })
            .await
            .map_err(|e| failed(e.into()))?;
        let inbox = async_nats::Subject::from(bus.client.new_inbox());
        let replies = bus
            .client
            .subscribe(inbox.clone())
            .await
            .map_err(|e| failed(e.into()))?;
        tracing::info!(consumer = %name, partition, after, "partition consumer opened");
        Ok(PartitionConsumer {
            inbox,
            replies,
            context: bus.jetstream().clone(),
            consumer,
            subjects,
            stream: stream_name,
            name,
            partition,
            max_batch: config.max_ack_pending.max(1) as usize,
            outstanding: None,
            malformed: 0,
            lease_ends: None,
            grace: PullGrace::default(),
        })
    }

    /// How long past its expiry a pull may go unanswered before
    /// [`PartitionConsumer::fetch`] gives up on it
    /// ([`BusError::Unanswered`]).
    pub fn set_pull_grace(&mut self, grace: PullGrace) {
        self.grace = grace;
    }

    /// The partition read.
    pub fn partition(&self) -> u32 {
        self.partition
    }

    /// The consumer's name (`worker-p<NN>`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Messages skipped because they were not events of this partition.
    pub fn malformed(&self) -> u64 {
        self.malformed
    }

    /// Records when the owner's lease (of `lease_ttl`) ends: the time the
    /// renewal was *requested* plus its TTL (a conservative end, since the
    /// database counts from a later moment). Call it after each renewal;
    /// `fetch` shortens its wait so the pull ends a margin before that, and
    /// refuses to pull once inside the margin.
    pub fn hold_until(&mut self, lease_ends: Instant, lease_ttl: Duration) {
        self.lease_ends = Some((lease_ends, lease_margin(lease_ttl)));
    }

    /// Up to `max` events in stream order: those waiting now, or, if none
    /// is, the first to arrive within `wait` and any that came with it. An
    /// empty batch means nothing arrived in time. Process and acknowledge a
    /// batch before fetching the next, or its events may be delivered again
    /// once the ack wait passes.
    pub async fn fetch(&mut self, max: usize, wait: Duration) -> Result<Vec<BusMessage>, BusError> {
        let max = max.clamp(1, self.max_batch);
        let wait = match self.lease_ends {
            Some((ends, margin)) => {
                let left = ends
                    .saturating_duration_since(Instant::now())
                    .saturating_sub(margin);
                if left.is_zero() {
                    return Err(BusError::LeaseEnding {
                        consumer: self.name.clone(),
                    });
                }
                wait.min(left)
            }
            None => wait,
        };
        // One request: with `no_wait` and an expiry the server answers at
        // once with what is waiting, or else with the first event to
        // arrive within `wait` and whatever came with it, rather than
        // holding the request until a full batch has gathered.
        let batch = self.pull(max, (!wait.is_zero()).then_some(wait)).await?;
        self.read(batch).await
    }

    /// One pull request, read to its end, so no message can be left on
    /// its way to a request nobody reads any more (after an error the
    /// consumer is reopened, with a new inbox). `expires: None` answers at
    /// once with what is there.
    async fn pull(
        &mut self,
        max: usize,
        expires: Option<Duration>,
    ) -> Result<Vec<jetstream::Message>, BusError> {
        let request = pull::BatchConfig {
            batch: max,
            expires,
            no_wait: true,
            ..Default::default()
        };
        self.consumer
            .request_batch(request, self.inbox.clone())
            .await
            .map_err(|e| self.failed(e.into()))?;
        let limit = expires.unwrap_or_default() + self.grace.get();
        let deadline = tokio::time::Instant::now() + limit;
        let mut messages = Vec::new();
        while messages.len() < max {
            let next = match tokio::time::timeout_at(deadline, self.replies.next()).await {
                Ok(next) => next,
                Err(_) => return Err(self.unanswered(limit).await),
            };
            let Some(message) = next else {
                return Err(self.failed("the pull's inbox was closed".into()));
            };
            match message.status {
                None | Some(StatusCode::OK) => messages.push(jetstream::Message {
                    message,
                    context: self.context.clone(),
                }),
                Some(StatusCode::IDLE_HEARTBEAT) => {}
                // The request ended: nothing (more) waiting, or its expiry.
                Some(StatusCode::NOT_FOUND | StatusCode::TIMEOUT) => break,
                Some(status) => {
                    return Err(self.failed(
                        format!(
                            "pull request refused: {status} {}",
                            message.description.unwrap_or_default()
                        )
                        .into(),
                    ));
                }
            }
        }
        Ok(messages)
    }

    /// Turns messages into [`BusMessage`]s, skipping what is not an event
    /// of this partition. A run of skipped messages with nothing before it
    /// waiting for an acknowledgement is acknowledged here, so it is not
    /// delivered again forever; otherwise the next acknowledgement of a
    /// real event covers it.
    async fn read(&mut self, batch: Vec<jetstream::Message>) -> Result<Vec<BusMessage>, BusError> {
        let mut events = Vec::with_capacity(batch.len());
        let mut skipped_tail = None;
        for message in batch {
            match self.event_of(&message) {
                Ok(Some(event)) => {
                    events.push(event);
                    skipped_tail = None;
                }
                Ok(None) => {}
                Err(reason) => {
                    self.malformed += 1;
                    tracing::warn!(
                        consumer = %self.name,
                        subject = %message.subject,
                        %reason,
                        "skipped a message that is not an event of this partition"
                    );
                    skipped_tail = Some(message);
                }
            }
        }
        if let Some(last) = events.last() {
            self.outstanding = Some(last.sequence);
        }
        if let (Some(skipped), None) = (skipped_tail, self.outstanding) {
            skipped.double_ack().await.map_err(|e| self.failed(e))?;
        }
        Ok(events)
    }

    /// The event a message carries; `Ok(None)` for one without a stream
    /// position (not a JetStream delivery, so nothing to acknowledge).
    fn event_of(&self, message: &jetstream::Message) -> Result<Option<BusMessage>, String> {
        let Ok(info) = message.info() else {
            tracing::warn!(consumer = %self.name, "ignored a message without a stream position");
            return Ok(None);
        };
        let (sequence, delivered, pending) = (info.stream_sequence, info.delivered, info.pending);
        let (partition, channel) = self
            .subjects
            .parse_event(&message.subject)
            .map_err(|e| e.to_string())?;
        if partition != self.partition {
            return Err(format!("it belongs to partition {partition}"));
        }
        let msg_id = message
            .headers
            .as_ref()
            .and_then(|h| h.get(async_nats::header::NATS_MESSAGE_ID))
            .map(|v| v.as_str().to_owned());
        Ok(Some(BusMessage {
            sequence,
            delivered: u64::try_from(delivered).unwrap_or(1),
            pending,
            partition,
            channel,
            msg_id,
            payload: message.payload.clone(),
            message: message.clone(),
        }))
    }

    /// Acknowledges `message` and every event fetched before it, and waits
    /// for the server to confirm. Call it after the batch's commit.
    pub async fn ack_through(&mut self, message: &BusMessage) -> Result<(), BusError> {
        message
            .message
            .double_ack()
            .await
            .map_err(|e| self.failed(e))?;
        if self.outstanding.is_some_and(|o| o <= message.sequence) {
            self.outstanding = None;
        }
        Ok(())
    }

    /// Events in the partition not yet delivered to this consumer: its lag.
    /// Asks the server; a worker reads [`BusMessage::pending`] instead.
    pub async fn pending(&self) -> Result<u64, BusError> {
        let info = self
            .consumer
            .get_info()
            .await
            .map_err(|e| self.failed(e.into()))?;
        Ok(info.num_pending)
    }

    /// The error for a pull unanswered within `waited`, with what the
    /// server says of the consumer (if it answers that within a second), so
    /// the log tells a lost pull from a server too busy to answer.
    async fn unanswered(&self, waited: Duration) -> BusError {
        let server_says =
            match tokio::time::timeout(Duration::from_secs(1), self.consumer.get_info()).await {
                Ok(Ok(info)) => format!(
                    "{} messages pending, {} pulls waiting, {} unacknowledged",
                    info.num_pending, info.num_waiting, info.num_ack_pending
                ),
                Ok(Err(e)) => format!("consumer info failed: {e}"),
                Err(_) => "no answer to consumer info either".to_owned(),
            };
        BusError::Unanswered {
            consumer: self.name.clone(),
            waited,
            server_says,
        }
    }

    fn failed(&self, source: NatsError) -> BusError {
        BusError::Consumer {
            stream: self.stream.clone(),
            consumer: self.name.clone(),
            source,
        }
    }
}

fn is_consumer_not_found(error: &jetstream::stream::ConsumerError) -> bool {
    matches!(
        error.kind(),
        jetstream::stream::ConsumerErrorKind::JetStream(e)
            if e.error_code() == jetstream::ErrorCode::CONSUMER_NOT_FOUND
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unanswered_pulls_in_a_row_double_the_grace_up_to_its_cap_and_an_answer_resets_it() {
        let mut grace = PullGrace::default();
        assert_eq!(grace.get(), PULL_GRACE);
        let mut seen = Vec::new();
        for _ in 0..7 {
            grace.unanswered();
            seen.push(grace.get().as_secs());
        }
        assert_eq!(seen, [2, 4, 8, 16, 32, 32, 32]);
        grace.answered();
        assert_eq!(grace, PullGrace::default());
    }

    #[test]
    fn the_lease_margin_is_a_sixth_of_a_short_lease_and_two_seconds_at_most() {
        assert_eq!(
            lease_margin(Duration::from_secs(3)),
            Duration::from_millis(500)
        );
        assert_eq!(lease_margin(Duration::from_secs(60)), LEASE_MARGIN);
    }
}
