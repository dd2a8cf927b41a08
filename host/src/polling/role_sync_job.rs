//! The role sync as a scheduled job: the scheduler runs it at the
//! `role_sync` interval of `polling_config` (30 min by default), the first
//! time with the `startup` trigger, then `background`.

use std::sync::atomic::{AtomicBool, Ordering};

use super::role_sync::{RoleSync, SyncOutcome, SyncTrigger};
use super::{PollError, PollFuture, PollReport, Poller};

/// [`RoleSync`] behind the [`Poller`] interface.
pub struct RoleSyncJob {
    sync: RoleSync,
    started: AtomicBool,
}

impl RoleSyncJob {
    pub fn new(sync: RoleSync) -> Self {
        RoleSyncJob {
            sync,
            started: AtomicBool::new(false),
        }
    }
}

impl Poller for RoleSyncJob {
    fn name(&self) -> &'static str {
        "role_sync"
    }

    fn poll(&self) -> PollFuture<'_> {
        Box::pin(async move {
            let trigger = if self.started.swap(true, Ordering::SeqCst) {
                SyncTrigger::Background
            } else {
                SyncTrigger::Startup
            };
            match self.sync.sync(trigger).await {
                SyncOutcome::Skipped { .. } => Ok(PollReport::default()),
                SyncOutcome::Completed(report) => {
                    if !report.success {
                        return Err(PollError::Failed(report.errors.join("; ")));
                    }
                    let changes = [&report.subscribers, &report.vips, &report.moderators]
                        .iter()
                        .map(|t| t.granted + t.updated + t.revoked)
                        .sum();
                    Ok(PollReport {
                        changes,
                        requests: 0,
                        baseline: false,
                    })
                }
            }
        })
    }
}
