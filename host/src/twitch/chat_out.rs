//! Chat messages from plugins to Twitch (Helix `POST /chat/messages`),
//! kept within Twitch's chat limits so a chatty plugin cannot get the
//! streamer's account rate-limited or flagged.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::actions::ChatOut;
use crate::twitch::link::TwitchLink;

/// Twitch's chat window: messages are counted per 30 seconds.
pub const CHAT_WINDOW: Duration = Duration::from_secs(30);
/// A broadcaster (or moderator) may send 100 messages per window; others 20.
pub const BROADCASTER_LIMIT: usize = 100;
/// How long a message may wait for room in the window before it is refused
/// (the executor carries out actions in order; a long wait would delay
/// alerts behind it).
const MAX_WAIT: Duration = Duration::from_secs(2);

/// A sliding-window counter: pure, the caller passes the time.
#[derive(Debug)]
pub struct SlidingWindow {
    limit: usize,
    window: Duration,
    sent: VecDeque<Instant>,
}

impl SlidingWindow {
    /// At most `limit` sends per `window`.
    pub fn new(limit: usize, window: Duration) -> Self {
        SlidingWindow {
            limit: limit.max(1),
            window,
            sent: VecDeque::new(),
        }
    }

    /// How long to wait before the next send is allowed at `now` (zero when
    /// allowed now).
    pub fn wait(&mut self, now: Instant) -> Duration {
        while let Some(first) = self.sent.front() {
            if now.saturating_duration_since(*first) >= self.window {
                self.sent.pop_front();
            } else {
                break;
            }
        }
        if self.sent.len() < self.limit {
            return Duration::ZERO;
        }
        let oldest = self.sent[self.sent.len() - self.limit];
        (oldest + self.window).saturating_duration_since(now)
    }

    /// Records a send at `now`.
    pub fn record(&mut self, now: Instant) {
        self.sent.push_back(now);
    }
}

/// [`ChatOut`] through Helix as the logged-in broadcaster.
pub struct HelixChat {
    link: TwitchLink,
    window: Mutex<SlidingWindow>,
}

impl HelixChat {
    pub fn new(link: TwitchLink) -> Self {
        HelixChat {
            link,
            window: Mutex::new(SlidingWindow::new(BROADCASTER_LIMIT, CHAT_WINDOW)),
        }
    }

    /// Waits for room in the window (or refuses), then reserves the slot.
    async fn reserve(&self) -> Result<(), String> {
        let wait = self
            .window
            .lock()
            .map_err(|_| "chat limiter poisoned".to_owned())?
            .wait(Instant::now());
        if wait > MAX_WAIT {
            return Err(format!(
                "Twitch's chat limit ({BROADCASTER_LIMIT} messages per {} s) is reached; message dropped",
                CHAT_WINDOW.as_secs()
            ));
        }
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        self.window
            .lock()
            .map_err(|_| "chat limiter poisoned".to_owned())?
            .record(Instant::now());
        Ok(())
    }

    async fn send_now(&self, text: String) -> Result<(), String> {
        let identity = self
            .link
            .identity()
            .ok_or("not logged in to Twitch; run `stagehand login` to send chat messages")?;
        self.reserve().await?;
        let sent = self
            .link
            .helix()
            .send_chat_message(&identity.user_id, &identity.user_id, &text)
            .await
            .map_err(|e| format!("Twitch refused the chat message: {e}"))?;
        if sent.is_sent {
            Ok(())
        } else {
            Err(format!(
                "Twitch dropped the chat message: {}",
                sent.drop_reason
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "no reason given".into())
            ))
        }
    }
}

impl ChatOut for HelixChat {
    fn send(&self, text: String) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>> {
        Box::pin(self.send_now(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_allows_the_limit_then_waits_for_the_oldest_to_age_out() {
        let mut window = SlidingWindow::new(2, Duration::from_secs(30));
        let t0 = Instant::now();
        assert_eq!(window.wait(t0), Duration::ZERO);
        window.record(t0);
        window.record(t0 + Duration::from_secs(10));
        assert_eq!(
            window.wait(t0 + Duration::from_secs(20)),
            Duration::from_secs(10)
        );
        assert_eq!(window.wait(t0 + Duration::from_secs(30)), Duration::ZERO);
    }
}
