//! The Redis bridge: with `STAGEHAND_REDIS_URL` set, the host subscribes to
//! `STAGEHAND_REDIS_CHANNELS` ([`bridge`]) and turns each message into an
//! event ([`protocol`]: a Discord bot's `{"type", "guildId", "timestamp",
//! "data"}` becomes a typed `discord.*` event, any other JSON object a
//! `redis.<channel>` event); with `STAGEHAND_REDIS_PUBLISH` set, it
//! publishes every stored event there ([`publisher`]). Both sides reconnect
//! by themselves; [`status`] is what the API, `/healthz` and the dashboard
//! show of them.
//!
//! The message protocol is kept apart from the I/O so every message shape
//! is tested without a server; the end-to-end tests use a real Redis.

pub mod bridge;
pub mod protocol;
pub mod publisher;
pub mod status;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::RedisConfig;
use crate::health::Health;
use crate::live::{LiveFeed, LiveMessage};
use crate::pipeline::EventSender;
use crate::settle::Settled;
use crate::store::events::StoredEvent;
pub use status::{RedisStatus, RedisView};

/// The part `/healthz` names when the bridge has been disconnected too
/// long.
pub const HEALTH_PART: &str = "redis";
/// At most one `external` live notice per this long: a busy channel does
/// not make every dashboard re-fetch on every message.
pub const NOTICE_EVERY: Duration = Duration::from_secs(1);
/// How often health is re-evaluated.
const HEALTH_EVERY: Duration = Duration::from_secs(1);

/// What the host needs to start the bridge.
pub struct BridgeContext {
    pub events: EventSender,
    pub feed: LiveFeed,
    pub health: Health,
    /// The broadcaster the events belong to.
    pub channel_id: String,
}

/// The running bridge: its status and its tasks.
pub struct RedisBridge {
    status: RedisStatus,
    subscriber: Option<JoinHandle<()>>,
    subscriber_stop: CancellationToken,
    publisher: Option<JoinHandle<()>>,
    publisher_stop: CancellationToken,
    upkeep_stop: CancellationToken,
}

/// What the pipeline offers an observer: a stored event and when the
/// plugins have acted on it (the publisher does not wait for that).
pub type Observed = (Arc<StoredEvent>, Settled);

/// The pipeline observer the publisher reads from, made before the
/// pipeline starts (observers are fixed then); `None` without
/// `STAGEHAND_REDIS_PUBLISH`.
pub type PublishTap = Option<mpsc::Receiver<Observed>>;

/// A new observer channel for the publisher, when `config` publishes: the
/// sender goes to [`crate::pipeline::Pipeline::with_observer`], the
/// receiver to [`start`].
pub fn publish_tap(config: &RedisConfig) -> (Option<mpsc::Sender<Observed>>, PublishTap) {
    if config.url.is_none() || config.publish.is_none() {
        return (None, None);
    }
    let (tx, rx) = mpsc::channel(publisher::TAP);
    (Some(tx), Some(rx))
}

/// The connection name both sides give themselves: the process id tells
/// two hosts on one Redis apart in `CLIENT LIST`.
fn client_name() -> String {
    format!("stagehand-{}", std::process::id())
}

/// `url` with any password replaced by `***`, for showing.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "(not a URL)".into(),
    }
}

/// A client for `url` speaking RESP3 (pub/sub messages arrive as pushes on
/// an ordinary connection, which can also name itself) and introducing
/// itself as Stagehand (`CLIENT LIST` shows `lib-name=stagehand`).
fn client_for(url: &str) -> ::redis::RedisResult<::redis::Client> {
    use ::redis::IntoConnectionInfo;
    let info = url.into_connection_info()?;
    let settings = info
        .redis_settings()
        .clone()
        .set_protocol(::redis::ProtocolVersion::RESP3)
        .set_lib_name("stagehand", env!("CARGO_PKG_VERSION"));
    ::redis::Client::open(info.set_redis_settings(settings))
}

/// Starts the bridge as `config` says (nothing but an unconfigured status
/// without a URL).
pub fn start(config: &RedisConfig, context: BridgeContext, tap: PublishTap) -> RedisBridge {
    let mut bridge = RedisBridge {
        status: RedisStatus::default(),
        subscriber: None,
        subscriber_stop: CancellationToken::new(),
        publisher: None,
        publisher_stop: CancellationToken::new(),
        upkeep_stop: CancellationToken::new(),
    };
    let Some(url) = &config.url else {
        return bridge;
    };
    let name = client_name();
    let publish = config.publish.clone().filter(|_| tap.is_some());
    bridge.status = RedisStatus::configured(
        redact_url(url),
        config.channels.clone(),
        publish.clone(),
        name.clone(),
    );
    spawn_upkeep(
        bridge.status.clone(),
        context.feed.clone(),
        context.health.clone(),
        bridge.upkeep_stop.clone(),
    );
    let client = match client_for(url) {
        Ok(client) => client,
        Err(e) => {
            let error = format!("the Redis URL cannot be used: {e}");
            tracing::error!("{error}; the Redis bridge stays off");
            bridge.status.subscriber_down(&error);
            if publish.is_some() {
                bridge.status.publisher_down(&error);
            }
            return bridge;
        }
    };
    let subscriber = bridge::Subscriber {
        client: client.clone(),
        channels: config.channels.clone(),
        client_name: name.clone(),
        events: context.events,
        channel_id: context.channel_id,
        status: bridge.status.clone(),
    };
    bridge.subscriber = Some(tokio::spawn(subscriber.run(bridge.subscriber_stop.clone())));
    if let (Some(channel), Some(tap)) = (publish, tap) {
        let publisher = publisher::Publisher {
            client,
            channel,
            client_name: format!("{name}-publish"),
            status: bridge.status.clone(),
        };
        bridge.publisher = Some(tokio::spawn(
            publisher.run(tap, bridge.publisher_stop.clone()),
        ));
    }
    bridge
}

impl RedisBridge {
    /// What the API and the dashboard show.
    pub fn status(&self) -> RedisStatus {
        self.status.clone()
    }

    /// Stops subscribing (it holds an event sender: the pipeline drains
    /// only once it is gone). Call before draining the pipeline.
    pub async fn stop_subscriber(&mut self, grace: Duration) {
        self.subscriber_stop.cancel();
        if let Some(mut task) = self.subscriber.take()
            && tokio::time::timeout(grace, &mut task).await.is_err()
        {
            tracing::warn!("the Redis subscriber was still running after {grace:?}; stopping it");
            task.abort();
        }
    }

    /// After the pipeline drained: lets the publisher send what it still
    /// holds (for at most `grace`), then stops everything.
    pub async fn finish(mut self, grace: Duration) {
        if let Some(mut task) = self.publisher.take()
            && tokio::time::timeout(grace, &mut task).await.is_err()
        {
            tracing::warn!(
                "events still waiting to be published on Redis after {grace:?}; dropped"
            );
            self.publisher_stop.cancel();
            let _ = task.await;
        }
        self.upkeep_stop.cancel();
    }
}

/// Turns status changes into `external` live notices (at most one per
/// [`NOTICE_EVERY`], the last change always announced) and keeps the
/// bridge's entry in `/healthz` current.
fn spawn_upkeep(status: RedisStatus, feed: LiveFeed, health: Health, stop: CancellationToken) {
    let announcing = status.clone();
    let announce_stop = stop.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = announce_stop.cancelled() => return,
                _ = announcing.changed() => {}
            }
            feed.publish(LiveMessage::ExternalChanged);
            tokio::select! {
                _ = announce_stop.cancelled() => return,
                _ = tokio::time::sleep(NOTICE_EVERY) => {}
            }
        }
    });
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(HEALTH_EVERY);
        loop {
            tokio::select! {
                _ = stop.cancelled() => {
                    health.up(HEALTH_PART);
                    return;
                }
                _ = tick.tick() => {}
            }
            match status.health_problem(Instant::now()) {
                Some(reason) => health.down(HEALTH_PART, reason),
                None => health.up(HEALTH_PART),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact_url("redis://:s3cret@127.0.0.1:6379/0"),
            "redis://:***@127.0.0.1:6379/0"
        );
        assert_eq!(
            redact_url("rediss://bot:s3cret@cache.example:6380"),
            "rediss://bot:***@cache.example:6380"
        );
        assert_eq!(
            redact_url("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
        assert!(!redact_url("redis://:s3cret@[::1").contains("s3cret"));
    }
}
