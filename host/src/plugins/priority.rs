//! CPU priority of plugin calls. A plugin call normally takes
//! microseconds; one still running after 1 to 2 ms (two epoch ticks) may
//! be spinning, and on a two-core streaming machine it would take a core
//! from the event path, the other plugins and OBS as an equal (a waking
//! thread waits up to a scheduler slice behind it). Such a call finishes in
//! Linux's idle scheduling class: anything else that wants the CPU runs
//! first. Leaving that class needs a privilege the host does not have, so
//! after the call the plugin goes on on a fresh thread at normal priority,
//! started by a thread that was never demoted (threads inherit their
//! creator's class), which costs one thread start per long call.

use std::cell::Cell;
use std::sync::OnceLock;
use std::sync::mpsc;

thread_local! {
    static PLUGIN_THREAD: Cell<bool> = const { Cell::new(false) };
    static DEMOTED: Cell<bool> = const { Cell::new(false) };
    static CHARGED: Cell<bool> = const { Cell::new(false) };
}

/// Marks the calling thread as a server's plugin thread (cluster workers):
/// a long call is never demoted (a server's cores are for its work), but it
/// is charged only the CPU time it had, so a loaded machine does not fault
/// a plugin that did little work.
pub fn mark_charged_plugin_thread() {
    CHARGED.with(|c| c.set(true));
}

/// Whether a long call on this thread is charged CPU time rather than wall
/// time: demotable plugin threads and server plugin threads.
pub fn charges_cpu_time() -> bool {
    may_demote() || CHARGED.with(Cell::get)
}

/// Marks the calling thread as a plugin worker's own: only those are ever
/// demoted (set-up calls on shared blocking threads are not).
pub fn mark_plugin_thread() {
    PLUGIN_THREAD.with(|p| p.set(true));
}

/// Whether a long call on this thread should demote it.
pub fn may_demote() -> bool {
    PLUGIN_THREAD.with(Cell::get) && !demoted()
}

/// Whether this thread was moved to the idle class.
pub fn demoted() -> bool {
    DEMOTED.with(Cell::get)
}

/// Moves the calling plugin thread to the idle scheduling class (once).
/// Called from the epoch callback, on the thread running the guest.
pub fn demote_this_thread() {
    if !may_demote() {
        return;
    }
    DEMOTED.with(|d| d.set(true));
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: a syscall on the calling thread (pid 0) with a valid,
        // initialised parameter.
        let failed = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) } != 0;
        if failed {
            tracing::debug!(error = %std::io::Error::last_os_error(), "plugin thread priority unchanged");
        }
    }
}

type Start = Box<dyn FnOnce() + Send>;

/// Goes on with `run` on a fresh thread named `name` at normal priority
/// if this thread was demoted; otherwise (or if no thread can be started)
/// runs it right here.
pub fn continue_at_normal_priority(name: String, run: impl FnOnce() + Send + 'static) {
    if !demoted() {
        return run();
    }
    if let Err(mpsc::SendError((_, run))) = starter().send((name, Box::new(run))) {
        tracing::warn!("no thread to move a plugin to; it stays at idle priority");
        run();
    }
}

/// A thread that only starts threads. It is created by the first caller of
/// [`spawn`], before any plugin thread can have been demoted.
fn starter() -> &'static mpsc::Sender<(String, Start)> {
    static STARTER: OnceLock<mpsc::Sender<(String, Start)>> = OnceLock::new();
    STARTER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<(String, Start)>();
        let started = std::thread::Builder::new()
            .name("plugin-thread-starter".into())
            .spawn(move || {
                for (name, run) in rx {
                    // The closure comes back only if the spawn failed: the
                    // plugin must not vanish, so it runs here instead.
                    let run = std::sync::Arc::new(std::sync::Mutex::new(Some(run)));
                    let handed = run.clone();
                    let spawned = std::thread::Builder::new().name(name).spawn(move || {
                        mark_plugin_thread();
                        if let Some(run) = handed.lock().ok().and_then(|mut r| r.take()) {
                            run();
                        }
                    });
                    if let Err(e) = spawned {
                        tracing::error!(error = %e, "could not start a plugin thread; running it on the starter");
                        if let Some(run) = run.lock().ok().and_then(|mut r| r.take()) {
                            run();
                        }
                    }
                }
            });
        if let Err(e) = started {
            tracing::error!(error = %e, "could not start the plugin thread starter");
        }
        tx
    })
}

/// Makes sure the starter exists; called where plugins are first started,
/// on a thread that is never demoted.
pub fn prepare() {
    if !demoted() {
        starter();
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn policy() -> i32 {
        // SAFETY: reads the calling thread's policy.
        unsafe { libc::sched_getscheduler(0) }
    }

    #[test]
    fn only_plugin_threads_are_demoted_and_they_continue_at_normal_priority() {
        prepare();
        std::thread::spawn(|| {
            demote_this_thread();
            assert!(!demoted(), "not a plugin thread");
            assert_eq!(policy(), libc::SCHED_OTHER);
        })
        .join()
        .unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            mark_plugin_thread();
            demote_this_thread();
            let demoted_policy = policy();
            let tx2 = tx.clone();
            continue_at_normal_priority("successor".into(), move || {
                tx2.send(("successor", policy(), demoted())).unwrap();
            });
            tx.send(("demoted", demoted_policy, demoted())).unwrap();
        })
        .join()
        .unwrap();
        let mut seen: Vec<_> = rx.iter().take(2).collect();
        seen.sort();
        assert_eq!(
            seen,
            [
                ("demoted", libc::SCHED_IDLE, true),
                ("successor", libc::SCHED_OTHER, false)
            ]
        );
    }
}
