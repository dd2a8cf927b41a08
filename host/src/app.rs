//! Builds the parts and wires them together: store, pipeline, live feed and
//! HTTP server. The binary and the tests start a host the same way.

use std::fs::File;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use tokio::sync::mpsc;

use crate::actions::Executor;
use crate::actions::alerts::OverlayQueue;
use crate::actions::webhook::WebhookSender;
use crate::config::Config;
use crate::external::redis::{BridgeContext, RedisBridge, RedisStatus};
use crate::health::Health;
use crate::live::LiveFeed;
use crate::pipeline::{EventSender, Pipeline, PipelineOptions};
use crate::plugins::PluginHost;
use crate::plugins::runtime::Runtime;
use crate::plugins::watcher::{self, PluginWatcher};
use crate::polling::PollContext;
use crate::polling::role_sync::{RoleSync, SyncTrigger};
use crate::polling::role_sync_job::RoleSyncJob;
use crate::polling::schedule::PollSchedule;
use crate::secrets;
use crate::store::{Store, StoreOptions};
use crate::tts::SpeechService;
use crate::twitch::auth::AuthState;
use crate::twitch::chat_out::HelixChat;
use crate::twitch::link::{TokenSource, TwitchLink};
use crate::web::overlay::{OverlayKey, OverlayPages, announce_queue_changes};
use crate::web::{self, AppState};

/// The database file inside the data directory.
pub const DB_FILE: &str = "stagehand.db";
const LOCK_FILE: &str = "stagehand.lock";
/// The overlay key, when the environment does not fix it (mode 0600).
const OVERLAY_KEY_FILE: &str = "overlay.key";
const PLUGIN_CACHE_DIR: &str = "plugin-cache";
/// The streamer's own media, served at `/media/` (mode 0700).
pub const MEDIA_DIR: &str = "media";
/// How long open requests may take to finish at shutdown.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// A host that is up and serving.
pub struct RunningHost {
    /// Where the HTTP server listens (the real port when 0 was asked for).
    pub addr: SocketAddr,
    pub api_token: String,
    /// Whether the token was generated for this run (and must be shown).
    pub api_token_generated: bool,
    /// The overlay key at start-up (the dashboard may regenerate it later).
    pub overlay_key: String,
    pub store: Store,
    pub events: EventSender,
    pub feed: LiveFeed,
    pub plugins: PluginHost,
    /// The Twitch connection.
    pub twitch: TwitchLink,
    /// The inbound webhooks (the demo feeds its donations through them).
    pub hooks: crate::hooks::Hooks,
    /// What `/healthz` reports, and what stops the host.
    pub health: Health,
    /// The Redis bridge's status (unconfigured without a URL).
    pub redis: RedisStatus,
    shutdown: CancellationToken,
    twitch_stop: CancellationToken,
    pollers: Vec<JoinHandle<()>>,
    redis_bridge: RedisBridge,
    executor: JoinHandle<()>,
    executor_stop: CancellationToken,
    /// Stops the watch on the writer before the writer is closed.
    watch_stop: CancellationToken,
    _watcher: Option<PluginWatcher>,
    server: JoinHandle<std::io::Result<()>>,
    pipeline: JoinHandle<()>,
    _lock: File,
}

impl RunningHost {
    /// Resolves when the host cannot go on (the database writer stopped):
    /// the reason. The binary then stops and exits non-zero, so a service
    /// manager starts it again.
    pub async fn fatal(&self) -> String {
        self.health.wait_fatal().await
    }

    /// Stops accepting requests, drains the pipeline, commits every pending
    /// write and closes the database.
    pub async fn stop(mut self) -> Result<()> {
        self.watch_stop.cancel();
        // Sources first, so nothing new arrives while the rest drains.
        self.twitch_stop.cancel();
        self.shutdown.cancel();
        // Pollers hold event senders: the pipeline drains only once they end.
        for mut poller in self.pollers {
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut poller)
                .await
                .is_err()
            {
                tracing::warn!("a poller was still running after {SHUTDOWN_GRACE:?}; stopping it");
                poller.abort();
            }
        }
        // The Redis subscriber holds an event sender too.
        self.redis_bridge.stop_subscriber(SHUTDOWN_GRACE).await;
        let mut server = self.server;
        let served = match tokio::time::timeout(SHUTDOWN_GRACE, &mut server).await {
            Ok(joined) => joined.context("HTTP server task")?,
            Err(_) => {
                tracing::warn!("requests still open after {SHUTDOWN_GRACE:?}; closing them");
                server.abort();
                Ok(())
            }
        };
        drop(self.events);
        // The hooks hold a sender too.
        drop(self.hooks);
        self.pipeline.await.context("pipeline task")?;
        // Every stored event has been offered to the publisher: it sends
        // what it still holds while Redis answers.
        self.redis_bridge.finish(SHUTDOWN_GRACE).await;
        // Plugins finish what was dispatched to them and save their data.
        self.plugins.shutdown().await;
        self.executor_stop.cancel();
        if tokio::time::timeout(SHUTDOWN_GRACE, self.executor)
            .await
            .is_err()
        {
            tracing::warn!("actions still running after {SHUTDOWN_GRACE:?}; stopping them");
        }
        self.store.close().await;
        served.context("HTTP server")
    }
}

/// Starts a host from `config`.
pub async fn start(config: &Config) -> Result<RunningHost> {
    create_private_dir(&config.data_dir)?;
    let lock = lock_data_dir(&config.data_dir)?;

    let store = Store::open(config.data_dir.join(DB_FILE), StoreOptions::default())?;
    let health = Health::default();
    let watch_stop = CancellationToken::new();
    watch_writer(&store, &health, watch_stop.clone());
    let overlay_key = match &config.overlay_key {
        Some(k) => OverlayKey::fixed(k),
        None => {
            let file = config.data_dir.join(OVERLAY_KEY_FILE);
            let key = secrets::load_or_create(&file)
                .with_context(|| format!("overlay key in {}", config.data_dir.display()))?;
            OverlayKey::stored(&key, file)
        }
    };
    let (api_token, api_token_generated) = match &config.api_token {
        Some(t) => (t.clone(), false),
        None => (secrets::generate(), true),
    };

    let feed = LiveFeed::new(1024);
    let media_dir = config.data_dir.join(MEDIA_DIR);
    create_private_dir(&media_dir)?;

    // Bound first, so the address is ours before anything slow happens;
    // requests wait in the backlog until the router serves them below.
    let listener = TcpListener::bind(config.addr).await.with_context(|| {
        format!(
            "cannot listen on {} (set STAGEHAND_ADDR to another address)",
            config.addr
        )
    })?;
    let addr = listener.local_addr()?;
    if !addr.ip().is_loopback() {
        tracing::warn!(%addr, "listening beyond this machine: anyone who can reach it and has the token can use the API");
    }

    // Plugins are loaded once the server runs (see below): nothing a plugin
    // does at load time can delay serving.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = Runtime::new(Some(config.data_dir.join(PLUGIN_CACHE_DIR)))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let (actions_tx, actions_rx) = mpsc::channel(1024);
    let plugins = PluginHost::new(
        runtime,
        store.clone(),
        config.plugins_dir.clone(),
        feed.clone(),
        actions_tx,
        config.grants.clone(),
    );
    let twitch = TwitchLink::new(twitch_http_client()?, &config.twitch, token_source(config));
    let overlays = OverlayQueue::load(store.clone())
        .await
        .context("reading which overlays are paused")?;
    let speech = SpeechService::load(store.clone(), overlays.clone(), feed.clone())
        .await
        .context("loading the TTS settings")?;
    let executor = Executor {
        store: store.clone(),
        plugins: plugins.clone(),
        overlays: overlays.clone(),
        webhooks: WebhookSender::new().map_err(|e| anyhow::anyhow!(e))?,
        chat: Some(Arc::new(HelixChat::new(twitch.clone()))),
        feed: feed.clone(),
        speech: speech.clone(),
    };
    let executor_stop = CancellationToken::new();
    announce_queue_changes(&overlays, feed.clone(), executor_stop.clone());
    crate::actions::tts_expiry::spawn(store.clone(), feed.clone(), executor_stop.clone());
    crate::actions::alerts::spawn_pruning(store.clone(), executor_stop.clone());
    crate::tts::upkeep::spawn(
        store.clone(),
        speech.clone(),
        feed.clone(),
        executor_stop.clone(),
    );
    let executor = tokio::spawn(executor.run(actions_rx, executor_stop.clone()));

    let (pipeline, events) = Pipeline::new(store.clone(), feed.clone(), PipelineOptions::default());
    let (publish_tx, publish_tap) = crate::external::redis::publish_tap(&config.redis);
    let pipeline = {
        let mut pipeline = pipeline
            .with_plugins(plugins.clone())
            .with_health(health.clone())
            .with_tap(SpeechService::wants, speech.spawn());
        if let Some(tx) = publish_tx {
            pipeline = pipeline.with_observer(|_| true, tx);
        }
        let health = health.clone();
        // Every event goes through the pipeline: if it crashes (a bug), the
        // host stops with the reason rather than serve without storing.
        tokio::spawn(async move {
            let run = std::panic::AssertUnwindSafe(pipeline.run());
            if let Err(panic) = futures_util::FutureExt::catch_unwind(run).await {
                health.fatal(format!(
                    "the event pipeline crashed: {}",
                    crate::health::panic_message(&*panic)
                ));
            }
        })
    };

    let twitch_stop = CancellationToken::new();
    let identity = twitch
        .start(
            &config.twitch.eventsub_url,
            events.clone(),
            twitch_stop.clone(),
        )
        .await;
    // Test events belong to the logged-in channel once it is known.
    let channel_id = identity.map_or_else(|| config.channel_id.clone(), |i| i.user_id);
    publish_eventsub_changes(&twitch, feed.clone());
    apply_poll_overrides(&store, config).await?;
    let role_sync = twitch.identity().map(|identity| {
        RoleSync::new(
            store.clone(),
            twitch.helix().clone(),
            identity.user_id.clone(),
        )
    });
    let (polling, pollers) = start_polling(
        &store,
        &events,
        &twitch,
        role_sync.clone(),
        twitch_stop.clone(),
    );
    if let Some(sync) = &role_sync {
        spawn_role_sync_triggers(sync.clone(), &twitch, &feed, twitch_stop.clone());
    }
    let redis_bridge = crate::external::redis::start(
        &config.redis,
        BridgeContext {
            events: events.clone(),
            feed: feed.clone(),
            health: health.clone(),
            channel_id: channel_id.clone(),
        },
        publish_tap,
    );
    let redis = redis_bridge.status();

    let hooks = crate::hooks::Hooks::new(config.hooks.clone(), events.clone(), channel_id.as_str());
    let shutdown = CancellationToken::new();
    let state = AppState {
        store: store.clone(),
        events: events.clone(),
        feed: feed.clone(),
        api_token: Arc::from(api_token.as_str()),
        channel_id: Arc::from(channel_id.as_str()),
        shutdown: shutdown.clone(),
        plugins: plugins.clone(),
        overlays: overlays.clone(),
        speech,
        overlay_key: overlay_key.clone(),
        overlay_pages: OverlayPages::new(feed.clone()),
        twitch: twitch.clone(),
        polling,
        role_sync,
        media: crate::media_library::MediaLibrary::open(
            &media_dir,
            store.clone(),
            crate::media_library::Limits::default(),
        ),
        media_dir: Arc::from(media_dir.as_path()),
        health: health.clone(),
        auth_failures: Arc::default(),
        hooks: hooks.clone(),
        hook_failures: Arc::default(),
        redis: redis.clone(),
    };
    let app = web::router(state);
    let server = tokio::spawn(web::server::serve(
        listener,
        app,
        config.max_connections,
        shutdown.clone(),
    ));

    tracing::info!(%addr, data_dir = %config.data_dir.display(), "Stagehand is serving");

    // Now the plugins: loaded in the background, and watched for changes
    // from the start (so the folder must exist before the first scan).
    if let Err(e) = std::fs::create_dir_all(&config.plugins_dir) {
        tracing::error!(dir = %config.plugins_dir.display(), error = %e, "cannot create the plugins folder");
    }
    let loading = plugins.clone();
    tokio::spawn(async move {
        loading.rescan().await;
        tracing::info!(plugins = loading.list().len(), "plugins loaded");
    });
    let watcher = match watcher::watch(plugins.clone()) {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::error!("{e}; plugins will not reload on change");
            None
        }
    };
    reload_overlays_on_media_changes(&plugins, &overlays, &feed, executor_stop.clone());
    Ok(RunningHost {
        addr,
        api_token,
        api_token_generated,
        overlay_key: overlay_key.current().to_string(),
        store,
        events,
        feed,
        plugins,
        twitch,
        hooks,
        health,
        redis,
        shutdown,
        twitch_stop,
        pollers,
        redis_bridge,
        executor,
        executor_stop,
        watch_stop,
        _watcher: watcher,
        server,
        pipeline,
        _lock: lock,
    })
}

/// The HTTP client for Twitch: bounded connect and request times so a hung
/// Twitch cannot hang the host.
pub fn twitch_http_client() -> Result<reqwest::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .user_agent(concat!("stagehand/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .context("cannot build the HTTP client for Twitch")
}

/// `TWITCH_ACCESS_TOKEN` when set, else the token file `stagehand login`
/// wrote.
fn token_source(config: &Config) -> TokenSource {
    match &config.twitch.access_token {
        Some(token) => TokenSource::Fixed(token.clone()),
        None => TokenSource::File(crate::twitch::auth::token_path(&config.data_dir)),
    }
}

/// `STAGEHAND_POLL_<NAME>_SECS` / `[poll_secs]` set the pollers' fast
/// intervals: written to `polling_config` at start-up, where the API shows
/// and may change them.
async fn apply_poll_overrides(store: &Store, config: &Config) -> Result<()> {
    for (name, secs) in &config.poll_secs {
        let (name, secs) = (name.clone(), *secs);
        store
            .write(move |c| {
                crate::store::polling_config::set(c, &name, Some(secs), None, chrono::Utc::now())
            })
            .await
            .context("cannot store the poll interval overrides")?;
    }
    Ok(())
}

/// Starts the pollers once logged in (their schedule is served either way).
fn start_polling(
    store: &Store,
    events: &EventSender,
    twitch: &TwitchLink,
    role_sync: Option<RoleSync>,
    stop: CancellationToken,
) -> (PollSchedule, Vec<JoinHandle<()>>) {
    let mut pollers = match twitch.identity() {
        Some(identity) => {
            let ctx = PollContext {
                store: store.clone(),
                events: events.clone(),
                helix: twitch.helix().clone(),
                channel_id: identity.user_id.clone(),
            };
            crate::polling::pollers::all(ctx)
        }
        None => Vec::new(),
    };
    if let Some(sync) = role_sync {
        pollers.push(Arc::new(RoleSyncJob::new(sync)));
    }
    PollSchedule::start(store.clone(), pollers, twitch.watch(), stop)
}

/// The role sync's event triggers: `stream-start` when the stream goes
/// online, `oauth-connect` when the login becomes usable again after it was
/// lost (a new `stagehand login`).
fn spawn_role_sync_triggers(
    sync: RoleSync,
    twitch: &TwitchLink,
    feed: &LiveFeed,
    stop: CancellationToken,
) {
    let mut live = feed.subscribe();
    let on_stream = sync.clone();
    let stream_stop = stop.clone();
    tokio::spawn(async move {
        loop {
            let received = tokio::select! {
                _ = stream_stop.cancelled() => return,
                received = live.recv() => received,
            };
            match received {
                crate::live::Received::Message(crate::live::LiveMessage::Event(stored))
                    if stored.event.kind == crate::event::EventKind::StreamOnline =>
                {
                    on_stream.sync(SyncTrigger::StreamStart).await;
                }
                crate::live::Received::Closed => return,
                _ => {}
            }
        }
    });
    let mut auth = twitch.auth().watch();
    tokio::spawn(async move {
        let mut was_valid = matches!(*auth.borrow(), AuthState::Valid { .. });
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                changed = auth.changed() => if changed.is_err() { return },
            }
            let valid = matches!(*auth.borrow(), AuthState::Valid { .. });
            if valid && !was_valid {
                sync.sync(SyncTrigger::OauthConnect).await;
            }
            was_valid = valid;
        }
    });
}

/// The database writer cannot be restarted in process (it owns the only
/// writing connection): if its thread ends while the host runs, the host
/// stops with that reason.
fn watch_writer(store: &Store, health: &Health, stop: CancellationToken) {
    let (store, health) = (store.clone(), health.clone());
    tokio::spawn(async move {
        tokio::select! {
            _ = stop.cancelled() => {}
            _ = store.writer().stopped() => {
                health.fatal("the database writer stopped; nothing can be stored");
            }
        }
    });
}

/// Overlay pages carry a Content-Security-Policy listing the granted media
/// hosts; when that list changes they are told to load again.
fn reload_overlays_on_media_changes(
    plugins: &PluginHost,
    overlays: &OverlayQueue,
    feed: &LiveFeed,
    stop: CancellationToken,
) {
    let (plugins, overlays) = (plugins.clone(), overlays.clone());
    let mut live = feed.subscribe();
    tokio::spawn(async move {
        let mut hosts = plugins.media_hosts();
        loop {
            let received = tokio::select! {
                _ = stop.cancelled() => return,
                received = live.recv() => received,
            };
            match received {
                crate::live::Received::Message(crate::live::LiveMessage::PluginsChanged)
                | crate::live::Received::Skipped(_) => {
                    let now = plugins.media_hosts();
                    if now != hosts {
                        tracing::info!(hosts = ?now, "granted media hosts changed; overlay pages reload");
                        hosts = now;
                        overlays.control(crate::actions::alerts::OverlayControl::Reload);
                    }
                }
                crate::live::Received::Closed => return,
                _ => {}
            }
        }
    });
}

/// Tells the dashboard (through the live feed) whenever the EventSub
/// connection changes state.
fn publish_eventsub_changes(twitch: &TwitchLink, feed: LiveFeed) {
    let Some(mut changes) = twitch.watch() else {
        return;
    };
    tokio::spawn(async move {
        while changes.changed().await.is_ok() {
            feed.publish(crate::live::LiveMessage::EventSubChanged);
        }
    });
}

fn create_private_dir(dir: &std::path::Path) -> Result<()> {
    secrets::private_dir(dir)
        .with_context(|| format!("cannot create data directory {}", dir.display()))
}

/// One host per data directory: a second one would fight over the database
/// and the overlay queue (and a copy of its data must not run beside it).
/// Held until the file is dropped.
pub fn lock_data_dir(dir: &std::path::Path) -> Result<File> {
    let path = dir.join(LOCK_FILE);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "another Stagehand is already running with data directory {}",
            dir.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_writer_that_stops_while_serving_stops_the_host_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("w.db"), StoreOptions::default()).unwrap();
        let health = Health::default();
        let stop = CancellationToken::new();
        watch_writer(&store, &health, stop.clone());
        // The writer thread ends without the host stopping first.
        store.close().await;
        let reason = tokio::time::timeout(std::time::Duration::from_secs(10), health.wait_fatal())
            .await
            .expect("the host is told to stop");
        assert!(reason.contains("database writer stopped"), "{reason}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_clean_shutdown_is_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("w.db"), StoreOptions::default()).unwrap();
        let health = Health::default();
        let stop = CancellationToken::new();
        watch_writer(&store, &health, stop.clone());
        stop.cancel();
        tokio::task::yield_now().await;
        store.close().await;
        let fatal =
            tokio::time::timeout(std::time::Duration::from_millis(300), health.wait_fatal()).await;
        assert!(fatal.is_err(), "no fatal reason: {fatal:?}");
    }
}
