//! The time one guest call may take, as the epoch callback enforces it.
//!
//! A call gets its deadline in wall-clock epoch ticks. One still running
//! after [`DEMOTE_AFTER_TICKS`] is moved to idle CPU priority (see
//! `plugins::priority`), so it takes CPU from nobody. At idle priority a
//! busy machine (OBS encoding on every core) may starve it, and a call that
//! did little work must not be faulted for the machine's load: once
//! demoted, the deadline counts the CPU time the call actually had, with at
//! most [`STARVED_GRACE`] of wall-clock time beyond the deadline. A call
//! that really spins is not starved (idle priority still gets any free
//! core), so it is stopped at its deadline as before.

use std::time::Duration;

use super::super::priority;

/// How often the epoch advances; deadlines are whole ticks. Fine enough to
/// catch a spinning call within 2 ms, at the cost of a thread waking a
/// thousand times a second.
pub const TICK: Duration = Duration::from_millis(1);
/// A call still running after this many ticks (1 to 2 ms; calls normally
/// take microseconds) finishes at idle priority.
pub const DEMOTE_AFTER_TICKS: u64 = 2;
/// The most a starved call may run beyond its deadline, in wall time.
pub const STARVED_GRACE: Duration = Duration::from_secs(2);

/// Whole epoch ticks covering `deadline`, plus the tick in progress.
pub fn ticks(deadline: Duration) -> u64 {
    (deadline.as_millis() as u64).div_ceil(TICK.as_millis() as u64) + 1
}

/// One call's budget; lives in the store's data, reset for every call.
#[derive(Debug, Default)]
pub struct CallBudget {
    /// Ticks still due once the demotion step has passed; 0 when the next
    /// epoch deadline is the call's last.
    after_demotion: u64,
    deadline: Duration,
    /// The thread's CPU time when the call was demoted.
    cpu_at_demotion: Option<Duration>,
    /// Ticks granted beyond the deadline so far.
    extended: u64,
}

impl CallBudget {
    /// Arms the budget for a call of `deadline` (`ticks` of it); returns
    /// the first epoch deadline to set.
    pub fn start(&mut self, deadline: Duration, ticks: u64) -> u64 {
        self.deadline = deadline;
        self.cpu_at_demotion = None;
        self.extended = 0;
        if ticks > DEMOTE_AFTER_TICKS && priority::charges_cpu_time() {
            self.after_demotion = ticks - DEMOTE_AFTER_TICKS;
            DEMOTE_AFTER_TICKS
        } else {
            self.after_demotion = 0;
            ticks
        }
    }

    /// At an epoch deadline: how many more ticks the call gets, or `None`
    /// to stop it.
    pub fn on_deadline(&mut self) -> Option<u64> {
        if self.after_demotion > 0 {
            // A no-op on a server's plugin thread: it is only charged.
            priority::demote_this_thread();
            self.cpu_at_demotion = thread_cpu_time();
            return Some(std::mem::take(&mut self.after_demotion));
        }
        let at_demotion = self.cpu_at_demotion?;
        let now = thread_cpu_time()?;
        // Before demotion the call ran at most the demotion step, busy.
        let used = TICK * DEMOTE_AFTER_TICKS as u32 + now.saturating_sub(at_demotion);
        let short = self.deadline.checked_sub(used)?;
        let left = ticks(STARVED_GRACE).saturating_sub(self.extended);
        let more = ticks(short).min(left);
        if more == 0 {
            return None;
        }
        self.extended += more;
        Some(more)
    }
}

/// CPU time the calling thread has used.
fn thread_cpu_time() -> Option<Duration> {
    #[cfg(target_os = "linux")]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: writes into the timespec we own.
        if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } == 0 {
            return Some(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_plugin_thread_is_charged_cpu_time_and_never_demoted() {
        std::thread::spawn(|| {
            priority::mark_charged_plugin_thread();
            let mut budget = CallBudget::default();
            let deadline = Duration::from_millis(50);
            assert_eq!(budget.start(deadline, ticks(deadline)), DEMOTE_AFTER_TICKS);
            assert_eq!(
                budget.on_deadline(),
                Some(ticks(deadline) - DEMOTE_AFTER_TICKS)
            );
            assert!(
                !priority::demoted(),
                "a server's plugin thread keeps its priority"
            );
            // At the deadline, having used next to no CPU: extended.
            let more = budget.on_deadline().expect("a starved call is extended");
            assert!(more > 40 && more <= ticks(deadline), "{more}");
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_call_off_a_plugin_thread_gets_its_deadline_and_no_more() {
        let mut budget = CallBudget::default();
        assert_eq!(
            budget.start(Duration::from_millis(50), ticks(Duration::from_millis(50))),
            51
        );
        assert_eq!(budget.on_deadline(), None);
    }

    #[test]
    fn a_starved_call_gets_the_cpu_time_it_missed_within_the_grace() {
        let run = || {
            priority::mark_plugin_thread();
            let mut budget = CallBudget::default();
            let deadline = Duration::from_millis(50);
            assert_eq!(budget.start(deadline, ticks(deadline)), DEMOTE_AFTER_TICKS);
            // Demoted: the rest of the deadline follows.
            assert_eq!(
                budget.on_deadline(),
                Some(ticks(deadline) - DEMOTE_AFTER_TICKS)
            );
            // At the deadline, having used next to no CPU: extended...
            let more = budget.on_deadline().expect("a starved call is extended");
            assert!(more > 40 && more <= ticks(deadline), "{more}");
            // ...but never past the grace.
            let mut total = more;
            while let Some(more) = budget.on_deadline() {
                total += more;
                assert!(total <= ticks(STARVED_GRACE), "{total}");
            }
            assert_eq!(total, ticks(STARVED_GRACE));
        };
        std::thread::spawn(run).join().unwrap();
    }

    #[test]
    fn a_demoted_call_that_used_its_cpu_is_stopped_at_its_deadline() {
        let run = || {
            priority::mark_plugin_thread();
            let mut budget = CallBudget::default();
            let deadline = Duration::from_millis(20);
            budget.start(deadline, ticks(deadline));
            budget.on_deadline().unwrap();
            // Spin for the whole deadline on this thread's CPU.
            let started = thread_cpu_time().unwrap();
            while thread_cpu_time().unwrap() - started < deadline {
                std::hint::spin_loop();
            }
            assert_eq!(budget.on_deadline(), None);
        };
        std::thread::spawn(run).join().unwrap();
    }
}
