//! The per-trigger throttle: a trigger may start a sync at most once per
//! window, and never while its previous sync still runs. Different
//! triggers do not limit each other. Pure apart from the mutex: callers
//! pass the monotonic time, so the rules are tested without waiting.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::SyncTrigger;

/// Why a sync was not started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// The same trigger started a sync less than the window ago.
    TooSoon,
    /// The same trigger's previous sync has not finished.
    AlreadyRunning,
}

impl SkipReason {
    /// The name used in JSON and logs (`too_soon`, `already_running`).
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::TooSoon => "too_soon",
            SkipReason::AlreadyRunning => "already_running",
        }
    }
}

/// A refused start: why, and how long until the trigger may run again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    /// Too soon, or still running.
    pub reason: SkipReason,
    /// Time left in the window (zero when only the running sync is in the
    /// way).
    pub wait: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    started: Instant,
    running: bool,
}

/// When each trigger last started and whether it still runs.
#[derive(Debug)]
pub struct Gate {
    window: Duration,
    slots: Mutex<HashMap<SyncTrigger, Slot>>,
}

/// Held while a sync runs; dropping it (also when the sync's future is
/// cancelled) lets the trigger start again once its window has passed.
#[derive(Debug)]
pub struct Ticket<'a> {
    gate: &'a Gate,
    trigger: SyncTrigger,
}

impl Gate {
    /// A gate allowing each trigger one start per `window`.
    pub fn new(window: Duration) -> Self {
        Gate {
            window,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The window each trigger waits between starts.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Starts `trigger` at `now` if its window has passed and it is not
    /// running; the check and the claim happen under one lock, so two
    /// concurrent callers cannot both start.
    pub fn admit(&self, trigger: SyncTrigger, now: Instant) -> Result<Ticket<'_>, Refused> {
        let mut slots = self.slots();
        if let Some(slot) = slots.get(&trigger) {
            let wait = (slot.started + self.window).saturating_duration_since(now);
            if slot.running {
                return Err(Refused {
                    reason: SkipReason::AlreadyRunning,
                    wait,
                });
            }
            if !wait.is_zero() {
                return Err(Refused {
                    reason: SkipReason::TooSoon,
                    wait,
                });
            }
        }
        slots.insert(
            trigger,
            Slot {
                started: now,
                running: true,
            },
        );
        Ok(Ticket {
            gate: self,
            trigger,
        })
    }

    /// Whether `trigger`'s sync is in flight (tests wait for it).
    #[cfg(test)]
    pub fn is_running(&self, trigger: SyncTrigger) -> bool {
        self.slots().get(&trigger).is_some_and(|slot| slot.running)
    }

    fn slots(&self) -> MutexGuard<'_, HashMap<SyncTrigger, Slot>> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if let Some(slot) = self.gate.slots().get_mut(&self.trigger) {
            slot.running = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn reasons_are_named_as_in_json() {
        for reason in [SkipReason::TooSoon, SkipReason::AlreadyRunning] {
            assert_eq!(
                serde_json::to_value(reason).unwrap(),
                serde_json::json!(reason.as_str())
            );
        }
    }

    #[test]
    fn a_trigger_starts_once_per_window() {
        let gate = Gate::new(5 * MIN);
        let t0 = Instant::now();
        drop(gate.admit(SyncTrigger::Manual, t0).unwrap());
        let refused = gate.admit(SyncTrigger::Manual, t0 + 2 * MIN).unwrap_err();
        assert_eq!(
            refused,
            Refused {
                reason: SkipReason::TooSoon,
                wait: 3 * MIN
            }
        );
        // Refusals do not move the window.
        drop(gate.admit(SyncTrigger::Manual, t0 + 5 * MIN).unwrap());
        assert!(gate.admit(SyncTrigger::Manual, t0 + 9 * MIN).is_err());
    }

    #[test]
    fn triggers_are_independent() {
        let gate = Gate::new(5 * MIN);
        let t0 = Instant::now();
        let _manual = gate.admit(SyncTrigger::Manual, t0).unwrap();
        for other in SyncTrigger::ALL
            .into_iter()
            .filter(|t| *t != SyncTrigger::Manual)
        {
            drop(gate.admit(other, t0).unwrap());
        }
    }

    #[test]
    fn a_running_sync_blocks_its_trigger_even_with_no_window() {
        let gate = Gate::new(Duration::ZERO);
        let t0 = Instant::now();
        let ticket = gate.admit(SyncTrigger::StreamStart, t0).unwrap();
        assert_eq!(
            gate.admit(SyncTrigger::StreamStart, t0).unwrap_err(),
            Refused {
                reason: SkipReason::AlreadyRunning,
                wait: Duration::ZERO
            }
        );
        drop(ticket);
        drop(gate.admit(SyncTrigger::StreamStart, t0).unwrap());
    }

    #[test]
    fn a_running_sync_past_its_window_is_still_running() {
        let gate = Gate::new(MIN);
        let t0 = Instant::now();
        let _ticket = gate.admit(SyncTrigger::Background, t0).unwrap();
        let refused = gate
            .admit(SyncTrigger::Background, t0 + 2 * MIN)
            .unwrap_err();
        assert_eq!(refused.reason, SkipReason::AlreadyRunning);
        assert_eq!(refused.wait, Duration::ZERO);
    }
}
