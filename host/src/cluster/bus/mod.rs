//! The event bus of cluster mode, on NATS: normalised events on a
//! JetStream stream (durable, de-duplicated by Twitch message id, one
//! consumer per partition), alerts and live updates on core NATS
//! (fire-and-forget fan-out to edges: the database, not the bus, is where a
//! missed alert is found again).
//!
//! - [`EventBus`]: the connection, the stream, publishing and the
//!   alert/live subscriptions ([`ChannelFeed`]).
//! - [`PartitionConsumer`]: one worker's reading of one partition.

mod consumer;
mod error;
mod feed;

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Duration;

use async_nats::jetstream::{self, context::PublishAckFuture, message::PublishMessage, stream};
use async_nats::{Client, ConnectOptions, Event};
// The `bytes` crate's buffer, which async-nats takes and gives; axum
// re-exports it, so the host needs no direct dependency for the name.
pub use axum::body::Bytes;

pub use consumer::{BusMessage, PartitionConsumer, PullGrace};
pub use error::{BusError, NatsError};
pub use feed::ChannelFeed;

use super::subjects::{ChannelSubject, DEFAULT_PREFIX, Subjects};

/// The longest `Nats-Msg-Id` accepted: Twitch message ids are UUIDs (36
/// characters); ids derived by other sources stay well below this.
const MAX_MSG_ID: usize = 256;

/// What the stream description says about the partition count, so every
/// node can check it agrees (`partitions=16`).
const PARTITIONS_MARK: &str = "partitions=";

/// How a node uses the bus. Every node of a cluster must agree on
/// `prefix` and `partitions`; the stream's settings are fixed by the node
/// that creates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusConfig {
    /// The first subject token(s): `stagehand` unless several clusters (or
    /// test runs) share one NATS.
    pub prefix: String,
    /// How many partitions the channels are spread over; the unit of work
    /// of a worker. Fixed for the life of the stream.
    pub partitions: u32,
    /// How long the stream remembers a message id to drop a repeat: Twitch
    /// redelivers EventSub notifications, and two ingest nodes may receive
    /// the same one.
    pub duplicate_window: Duration,
    /// How long events stay in the stream: long enough for a worker outage
    /// to be caught up on.
    pub max_age: Duration,
    /// How NATS lists this connection (`nats server report connections`).
    pub client_name: String,
    /// How long a delivered event may stay unacknowledged before it is
    /// delivered again (a worker must process and commit a batch within it).
    pub ack_wait: Duration,
    /// How many events a partition consumer may have delivered but not
    /// acknowledged: the largest batch a worker can fetch.
    pub max_ack_pending: u32,
    /// Stream replicas (1 on a single NATS server, 3 in a NATS cluster).
    pub replicas: usize,
}

impl Default for BusConfig {
    fn default() -> Self {
        BusConfig {
            prefix: DEFAULT_PREFIX.to_owned(),
            partitions: 16,
            duplicate_window: Duration::from_secs(120),
            max_age: Duration::from_secs(7 * 24 * 3600),
            client_name: "stagehand".to_owned(),
            ack_wait: Duration::from_secs(30),
            max_ack_pending: 10_000,
            replicas: 1,
        }
    }
}

/// The stream's answer to a published event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventAck {
    /// The event's position in the stream (for a duplicate: the original's).
    pub sequence: u64,
    /// The stream had this message id within its window and dropped the
    /// repeat.
    pub duplicate: bool,
    /// The partition the event went to.
    pub partition: u32,
}

/// A published event whose confirmation has not arrived yet: await it
/// (directly, or after publishing more) for the [`EventAck`]. Lets an
/// ingest node keep many publishes in flight on one connection.
#[must_use = "an unawaited publish may not have reached the stream"]
pub struct PendingAck {
    ack: PublishAckFuture,
    subject: String,
    partition: u32,
}

impl PendingAck {
    /// The partition the event went to.
    pub fn partition(&self) -> u32 {
        self.partition
    }
}

impl IntoFuture for PendingAck {
    type Output = Result<EventAck, BusError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let ack = self.ack.await.map_err(|e| BusError::Publish {
                subject: self.subject,
                source: e.into(),
            })?;
            Ok(EventAck {
                sequence: ack.sequence,
                duplicate: ack.duplicate,
                partition: self.partition,
            })
        })
    }
}

/// A node's connection to the bus. Cheap to clone (one NATS connection,
/// shared).
#[derive(Clone)]
pub struct EventBus {
    client: Client,
    jetstream: jetstream::Context,
    subjects: Subjects,
    config: BusConfig,
    stream: String,
}

impl EventBus {
    /// Connects and creates the events stream, or checks the existing one
    /// was made for this prefix and partition count. Reconnects after a
    /// lost connection are async-nats's job; they are logged.
    pub async fn connect(url: &str, config: BusConfig) -> Result<EventBus, BusError> {
        let subjects = Subjects::new(&config.prefix, config.partitions)?;
        let client = ConnectOptions::new()
            .name(&config.client_name)
            .event_callback(|event| async move { log_connection_event(event) })
            .connect(url)
            .await
            .map_err(|source| BusError::Connect {
                url: url.to_owned(),
                source,
            })?;
        let bus = EventBus {
            jetstream: jetstream::new(client.clone()),
            client,
            stream: subjects.stream_name(),
            subjects,
            config,
        };
        bus.ensure_stream().await?;
        Ok(bus)
    }

    /// The stream settings this node would create.
    fn stream_config(&self) -> stream::Config {
        stream::Config {
            name: self.stream.clone(),
            description: Some(format!(
                "Stagehand events of prefix {}; {PARTITIONS_MARK}{}",
                self.subjects.prefix(),
                self.subjects.partitions()
            )),
            subjects: vec![self.subjects.events_all()],
            storage: stream::StorageType::File,
            retention: stream::RetentionPolicy::Limits,
            duplicate_window: self.config.duplicate_window,
            max_age: self.config.max_age,
            num_replicas: self.config.replicas,
            ..Default::default()
        }
    }

    /// Creates the stream if it is missing, then checks it. Two nodes
    /// starting together may both try to create it: NATS accepts an
    /// identical create, and a refused one is followed by reading what the
    /// other node made.
    async fn ensure_stream(&self) -> Result<(), BusError> {
        let stream_error = |source: NatsError| BusError::Stream {
            stream: self.stream.clone(),
            source,
        };
        let info = match self.jetstream.get_stream(&self.stream).await {
            Ok(mut found) => found
                .info()
                .await
                .map_err(|e| stream_error(e.into()))?
                .clone(),
            Err(e) if is_stream_not_found(&e) => {
                match self.jetstream.create_stream(self.stream_config()).await {
                    Ok(mut made) => {
                        tracing::info!(
                            stream = %self.stream,
                            partitions = self.subjects.partitions(),
                            "created the events stream"
                        );
                        made.info()
                            .await
                            .map_err(|e| stream_error(e.into()))?
                            .clone()
                    }
                    Err(create) => {
                        let mut found = self
                            .jetstream
                            .get_stream(&self.stream)
                            .await
                            .map_err(|_| stream_error(create.into()))?;
                        found
                            .info()
                            .await
                            .map_err(|e| stream_error(e.into()))?
                            .clone()
                    }
                }
            }
            Err(e) => return Err(stream_error(e.into())),
        };
        self.check_stream(&info.config)
    }

    /// Refuses a stream made for another partition count or other
    /// subjects; warns about settings that differ but are harmless to
    /// share (the stream keeps its creator's).
    fn check_stream(&self, found: &stream::Config) -> Result<(), BusError> {
        let foreign = |reason: String| BusError::ForeignStream {
            stream: self.stream.clone(),
            subjects: self.subjects.events_all(),
            reason,
        };
        if found.subjects != [self.subjects.events_all()] {
            return Err(foreign(format!("its subjects are {:?}", found.subjects)));
        }
        let description = found.description.as_deref().unwrap_or("");
        let count = description
            .rsplit_once(PARTITIONS_MARK)
            .and_then(|(_, n)| n.trim().parse::<u32>().ok())
            .ok_or_else(|| {
                foreign(format!(
                    "its description {description:?} does not record a partition count"
                ))
            })?;
        if count != self.subjects.partitions() {
            return Err(BusError::PartitionMismatch {
                stream: self.stream.clone(),
                found: count,
                configured: self.subjects.partitions(),
            });
        }
        if found.duplicate_window != self.config.duplicate_window
            || found.max_age != self.config.max_age
        {
            tracing::warn!(
                stream = %self.stream,
                duplicate_window_s = found.duplicate_window.as_secs(),
                max_age_s = found.max_age.as_secs(),
                "the events stream keeps the settings it was created with, not this node's"
            );
        }
        Ok(())
    }

    /// The subjects of this cluster.
    pub fn subjects(&self) -> &Subjects {
        &self.subjects
    }

    /// The settings this node connected with.
    pub fn config(&self) -> &BusConfig {
        &self.config
    }

    /// The events stream's name.
    pub fn stream_name(&self) -> &str {
        &self.stream
    }

    /// Whether the connection is up now: a readiness check ("nats
    /// connected") for the ops endpoint.
    pub fn connection_check(&self) -> Result<(), String> {
        match self.client.connection_state() {
            async_nats::connection::State::Connected => Ok(()),
            state => Err(format!("NATS connection is {state}")),
        }
    }

    /// Publishes a channel's event and waits for the stream's
    /// confirmation. `msg_id` (the Twitch message id) goes in the
    /// `Nats-Msg-Id` header, so a repeat within the duplicate window is
    /// dropped by the stream and answered with `duplicate: true`.
    pub async fn publish_event(
        &self,
        channel: &ChannelSubject,
        msg_id: &str,
        payload: Bytes,
    ) -> Result<EventAck, BusError> {
        self.start_publish_event(channel, msg_id, payload)
            .await?
            .await
    }

    /// Sends a channel's event and answers as soon as it is written to the
    /// connection; the [`PendingAck`] brings the confirmation. Order is
    /// kept: events sent one after another on one bus land in the stream in
    /// that order.
    pub async fn start_publish_event(
        &self,
        channel: &ChannelSubject,
        msg_id: &str,
        payload: Bytes,
    ) -> Result<PendingAck, BusError> {
        check_msg_id(msg_id)?;
        let (partition, subject) = self.subjects.event(channel);
        let message = PublishMessage::build().payload(payload).message_id(msg_id);
        let ack = self
            .jetstream
            .send_publish(subject.clone(), message)
            .await
            .map_err(|e| BusError::Publish {
                subject: subject.clone(),
                source: e.into(),
            })?;
        Ok(PendingAck {
            ack,
            subject,
            partition,
        })
    }

    /// Publishes an alert of a channel to the edges (core NATS: delivered
    /// to whoever listens now).
    pub async fn publish_alert(
        &self,
        channel: &ChannelSubject,
        payload: Bytes,
    ) -> Result<(), BusError> {
        self.publish_core(self.subjects.alert(channel), payload)
            .await
    }

    /// Publishes a live update of a channel (a stored event for dashboards)
    /// to the edges.
    pub async fn publish_live(
        &self,
        channel: &ChannelSubject,
        payload: Bytes,
    ) -> Result<(), BusError> {
        self.publish_core(self.subjects.live(channel), payload)
            .await
    }

    /// Tells every worker that a channel's plugins changed (core NATS: a
    /// worker that misses it loads them again when the channel's instances
    /// are next evicted or the worker restarts).
    pub async fn publish_control(
        &self,
        channel: &ChannelSubject,
        payload: Bytes,
    ) -> Result<(), BusError> {
        self.publish_core(self.subjects.control(channel), payload)
            .await
    }

    async fn publish_core(&self, subject: String, payload: Bytes) -> Result<(), BusError> {
        self.client
            .publish(subject.clone(), payload)
            .await
            .map_err(|e| BusError::Publish {
                subject,
                source: e.into(),
            })
    }

    /// Every channel's alerts, as `(channel, payload)`.
    pub async fn subscribe_alerts(&self) -> Result<ChannelFeed, BusError> {
        let subject = self.subjects.alerts_all();
        let subscriber = self.subscribe(&subject).await?;
        Ok(ChannelFeed::alerts(subscriber, self.subjects.clone()))
    }

    /// Every channel's live updates, as `(channel, payload)`.
    pub async fn subscribe_live(&self) -> Result<ChannelFeed, BusError> {
        let subject = self.subjects.live_all();
        let subscriber = self.subscribe(&subject).await?;
        Ok(ChannelFeed::live(subscriber, self.subjects.clone()))
    }

    /// Asks an ingest node to send a chat message in a channel (core NATS;
    /// one ingest node of the queue group takes it).
    pub async fn publish_chat(
        &self,
        channel: &ChannelSubject,
        payload: Bytes,
    ) -> Result<(), BusError> {
        self.publish_core(self.subjects.chat(channel), payload)
            .await
    }

    /// Chat messages to send, shared among the ingest nodes (each message
    /// goes to one of them).
    pub async fn subscribe_chat(&self) -> Result<ChannelFeed, BusError> {
        let subject = self.subjects.chat_all();
        let subscriber = self
            .client
            .queue_subscribe(
                subject.clone(),
                format!("{}-ingest-chat", self.subjects.prefix()),
            )
            .await
            .map_err(|e| BusError::Subscribe {
                subject: subject.clone(),
                source: e.into(),
            })?;
        Ok(ChannelFeed::chat(subscriber, self.subjects.clone()))
    }

    /// Every channel's control notices, as `(channel, payload)`.
    pub async fn subscribe_control(&self) -> Result<ChannelFeed, BusError> {
        let subject = self.subjects.control_all();
        let subscriber = self.subscribe(&subject).await?;
        Ok(ChannelFeed::control(subscriber, self.subjects.clone()))
    }

    async fn subscribe(&self, subject: &str) -> Result<async_nats::Subscriber, BusError> {
        self.client
            .subscribe(subject.to_owned())
            .await
            .map_err(|e| BusError::Subscribe {
                subject: subject.to_owned(),
                source: e.into(),
            })
    }

    /// Writes everything buffered to the server (and waits for it to
    /// answer): after it, a subscription made earlier on this connection is
    /// known to the server and core publishes have left the process.
    pub async fn flush(&self) -> Result<(), BusError> {
        Ok(self.client.flush().await?)
    }

    /// Deletes the events stream with every event in it: for tearing down
    /// a test run or a decommissioned cluster, never in normal operation.
    pub async fn delete_stream(&self) -> Result<(), BusError> {
        self.jetstream
            .delete_stream(&self.stream)
            .await
            .map(drop)
            .map_err(|e| BusError::Stream {
                stream: self.stream.clone(),
                source: e.into(),
            })
    }

    pub(crate) fn jetstream(&self) -> &jetstream::Context {
        &self.jetstream
    }
}

fn is_stream_not_found(error: &jetstream::context::GetStreamError) -> bool {
    matches!(
        error.kind(),
        jetstream::context::GetStreamErrorKind::JetStream(e)
            if e.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND
    )
}

/// A message id must fit a header value (no control characters or
/// spaces, which could end the header) and stay short.
fn check_msg_id(msg_id: &str) -> Result<(), BusError> {
    let ok = !msg_id.is_empty()
        && msg_id.len() <= MAX_MSG_ID
        && msg_id.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        let cut: String = msg_id.chars().take(40).collect();
        Err(BusError::InvalidMessageId {
            shown: format!("{cut:?}"),
            max: MAX_MSG_ID,
        })
    }
}

/// Logs what happens to the connection: a disconnect is a warning (work
/// pauses until async-nats reconnects), the rest is information.
fn log_connection_event(event: Event) {
    match event {
        Event::Connected => tracing::info!("NATS connected"),
        Event::Disconnected => tracing::warn!("NATS disconnected; reconnecting"),
        Event::Closed => tracing::warn!("NATS connection closed"),
        Event::LameDuckMode => {
            tracing::warn!(
                "NATS server is shutting down (lame duck mode); will reconnect elsewhere"
            )
        }
        Event::SlowConsumer(sid) => {
            tracing::warn!(
                subscription = sid,
                "NATS slow consumer: messages were dropped"
            )
        }
        Event::ServerError(e) => tracing::warn!(error = %e, "NATS server error"),
        Event::ClientError(e) => tracing::warn!(error = %e, "NATS client error"),
        Event::Draining => tracing::info!("NATS connection draining"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_fit_a_header() {
        assert!(check_msg_id("befa7b53-d79d-478f-86b9-120f112b044e").is_ok());
        for bad in ["", "a b", "a\r\nNats-Msg-Id: x", "ä", &"a".repeat(257)] {
            assert!(
                matches!(check_msg_id(bad), Err(BusError::InvalidMessageId { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn defaults_match_the_documented_ones() {
        let c = BusConfig::default();
        assert_eq!(c.prefix, "stagehand");
        assert_eq!(c.duplicate_window, Duration::from_secs(120));
        assert_eq!(c.ack_wait, Duration::from_secs(30));
        assert_eq!(
            Subjects::new(&c.prefix, c.partitions)
                .unwrap()
                .stream_name(),
            "STAGEHAND_EVENTS"
        );
    }
}
