//! Watches the plugins folder and rescans once changes settle, so a burst of
//! writes (a copy, a build) becomes one reload. Reads (the host's own, when
//! it loads a plugin) are not changes.
//!
//! How long "settled" is depends on what is happening: a plugin saved or
//! copied over is a write or two, and goes live [`QUIET`] after the last of
//! them; a burst (a folder copied in, a build writing many times) shows
//! itself by [`BURST_EVENTS`] changes or more, and then waits for
//! [`BURST_QUIET`] of silence, long enough to cover a writer paused by a
//! loaded machine.

use std::time::Duration;

use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::PluginHost;

/// Quiet time after the last change before a rescan, for a change of a
/// write or two (a plugin saved or replaced).
pub const QUIET: Duration = Duration::from_millis(30);

/// Changes in one settling that make it a burst.
pub const BURST_EVENTS: usize = 5;

/// Quiet time after the last change of a burst: long enough to cover a copy
/// or a build writing several files (a loaded machine can pause a writer
/// for tens of milliseconds).
pub const BURST_QUIET: Duration = Duration::from_millis(150);

/// Longest a rescan waits while changes keep coming, so a folder that never
/// settles (a tool rewriting a file in a loop) is still picked up.
pub const MAX_DELAY: Duration = Duration::from_secs(2);

/// Keeps the watch alive; dropping it stops watching.
pub struct PluginWatcher {
    _watcher: RecommendedWatcher,
}

/// Whether a file-system event can change what a scan finds.
fn is_change(event: &Event) -> bool {
    !matches!(event.kind, EventKind::Access(_) | EventKind::Other)
}

/// Starts watching `host.dir()`; each settled burst of changes triggers one
/// [`PluginHost::rescan`].
pub fn watch(host: PluginHost) -> Result<PluginWatcher, String> {
    let (tx, mut rx) = mpsc::unbounded_channel::<()>();
    let mut watcher =
        notify::recommended_watcher(move |result: notify::Result<Event>| match result {
            Ok(event) if is_change(&event) => {
                let _ = tx.send(());
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "plugin folder watch error"),
        })
        .map_err(|e| format!("cannot watch plugins: {e}"))?;
    watcher
        .watch(host.dir(), RecursiveMode::Recursive)
        .map_err(|e| format!("cannot watch {}: {e}", host.dir().display()))?;
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            // Trailing debounce: wait until no change for the quiet time of
            // this kind of change (or MAX_DELAY in all).
            let first = Instant::now();
            let (mut quiet_from, mut changes) = (first, 1);
            loop {
                let until = (quiet_from + quiet_after(changes)).min(first + MAX_DELAY);
                match tokio::time::timeout_at(until, rx.recv()).await {
                    Ok(Some(())) => {
                        quiet_from = Instant::now();
                        changes += 1;
                    }
                    Ok(None) => return,
                    Err(_) => break,
                }
            }
            tracing::debug!("plugin folder changed; rescanning");
            host.rescan().await;
        }
    });
    Ok(PluginWatcher { _watcher: watcher })
}

/// The quiet time after `changes` changes in one settling.
fn quiet_after(changes: usize) -> Duration {
    if changes >= BURST_EVENTS {
        BURST_QUIET
    } else {
        QUIET
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{AccessKind, CreateKind, ModifyKind};

    #[test]
    fn a_burst_waits_longer_than_a_single_save() {
        assert_eq!(quiet_after(1), QUIET);
        assert_eq!(quiet_after(BURST_EVENTS - 1), QUIET);
        assert_eq!(quiet_after(BURST_EVENTS), BURST_QUIET);
        assert!(
            QUIET < Duration::from_millis(50),
            "a save goes live within 50 ms"
        );
    }

    #[test]
    fn reads_are_not_changes() {
        assert!(!is_change(&Event::new(EventKind::Access(AccessKind::Any))));
        assert!(is_change(&Event::new(EventKind::Create(CreateKind::File))));
        assert!(is_change(&Event::new(EventKind::Modify(ModifyKind::Any))));
        assert!(is_change(&Event::new(EventKind::Remove(
            notify::event::RemoveKind::Any
        ))));
    }
}
