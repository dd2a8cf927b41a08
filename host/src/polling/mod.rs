//! Polling: the safety net behind EventSub. Each poller fetches one family
//! of channel state from Helix, diffs it against what the store knows (pure
//! functions in `diff`), and sends the differences as events
//! (`source = poll`) whose store hooks update the same tables EventSub's
//! do, so a change both sources see is stored once. The scheduler runs them
//! at their intervals, stretched while EventSub is healthy.

pub mod diff;
pub mod pollers;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::pin::Pin;

use serde::Serialize;

pub mod role_sync;
pub mod role_sync_job;
pub mod schedule;

use crate::pipeline::{EventSender, PipelineClosed};
use crate::store::{Store, StoreError};
use crate::twitch::helix::{HelixClient, HelixError};

/// What a poller needs: the store (known state), the pipeline (events) and
/// Helix, for one channel.
#[derive(Clone)]
pub struct PollContext {
    pub store: Store,
    pub events: EventSender,
    pub helix: HelixClient,
    /// The broadcaster's user id.
    pub channel_id: String,
}

/// What one cycle did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PollReport {
    /// Changes found (events sent; those another source already delivered
    /// are dropped by the pipeline).
    pub changes: usize,
    /// Helix requests this cycle made.
    pub requests: u64,
    /// True when this cycle took the channel's baseline (and emitted
    /// nothing).
    pub baseline: bool,
}

/// Why a cycle failed; the scheduler logs it and tries again next cycle.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error(transparent)]
    Helix(#[from] HelixError),
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("the event pipeline has shut down")]
    Closed(#[from] PipelineClosed),
    /// A job that reports its own failure (e.g. the role sync's failed
    /// role types).
    #[error("{0}")]
    Failed(String),
}

/// A boxed poll future, so pollers can live in one list.
pub type PollFuture<'a> = Pin<Box<dyn Future<Output = Result<PollReport, PollError>> + Send + 'a>>;

/// One family of state polled from Helix.
pub trait Poller: Send + Sync + 'static {
    /// Its row in `polling_config` (`followers`, `followers_full`,
    /// `subscriptions`, `vips`, `moderators`, `bans`, `clips`).
    fn name(&self) -> &'static str;
    /// One cycle: fetch, diff against the known state, send the changes.
    /// The first cycle for a channel records the baseline silently.
    fn poll(&self) -> PollFuture<'_>;
}
