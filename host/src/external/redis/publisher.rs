//! The publisher (`STAGEHAND_REDIS_PUBLISH=channel`): every stored event,
//! in the order stored, published on one channel as the JSON the API shows
//! for it (`GET /api/events`), so a Discord bot can react to Twitch.
//!
//! Events come from a pipeline observer, which never makes the pipeline
//! wait: they wait here in a bounded queue ([`QUEUE`]) while Redis is
//! unreachable, and what does not fit is dropped and counted. Events that
//! came from Redis are published too, except on the channel they came
//! from, so a bot never hears its own message echoed back (and the
//! configuration refuses a publish channel the bridge also subscribes to,
//! which would loop). A PUBLISH that failed on a lost connection is sent
//! again after reconnecting, so a subscriber may rarely see an event twice:
//! the `id` tells.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use ::redis::{AsyncConnectionConfig, Client, aio::MultiplexedConnection};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use super::bridge::{CONNECT_TIMEOUT, FIRST_BACKOFF, MAX_BACKOFF, RESPONSE_TIMEOUT};
use super::protocol;
use super::status::RedisStatus;
use crate::live::EventView;
use crate::settle::Settled;
use crate::store::events::StoredEvent;
use crate::twitch::eventsub::session::backoff_delay;

/// Stored events waiting to be published while Redis is unreachable.
pub const QUEUE: usize = 1000;
/// The pipeline observer's channel: the intake empties it at once, so it
/// only fills if this process is starved.
pub const TAP: usize = 1024;

/// Events waiting to be published, in order.
#[derive(Default)]
struct Queue {
    items: Mutex<VecDeque<Arc<StoredEvent>>>,
    /// Woken when an event was queued or the intake ended.
    ready: Notify,
    /// The pipeline has shut down: nothing more will be queued.
    ended: std::sync::atomic::AtomicBool,
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Arc<StoredEvent>>> {
        self.items.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn ended(&self) -> bool {
        self.ended.load(std::sync::atomic::Ordering::Acquire)
    }
}

/// The publishing side of the bridge.
pub struct Publisher {
    pub client: Client,
    pub channel: String,
    /// `CLIENT SETNAME` of the connection.
    pub client_name: String,
    pub status: RedisStatus,
}

impl Publisher {
    /// Publishes what `tap` offers until the pipeline shuts down (and the
    /// queue is sent, if Redis is reachable then), or `stop`.
    pub async fn run(
        self,
        tap: mpsc::Receiver<(Arc<StoredEvent>, Settled)>,
        stop: CancellationToken,
    ) {
        let queue = Arc::new(Queue::default());
        let intake = tokio::spawn(take_in(
            tap,
            queue.clone(),
            self.channel.clone(),
            self.status.clone(),
        ));
        tokio::select! {
            _ = stop.cancelled() => {}
            _ = self.send_all(&queue) => {}
        }
        intake.abort();
        let left = queue.lock().len() as u64;
        if left > 0 {
            self.status.publish_dropped(left);
            tracing::warn!(left, "stopping with events not published on Redis");
        }
    }

    /// Connects (again after each loss) and publishes the queue in order;
    /// returns once the intake ended and the queue is empty, or Redis is
    /// unreachable after the intake ended (what is left is dropped).
    async fn send_all(&self, queue: &Queue) {
        let mut failures: u32 = 0;
        loop {
            match self.connect().await {
                Ok(mut connection) => {
                    failures = 0;
                    self.status.publisher_up();
                    tracing::info!(channel = %self.channel, "publishing events on Redis");
                    match self.publish_queue(queue, &mut connection).await {
                        Ok(()) => return,
                        Err(e) => {
                            self.status.publisher_down(&e);
                            tracing::warn!(error = %e, "publishing on Redis failed; reconnecting");
                        }
                    }
                }
                Err(e) => {
                    self.status.publisher_down(&e);
                    tracing::warn!(error = %e, "cannot connect to Redis to publish events");
                }
            }
            if queue.ended() {
                return;
            }
            let pause = backoff_delay(failures, FIRST_BACKOFF, MAX_BACKOFF, rand::random::<f64>());
            failures = failures.saturating_add(1);
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                // The host is stopping: one more try, no longer wait.
                _ = wait_ended(queue) => {}
            }
        }
    }

    async fn connect(&self) -> Result<MultiplexedConnection, String> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT));
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
        Ok(connection)
    }

    /// Publishes queued events until the intake ended and nothing is left
    /// (`Ok`), or a PUBLISH fails (the event stays first in the queue).
    async fn publish_queue(
        &self,
        queue: &Queue,
        connection: &mut MultiplexedConnection,
    ) -> Result<(), String> {
        loop {
            let next = queue.lock().front().cloned();
            let Some(stored) = next else {
                if queue.ended() {
                    return Ok(());
                }
                queue.ready.notified().await;
                continue;
            };
            let json = match serde_json::to_string(&EventView::from(stored.as_ref())) {
                Ok(json) => json,
                Err(e) => {
                    // Cannot happen for JSON-born details; never block the queue on it.
                    tracing::error!(event_id = %stored.event.id, error = %e, "an event could not be written as JSON; not published");
                    queue.lock().pop_front();
                    self.status.publish_dropped(1);
                    continue;
                }
            };
            ::redis::cmd("PUBLISH")
                .arg(&self.channel)
                .arg(json)
                .exec_async(connection)
                .await
                .map_err(|e| format!("PUBLISH failed: {e}"))?;
            queue.lock().pop_front();
            self.status.published();
        }
    }
}

/// Moves events from the pipeline's observer into the queue at once (so
/// the observer never fills), skipping events that came from the publish
/// channel itself, and dropping (counted) what does not fit.
async fn take_in(
    mut tap: mpsc::Receiver<(Arc<StoredEvent>, Settled)>,
    queue: Arc<Queue>,
    channel: String,
    status: RedisStatus,
) {
    while let Some((stored, _settled)) = tap.recv().await {
        if protocol::origin_channel(&stored.event) == Some(channel.as_str()) {
            continue;
        }
        let full = {
            let mut items = queue.lock();
            if items.len() >= QUEUE {
                true
            } else {
                items.push_back(stored);
                false
            }
        };
        if full {
            let dropped = status.publish_dropped(1);
            if dropped == 1 || dropped.is_multiple_of(1000) {
                tracing::warn!(
                    dropped,
                    "Redis is unreachable and {QUEUE} events already wait to be published; dropping newer ones"
                );
            }
        }
        queue.ready.notify_one();
    }
    queue
        .ended
        .store(true, std::sync::atomic::Ordering::Release);
    queue.ready.notify_one();
}

/// Resolves once the intake has ended.
async fn wait_ended(queue: &Queue) {
    while !queue.ended() {
        queue.ready.notified().await;
    }
}
