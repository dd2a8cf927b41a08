//! A subscription to every channel's alerts, live updates or control notices, yielding
//! `(channel, payload)`.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::{Stream, StreamExt};

use super::Bytes;
use crate::cluster::subjects::{ChannelSubject, Subjects};

/// Which kind of subject a feed reads.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Alerts,
    Live,
    Control,
    Chat,
}

/// Every channel's alerts (or live updates) as they are published. A
/// message on a subject that names no valid channel (published by
/// something other than a Stagehand node) is logged and skipped: an edge
/// must never deliver it to a channel's sockets.
pub struct ChannelFeed {
    subscriber: async_nats::Subscriber,
    subjects: Subjects,
    kind: Kind,
}

impl ChannelFeed {
    pub(super) fn alerts(subscriber: async_nats::Subscriber, subjects: Subjects) -> ChannelFeed {
        ChannelFeed {
            subscriber,
            subjects,
            kind: Kind::Alerts,
        }
    }

    pub(super) fn live(subscriber: async_nats::Subscriber, subjects: Subjects) -> ChannelFeed {
        ChannelFeed {
            subscriber,
            subjects,
            kind: Kind::Live,
        }
    }
}

impl ChannelFeed {
    pub(super) fn chat(subscriber: async_nats::Subscriber, subjects: Subjects) -> ChannelFeed {
        ChannelFeed {
            subscriber,
            subjects,
            kind: Kind::Chat,
        }
    }

    pub(super) fn control(subscriber: async_nats::Subscriber, subjects: Subjects) -> ChannelFeed {
        ChannelFeed {
            subscriber,
            subjects,
            kind: Kind::Control,
        }
    }
}

impl Stream for ChannelFeed {
    type Item = (ChannelSubject, Bytes);

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            let Some(message) = std::task::ready!(self.subscriber.poll_next_unpin(cx)) else {
                return Poll::Ready(None);
            };
            let channel = match self.kind {
                Kind::Alerts => self.subjects.parse_alert(&message.subject),
                Kind::Live => self.subjects.parse_live(&message.subject),
                Kind::Control => self.subjects.parse_control(&message.subject),
                Kind::Chat => self.subjects.parse_chat(&message.subject),
            };
            match channel {
                Ok(channel) => return Poll::Ready(Some((channel, message.payload))),
                Err(e) => tracing::warn!(error = %e, "skipped a message naming no channel"),
            }
        }
    }
}
