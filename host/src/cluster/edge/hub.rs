//! Fans the cluster's alert and live messages out to this edge's sockets:
//! one NATS subscription per kind for the whole edge, and an in-process
//! broadcast per channel that sockets of that channel follow. A channel with
//! no socket here has no broadcast, so its messages cost a map lookup.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use bytes::Bytes;
use tokio::sync::broadcast;

/// How many messages a slow socket may fall behind before it re-reads the
/// database (it never loses an alert: the database is the record).
const BACKLOG: usize = 256;

/// Per-channel broadcasts of one message kind (alerts, or live updates).
#[derive(Default, Clone)]
pub struct ChannelHub {
    inner: Arc<Mutex<HashMap<String, Weak<broadcast::Sender<Bytes>>>>>,
}

/// A socket's subscription: keeps its channel's broadcast alive.
pub struct Subscription {
    pub rx: broadcast::Receiver<Bytes>,
    _sender: Arc<broadcast::Sender<Bytes>>,
}

impl ChannelHub {
    /// Follows `channel`'s messages from now on.
    pub fn subscribe(&self, channel: &str) -> Subscription {
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(sender) = map.get(channel).and_then(Weak::upgrade) {
            return Subscription {
                rx: sender.subscribe(),
                _sender: sender,
            };
        }
        let (tx, rx) = broadcast::channel(BACKLOG);
        let sender = Arc::new(tx);
        map.insert(channel.to_owned(), Arc::downgrade(&sender));
        // Forget channels whose sockets have all gone.
        map.retain(|_, s| s.strong_count() > 0);
        Subscription {
            rx,
            _sender: sender,
        }
    }

    /// Hands a message to `channel`'s sockets on this edge, if any.
    pub fn publish(&self, channel: &str, message: Bytes) {
        let sender = self
            .inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(channel)
            .and_then(Weak::upgrade);
        if let Some(sender) = sender {
            let _ = sender.send(message);
        }
    }

    /// Channels with a socket on this edge.
    pub fn channels(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|s| s.strong_count() > 0)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_message_reaches_only_its_channels_sockets() {
        let hub = ChannelHub::default();
        let mut a = hub.subscribe("1");
        let mut b = hub.subscribe("2");
        hub.publish("1", Bytes::from_static(b"for one"));
        assert_eq!(a.rx.recv().await.unwrap(), Bytes::from_static(b"for one"));
        assert!(
            b.rx.try_recv().is_err(),
            "channel 2 saw channel 1's message"
        );
        drop(a);
        hub.publish("1", Bytes::from_static(b"nobody"));
        assert_eq!(hub.channels(), 1);
    }
}
