//! The subscriber: one connection to Redis subscribed to the configured
//! channels; each message is read by [`super::protocol`] and the event
//! goes into the pipeline like a Twitch event (stored, formatted, handed to
//! plugins, on the live feed). A malformed message is logged and counted,
//! never fatal.
//!
//! The connection speaks RESP3, so one connection can both name itself
//! (`CLIENT SETNAME`, shown in `CLIENT LIST`) and subscribe; messages
//! arrive as pushes. A lost connection (`CLIENT KILL`, a Redis restart, a
//! network failure found by the periodic `PING`) is made again after an
//! exponential backoff with jitter, capped at [`MAX_BACKOFF`]. Pub/sub does
//! not keep messages for absent subscribers: what is published while the
//! bridge reconnects is not seen.

use std::sync::Arc;
use std::time::Duration;

use ::redis::{AsyncConnectionConfig, Client, Msg, PushInfo, PushKind};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use super::protocol;
use super::status::RedisStatus;
use crate::pipeline::EventSender;
use crate::twitch::eventsub::session::backoff_delay;

/// The first pause before connecting again; it doubles per failure.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// The longest pause between attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long connecting (TCP, TLS, `HELLO`, `AUTH`) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one command (`SUBSCRIBE`, `PING`) may wait for its answer.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the connection is checked with a `PING`: a connection that
/// died silently (a dropped network) is found within this plus
/// [`RESPONSE_TIMEOUT`].
pub const PING_EVERY: Duration = Duration::from_secs(15);
/// Messages waiting for the pipeline; more arriving meanwhile are dropped
/// (and counted) rather than held without bound.
pub const INBOX: usize = 1024;

/// Malformed messages are logged one by one up to this many, then one line
/// per this many more (a sender in a loop must not flood the log).
const LOG_EACH_UP_TO: u64 = 10;
const LOG_EVERY: u64 = 1000;

/// A message as it came off the connection.
struct Incoming {
    channel: String,
    payload: Vec<u8>,
}

/// The subscribing side of the bridge.
pub struct Subscriber {
    pub client: Client,
    pub channels: Vec<String>,
    /// `CLIENT SETNAME` of the connection.
    pub client_name: String,
    pub events: EventSender,
    /// The broadcaster the events belong to.
    pub channel_id: String,
    pub status: RedisStatus,
}

impl Subscriber {
    /// Subscribes, and subscribes again after every loss, until `stop`.
    pub async fn run(self, stop: CancellationToken) {
        let mut failures: u32 = 0;
        loop {
            // A bug (a panic) costs that connection, like a lost one.
            let session = futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(
                self.session(&mut failures),
            ));
            let ended = tokio::select! {
                _ = stop.cancelled() => return,
                ended = session => ended,
            };
            let error = match ended {
                Ok(Ok(())) => return,
                Ok(Err(e)) => e,
                Err(panic) => format!(
                    "the subscriber panicked: {}",
                    crate::health::panic_message(&*panic)
                ),
            };
            self.status.subscriber_down(&error);
            let pause = backoff_delay(failures, FIRST_BACKOFF, MAX_BACKOFF, rand::random::<f64>());
            failures = failures.saturating_add(1);
            tracing::warn!(
                channels = ?self.channels,
                error = %error,
                retry_in_ms = pause.as_millis() as u64,
                "Redis subscription lost or not made; trying again"
            );
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// One connection: connect, name it, subscribe, then deliver messages
    /// until it is lost (the error) or the pipeline shut down (`Ok`).
    async fn session(&self, failures: &mut u32) -> Result<(), String> {
        let (inbox, mut messages) = mpsc::channel::<Incoming>(INBOX);
        let closed = Arc::new(Notify::new());
        let push_status = self.status.clone();
        let push_closed = closed.clone();
        // Called by the connection's driver for every push: it must never
        // block, so a full inbox drops the message (counted).
        let on_push = move |push: PushInfo| -> Result<(), std::convert::Infallible> {
            match push.kind {
                PushKind::Message => {
                    if let Some(msg) = Msg::from_push_info(push) {
                        let incoming = Incoming {
                            channel: msg.get_channel_name().to_owned(),
                            payload: msg.get_payload_bytes().to_vec(),
                        };
                        if inbox.try_send(incoming).is_err() {
                            let dropped = push_status.message_dropped();
                            if dropped == 1 || dropped.is_multiple_of(LOG_EVERY) {
                                tracing::warn!(
                                    dropped,
                                    "Redis messages arrive faster than they are stored; dropping some"
                                );
                            }
                        }
                    }
                }
                PushKind::Disconnection => push_closed.notify_one(),
                _ => {}
            }
            Ok(())
        };
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_push_sender(on_push);
        let mut connection = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| format!("cannot connect: {e}"))?;
        ::redis::cmd("CLIENT")
            .arg("SETNAME")
            .arg(&self.client_name)
            .exec_async(&mut connection)
            .await
            .map_err(|e| format!("CLIENT SETNAME failed: {e}"))?;
        connection
            .subscribe(&self.channels)
            .await
            .map_err(|e| format!("SUBSCRIBE failed: {e}"))?;
        *failures = 0;
        self.status.subscriber_up();
        tracing::info!(channels = ?self.channels, client_name = %self.client_name, "subscribed on Redis");

        let mut ping = tokio::time::interval(PING_EVERY);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ping.tick().await;
        loop {
            // Messages first: those that arrived before a disconnection
            // are delivered before it is acted on.
            tokio::select! {
                biased;
                incoming = messages.recv() => match incoming {
                    Some(incoming) => {
                        if self.deliver(incoming).await.is_err() {
                            return Ok(());
                        }
                    }
                    None => return Err("the connection was closed".into()),
                },
                _ = closed.notified() => return Err("the connection was closed".into()),
                _ = ping.tick() => {
                    ::redis::cmd("PING")
                        .exec_async(&mut connection)
                        .await
                        .map_err(|e| format!("PING failed: {e}"))?;
                }
            }
        }
    }

    /// Reads one message and sends its event on; `Err` when the pipeline
    /// has shut down.
    async fn deliver(&self, incoming: Incoming) -> Result<(), crate::pipeline::PipelineClosed> {
        let Incoming { channel, payload } = incoming;
        match protocol::parse(&channel, &payload, &self.channel_id, crate::event::now_ms()) {
            Ok(event) => {
                self.status.message(false);
                tracing::debug!(%channel, event_id = %event.id, kind = %event.kind, "event from Redis");
                self.events.send(event).await
            }
            Err(malformed) => {
                let count = self.status.message(true);
                if count <= LOG_EACH_UP_TO || count.is_multiple_of(LOG_EVERY) {
                    tracing::warn!(
                        %channel,
                        bytes = payload.len(),
                        malformed = count,
                        reason = %malformed,
                        excerpt = %protocol::excerpt(&payload),
                        "malformed message on Redis; skipped"
                    );
                }
                Ok(())
            }
        }
    }
}
