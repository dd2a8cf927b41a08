//! Background jobs that run on a fixed period until the host stops (the TTS
//! rule expiry, the TTS upkeep): one loop, so each job is only its pass.

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Runs `pass` at once and then every `period` (a slow pass delays the next
/// rather than piling up), until `stop` is cancelled.
pub fn spawn<F, Fut>(period: Duration, stop: CancellationToken, mut pass: F) -> JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            // A panic in one pass (a bug) is logged; the job goes on.
            let run = std::panic::AssertUnwindSafe(pass());
            if let Err(panic) = futures_util::FutureExt::catch_unwind(run).await {
                tracing::error!(
                    "a periodic job crashed: {}; it runs again next period",
                    crate::health::panic_message(&*panic)
                );
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn it_runs_repeatedly_until_stopped() {
        let runs = Arc::new(AtomicUsize::new(0));
        let stop = CancellationToken::new();
        let counted = runs.clone();
        let job = spawn(Duration::from_millis(20), stop.clone(), move || {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
            }
        });
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while runs.load(Ordering::SeqCst) < 3 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "it never ran 3 times"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        stop.cancel();
        job.await.unwrap();
        let after_stop = runs.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            runs.load(Ordering::SeqCst),
            after_stop,
            "none after the stop"
        );
    }
}
