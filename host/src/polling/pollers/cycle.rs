//! What every poll cycle does around its diff: count the Helix requests,
//! check for the channel's baseline, send the changes as events with store
//! hooks (in a tight loop, so the pipeline stores them in one transaction),
//! wait until they are stored, and rename viewers.

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::event::{Event, Viewer};
use crate::pipeline::{Outcome, PipelineClosed, StoreHook};
use crate::polling::{PollContext, PollError, PollReport};
use crate::store::{StoreError, baselines, viewers};
use crate::twitch::domain;
use crate::twitch::normalize::DomainChange;

/// Changes applied silently per store write while taking a baseline: a
/// million-follower baseline commits in slices, so the single writer (and
/// the EventSub events queued behind it) never waits long.
const BASELINE_SLICE: usize = 5_000;

/// One cycle of one poller.
pub(super) struct Cycle<'a> {
    ctx: &'a PollContext,
    name: &'static str,
    requests_before: u64,
    pending: Vec<oneshot::Receiver<Outcome>>,
}

/// What became of the events a cycle sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Sent {
    /// Events sent.
    pub changes: usize,
    /// Stored as news.
    pub stored: usize,
    /// Dropped: another source had already delivered the change.
    pub duplicates: usize,
    /// Not stored (the pipeline logged why).
    pub failed: usize,
    /// Waiting in memory for the database to take writes again.
    pub buffered: usize,
}

impl<'a> Cycle<'a> {
    /// Starts a cycle of the poller `name`.
    pub fn start(ctx: &'a PollContext, name: &'static str) -> Self {
        Cycle {
            ctx,
            name,
            requests_before: ctx.helix.requests_sent(),
            pending: Vec::new(),
        }
    }

    /// The channel polled.
    pub fn channel(&self) -> &str {
        &self.ctx.channel_id
    }

    /// Whether this poller already took the channel's baseline.
    pub async fn has_baseline(&self) -> Result<bool, PollError> {
        let (name, channel) = (self.name, self.ctx.channel_id.clone());
        let taken = self
            .ctx
            .store
            .read(move |c| baselines::taken_at(c, name, &channel))
            .await?;
        Ok(taken.is_some())
    }

    /// Takes the baseline: applies `changes` to the tables without any
    /// event and records the baseline with the last of them, in one store
    /// write (several for a very large state, see [`BASELINE_SLICE`]; the
    /// changes are drawn lazily, so only two slices exist at a time).
    pub async fn take_baseline<I>(
        self,
        changes: I,
        at: DateTime<Utc>,
    ) -> Result<PollReport, PollError>
    where
        I: IntoIterator<Item = DomainChange>,
        I::IntoIter: Send,
    {
        let mut changes = changes.into_iter();
        let mut slice: Vec<DomainChange> = changes.by_ref().take(BASELINE_SLICE).collect();
        loop {
            let next: Vec<DomainChange> = changes.by_ref().take(BASELINE_SLICE).collect();
            let last = next.is_empty();
            let (name, channel) = (self.name, self.ctx.channel_id.clone());
            self.ctx
                .store
                .write(move |c| {
                    apply_all(c, &channel, &slice, at)?;
                    if last {
                        baselines::record(c, name, &channel, at)?;
                    }
                    Ok(())
                })
                .await?;
            if last {
                break;
            }
            slice = next;
        }
        tracing::info!(poller = self.name, channel = %self.ctx.channel_id, "baseline taken; changes are reported from the next poll on");
        Ok(self.baseline_report())
    }

    /// Takes the baseline with a write of the poller's own (state that is
    /// not a [`DomainChange`]), recording the baseline in the same write.
    pub async fn take_baseline_with<F>(
        self,
        at: DateTime<Utc>,
        write: F,
    ) -> Result<PollReport, PollError>
    where
        F: FnOnce(&Connection, &str) -> Result<(), StoreError> + Send + 'static,
    {
        let (name, channel) = (self.name, self.ctx.channel_id.clone());
        self.ctx
            .store
            .write(move |c| {
                write(c, &channel)?;
                baselines::record(c, name, &channel, at)
            })
            .await?;
        tracing::info!(poller = name, channel = %self.ctx.channel_id, "baseline taken; changes are reported from the next poll on");
        Ok(self.baseline_report())
    }

    fn baseline_report(&self) -> PollReport {
        PollReport {
            changes: 0,
            requests: self.requests(),
            baseline: true,
        }
    }

    /// Brings renamed viewers' rows up to date (one write; none when
    /// nobody was renamed).
    pub async fn rename(&self, renamed: Vec<Viewer>, at: DateTime<Utc>) -> Result<(), PollError> {
        if renamed.is_empty() {
            return Ok(());
        }
        tracing::debug!(poller = self.name, count = renamed.len(), "renamed viewers");
        self.ctx
            .store
            .write(move |c| {
                for viewer in &renamed {
                    viewers::get_or_create(c, viewer, at)?;
                }
                Ok(())
            })
            .await?;
        Ok(())
    }

    /// Sends `event` with the hook applying `change` at `at`: the pipeline
    /// keeps the event only if the change is news to the tables.
    pub async fn send_change(
        &mut self,
        event: Event,
        change: DomainChange,
        at: DateTime<Utc>,
    ) -> Result<(), PollError> {
        let hook = change_hook(&event, change, at);
        self.send(event, hook).await
    }

    /// Sends `event` with its own store hook.
    pub async fn send(&mut self, event: Event, hook: StoreHook) -> Result<(), PollError> {
        let outcome = self.ctx.events.enqueue(event, Some(hook)).await?;
        self.pending.push(outcome);
        Ok(())
    }

    /// Waits until every event sent is stored or dropped, and reports.
    pub async fn finish(self) -> Result<(PollReport, Sent), PollError> {
        let requests = self.requests();
        let mut sent = Sent {
            changes: self.pending.len(),
            ..Sent::default()
        };
        for outcome in self.pending {
            match outcome.await.map_err(|_| PipelineClosed)? {
                Outcome::Stored(_) => sent.stored += 1,
                Outcome::Duplicate => sent.duplicates += 1,
                Outcome::Failed(_) => sent.failed += 1,
                Outcome::Buffered => sent.buffered += 1,
            }
        }
        if sent.changes > 0 {
            tracing::info!(
                poller = self.name, channel = %self.ctx.channel_id, found = sent.changes,
                stored = sent.stored, already_delivered = sent.duplicates, failed = sent.failed,
                buffered = sent.buffered,
                "poll found changes"
            );
        }
        let report = PollReport {
            changes: sent.changes,
            requests,
            baseline: false,
        };
        Ok((report, sent))
    }

    fn requests(&self) -> u64 {
        self.ctx
            .helix
            .requests_sent()
            .saturating_sub(self.requests_before)
    }
}

/// A hook applying `change` (detected at `at`) for `event`: true (keep
/// the event) only when it is news (see [`domain::announce`]). Unlike
/// [`domain::hook`], a polled resub is dropped when EventSub already
/// recorded the new terms.
pub(super) fn change_hook(event: &Event, change: DomainChange, at: DateTime<Utc>) -> StoreHook {
    let (channel, event_id, source) = (event.channel_id.clone(), event.id.clone(), event.source);
    std::sync::Arc::new(move |c: &Connection| {
        domain::announce(c, &channel, &change, &event_id, source, at)
    })
}

fn apply_all(
    conn: &Connection,
    channel: &str,
    changes: &[DomainChange],
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    for change in changes {
        domain::apply(conn, channel, change, at)?;
    }
    Ok(())
}

/// The name events show for a viewer: the display name, else the login.
pub(super) fn username(viewer: &Viewer) -> String {
    if viewer.display_name.is_empty() {
        viewer.login.clone()
    } else {
        viewer.display_name.clone()
    }
}
