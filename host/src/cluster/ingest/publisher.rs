//! Publishes an ingest node's events to the stream with many publishes in
//! flight (one round trip per event would cap a node far below what Twitch
//! can send). A publish that fails is sent again with the same message id:
//! the stream's dedup window keeps one copy.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesOrdered;
use tokio::sync::mpsc;

use bytes::Bytes;

use crate::cluster::bus::{BusError, EventAck, EventBus, PendingAck};
use crate::cluster::metrics::ClusterMetrics;
use crate::cluster::subjects::ChannelSubject;

/// Publishes waiting for their acknowledgement at once.
const IN_FLIGHT: usize = 512;
/// Events waiting to be published before shard sessions are slowed down.
const QUEUE: usize = 8192;

struct Outgoing {
    channel: ChannelSubject,
    msg_id: String,
    payload: Bytes,
}

/// The sending side; cheap to clone.
#[derive(Clone)]
pub struct Publisher {
    tx: mpsc::Sender<Outgoing>,
}

impl Publisher {
    /// Starts the publishing task; it ends once every sender is dropped and
    /// everything queued is acknowledged (that is the drain).
    pub fn start(
        bus: EventBus,
        metrics: Arc<ClusterMetrics>,
    ) -> (Publisher, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let task = tokio::spawn(run(bus, metrics, rx));
        (Publisher { tx }, task)
    }

    /// Queues one event (waits while the queue is full).
    pub async fn publish(&self, channel: ChannelSubject, msg_id: String, payload: Vec<u8>) {
        let _ = self
            .tx
            .send(Outgoing {
                channel,
                msg_id,
                payload: Bytes::from(payload),
            })
            .await;
    }
}

async fn run(bus: EventBus, metrics: Arc<ClusterMetrics>, mut rx: mpsc::Receiver<Outgoing>) {
    // Settled in the order sent; sending goes on while earlier publishes
    // wait for their acknowledgement, so no event waits for another's
    // round trip to the server.
    let mut waiting = FuturesOrdered::new();
    let mut open = true;
    loop {
        if !open && waiting.is_empty() {
            return;
        }
        tokio::select! {
            biased;
            next = rx.recv(), if open && waiting.len() < IN_FLIGHT => match next {
                Some(item) => {
                    let ack = send(&bus, &item).await;
                    waiting.push_back(settle(item, ack));
                }
                None => open = false,
            },
            Some((item, result)) = waiting.next(), if !waiting.is_empty() => match result {
                Ok(done) => {
                    if done.duplicate {
                        metrics.duplicates(None, 1);
                    } else {
                        metrics.events_out(None, 1);
                    }
                }
                Err(e) => {
                    tracing::warn!(channel_id = %item.channel, message_id = %item.msg_id, "publish not acknowledged, sending again: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    let again = send(&bus, &item).await;
                    waiting.push_front(settle(item, again));
                }
            },
        }
    }
}

/// A publish and its outcome, once the server answers.
fn settle(
    item: Outgoing,
    ack: PendingAck,
) -> BoxFuture<'static, (Outgoing, Result<EventAck, BusError>)> {
    Box::pin(async move {
        let result = ack.await;
        (item, result)
    })
}

/// Sends one publish, retrying until the client takes it.
async fn send(bus: &EventBus, item: &Outgoing) -> PendingAck {
    let mut pause = Duration::from_millis(50);
    loop {
        match bus
            .start_publish_event(&item.channel, &item.msg_id, item.payload.clone())
            .await
        {
            Ok(ack) => return ack,
            Err(e) => {
                tracing::warn!(channel_id = %item.channel, "cannot publish, retrying in {pause:?}: {e}");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
        }
    }
}
