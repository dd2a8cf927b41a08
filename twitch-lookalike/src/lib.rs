//! A Twitch look-alike (EventSub WebSocket + Helix subset + OAuth) for the
//! demo and tests: one axum server on `127.0.0.1:0` that answers with the
//! message shapes Twitch documents, so the real host client cannot tell it
//! from Twitch. Channel events are made with triggers ([`MockControl`] in
//! process, `POST /mock/trigger` from other processes), which change the
//! channel state and send the EventSub notifications together, so what
//! EventSub says and what Helix answers agree. Faults (dropped sockets,
//! reconnects, revocations, duplicate or stale frames, Helix errors, rate
//! limits, expired tokens) are injected the same way.
//!
//! It hosts many channels, each with its own state (the first is the
//! default one, which every call naming no channel uses), and EventSub
//! conduits: app access tokens, the conduit API, and conduit
//! subscriptions routed over WebSocket shards.
//!
//! Layout, one job per module: [`state`] one channel, [`channels`] every
//! channel by broadcaster id, [`triggers`] what a trigger changes and
//! says, [`payloads`] the event JSON per type, [`hub`] sessions and
//! subscriptions, [`conduits`] conduits, shards and routing, `eventsub`
//! the sockets, `helix`, `conduit_api` and `oauth` the HTTP APIs,
//! [`tokens`] the OAuth data, [`ratelimit`] the token bucket,
//! [`pagination`] the cursors, [`traffic`] counts and faults, [`control`]
//! the handle and control API, [`demo`] the demo audience.

pub mod catalog;
pub mod channels;
mod conduit_api;
pub mod conduits;
pub mod control;
pub mod demo;
mod eventsub;
mod helix;
pub mod hub;
mod ids;
mod names;
mod oauth;
pub mod pagination;
mod params;
pub mod payloads;
pub mod ratelimit;
pub mod state;
pub mod tokens;
pub mod traffic;
pub mod triggers;
pub mod wire;

#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{any, get};
use axum::serve::ListenerExt;
use chrono::Utc;
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use conduits::RoutingCounts;
pub use control::{BulkReport, ChannelSummary, MockControl, Sent, SentEvent, StateCounts};
pub use demo::{DemoOptions, DemoStream};
pub use hub::{Delivery, SessionInfo, SessionStatus};
pub use state::UserInfo;
pub use traffic::{HelixFault, SentChatMessage};
pub use triggers::{Trigger, TriggerError};

use channels::Channels;
use hub::Hub;
use state::{ChannelState, Seed};
use tokens::{Grant, TokenStore};
use traffic::Traffic;

/// How the mock is set up: the default channel, the token it pre-issues,
/// seeded state, and the timings tests shorten. More channels are added
/// with [`MockControl::add_channel`].
#[derive(Debug, Clone)]
pub struct MockOptions {
    /// The broadcaster's login.
    pub broadcaster_login: String,
    /// The broadcaster's user id (also the token's user).
    pub broadcaster_id: String,
    /// The client id tokens are issued to (Helix checks `Client-Id`).
    pub client_id: String,
    /// The client's secret, for app access tokens (client credentials).
    pub client_secret: String,
    /// The pre-issued access token (random when `None`).
    pub access_token: Option<String>,
    /// The pre-issued refresh token (random when `None`).
    pub refresh_token: Option<String>,
    /// Scopes of the pre-issued token.
    pub scopes: Vec<String>,
    /// Scopes the device flow grants; `None` grants what the client asked.
    pub device_grant_scopes: Option<Vec<String>>,
    /// How long access tokens live.
    pub token_lifetime: Duration,
    /// Seeded followers (synthesized, memory-lean: a million is fine).
    pub followers: usize,
    /// Seeded subscribers.
    pub subscribers: usize,
    /// Seeded VIPs.
    pub vips: usize,
    /// Seeded moderators.
    pub moderators: usize,
    /// Seeded bans (every third one a timeout).
    pub bans: usize,
    /// Seeded clips.
    pub clips: usize,
    /// Helix token-bucket capacity, refilled over a minute (Twitch: 800).
    pub rate_limit_per_minute: u32,
    /// Smallest `keepalive_timeout_seconds` accepted (Twitch: 10; tests
    /// may lower it to 1).
    pub min_keepalive_secs: u32,
    /// A session without a subscription after this long is closed (4003).
    pub subscribe_deadline: Duration,
    /// How long a client has to move after `session_reconnect` (4004).
    pub reconnect_grace: Duration,
    /// Approve device-flow logins by themselves on the second poll.
    pub auto_approve_device: bool,
    /// `interval` of the device flow, in seconds.
    pub device_interval_secs: u32,
    /// How long a device code is valid.
    pub device_code_lifetime: Duration,
    /// Echo chat messages the host sends as `channel.chat.message`
    /// notifications (Twitch does; off by default so a bot cannot loop).
    pub echo_sent_chat: bool,
    /// `max_total_cost` of EventSub subscriptions.
    pub max_total_cost: u32,
    /// WebSocket connections with enabled subscriptions per client + user.
    pub max_websocket_connections: usize,
    /// Seed for the made-up names and numbers triggers pick.
    pub seed: Option<u64>,
    /// Subscription types this server refuses as not offered (400, as the
    /// Twitch CLI's mock does for `channel.vip.*` and `channel.chat.message`).
    pub unsupported_types: Vec<String>,
}

impl Default for MockOptions {
    fn default() -> Self {
        let mut scopes: Vec<String> = crate::catalog::all_scopes()
            .into_iter()
            .map(str::to_owned)
            .collect();
        scopes.push("user:write:chat".to_owned());
        MockOptions {
            broadcaster_login: "stagehand_demo".to_owned(),
            broadcaster_id: "100000001".to_owned(),
            client_id: "stagehand-demo".to_owned(),
            client_secret: "stagehand-demo-secret".to_owned(),
            access_token: None,
            refresh_token: None,
            scopes,
            device_grant_scopes: None,
            token_lifetime: Duration::from_secs(4 * 3600),
            followers: 0,
            subscribers: 0,
            vips: 0,
            moderators: 0,
            bans: 0,
            clips: 0,
            rate_limit_per_minute: 800,
            min_keepalive_secs: 10,
            subscribe_deadline: Duration::from_secs(10),
            reconnect_grace: Duration::from_secs(30),
            auto_approve_device: false,
            device_interval_secs: 5,
            device_code_lifetime: Duration::from_secs(1800),
            echo_sent_chat: false,
            max_total_cost: 10,
            max_websocket_connections: 3,
            seed: None,
            unsupported_types: Vec::new(),
        }
    }
}

impl MockOptions {
    /// Defaults with short timings for tests: keepalive windows from 1 s,
    /// a 2 s subscribe deadline and reconnect grace, device logins that
    /// approve themselves and a 1 s poll interval.
    pub fn fast() -> Self {
        MockOptions {
            min_keepalive_secs: 1,
            subscribe_deadline: Duration::from_secs(2),
            reconnect_grace: Duration::from_secs(2),
            auto_approve_device: true,
            device_interval_secs: 1,
            ..MockOptions::default()
        }
    }
}

/// State shared by the server's handlers and the control handle.
pub(crate) struct Shared {
    options: MockOptions,
    /// `http://127.0.0.1:PORT`
    http_base: String,
    /// `ws://127.0.0.1:PORT/ws`
    ws_url: String,
    control_secret: String,
    channels: Mutex<Channels>,
    tokens: Mutex<TokenStore>,
    hub: Mutex<Hub>,
    traffic: Mutex<Traffic>,
    rng: Mutex<StdRng>,
    /// Next number of a bulk follower (`bulk_follower{n}`), unique across
    /// channels.
    bulk_seq: AtomicU64,
    cancel: CancellationToken,
}

/// First user id of the bulk followers (apart from the broadcasters',
/// the seeded followers' and the login-derived ranges).
const BULK_FOLLOWER_ID_BASE: u64 = 1_000_000_000;

/// Locks a mutex, carrying on after a panic elsewhere (the data is plain
/// state; a half-done trigger is better than a dead mock).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn broadcaster_id(&self) -> String {
        lock(&self.channels)
            .default_channel()
            .broadcaster()
            .id
            .clone()
    }

    /// Applies a trigger to its channel (the default one unless it names
    /// another), then delivers its events (the channels' lock is released
    /// before the hub's is taken).
    fn run_trigger(&self, trigger: &Trigger) -> Result<Sent, TriggerError> {
        let now = Utc::now();
        let planned = {
            let mut channels = lock(&self.channels);
            let channel = channels
                .select_mut(trigger.channel.as_deref())
                .map_err(|_| {
                    TriggerError::UnknownChannel(trigger.channel.clone().unwrap_or_default())
                })?;
            let mut rng = lock(&self.rng);
            triggers::apply(channel, trigger, now, &mut *rng)?
        };
        let mut hub = lock(&self.hub);
        let events = planned
            .into_iter()
            .map(|planned| {
                let deliveries = if trigger.quiet {
                    Vec::new()
                } else {
                    hub.deliver(&planned.subscription_type, &planned.event, now)
                };
                SentEvent {
                    subscription_type: planned.subscription_type,
                    subscription_version: planned.version,
                    event: planned.event,
                    deliveries,
                }
            })
            .collect();
        Ok(Sent { events })
    }

    /// `count` new users follow channel `channel_id` now: each is added to
    /// the channel's followers (so Helix lists it) and announced over
    /// EventSub. One lock of each kind per call, so a bulk run costs little
    /// per follow. Returns how many notifications went out.
    fn bulk_follow(&self, channel_id: &str, count: usize) -> Result<usize, TriggerError> {
        let now = Utc::now();
        let events: Vec<serde_json::Value> = {
            let mut channels = lock(&self.channels);
            let channel = channels
                .get_mut(channel_id)
                .ok_or_else(|| TriggerError::UnknownChannel(channel_id.to_owned()))?;
            let broadcaster = channel.broadcaster().clone();
            (0..count)
                .map(|_| {
                    let n = self.bulk_seq.fetch_add(1, Ordering::Relaxed);
                    let user = UserInfo::new(
                        (BULK_FOLLOWER_ID_BASE + n).to_string(),
                        format!("bulk_follower{n}"),
                    );
                    channel.add_user(user.clone());
                    channel.follow(&user.id, now);
                    payloads::follow(&broadcaster, &user, now)
                })
                .collect()
        };
        let mut hub = lock(&self.hub);
        Ok(events
            .iter()
            .map(|event| hub.deliver("channel.follow", event, now).len())
            .sum())
    }

    /// Sends `session_reconnect` everywhere and arms the grace timers.
    fn start_reconnect(self: &Arc<Self>) -> Vec<String> {
        let started = lock(&self.hub).start_reconnect(&self.ws_url, Utc::now());
        for (session_id, _) in &started {
            let shared = Arc::clone(self);
            let session_id = session_id.clone();
            let grace = self.options.reconnect_grace;
            tokio::spawn(async move {
                tokio::select! {
                    () = shared.cancel.cancelled() => {}
                    () = tokio::time::sleep(grace) => {
                        lock(&shared.hub).grace_expired(&session_id, Utc::now());
                    }
                }
            });
        }
        started.into_iter().map(|(_, url)| url).collect()
    }
}

/// Counts every request and answers injected faults before the real
/// handler runs (control routes are not counted).
async fn traffic_layer(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let method = request.method().as_str().to_owned();
    let after = params::Params::parse(request.uri().query());
    let page = pagination::page_number(after.get("after"));
    let fault = {
        let mut traffic = lock(&shared.traffic);
        traffic.count(&path);
        traffic.take_fault(&method, &path, page)
    };
    match fault {
        Some(fault) => helix::fault_response(&shared, request.headers(), &path, &fault),
        None => next.run(request).await,
    }
}

/// The running mock. Dropping it stops the server too; [`shutdown`]
/// waits for it.
///
/// [`shutdown`]: MockTwitch::shutdown
pub struct MockTwitch {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: Option<JoinHandle<()>>,
    access_token: String,
    refresh_token: String,
}

impl std::fmt::Debug for MockTwitch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockTwitch")
            .field("addr", &self.addr)
            .finish()
    }
}

impl MockTwitch {
    /// Binds `127.0.0.1:0`, seeds the channel, pre-issues a token for the
    /// broadcaster and starts serving.
    pub async fn start(options: MockOptions) -> anyhow::Result<MockTwitch> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the mock Twitch server to 127.0.0.1:0")?;
        let addr = listener
            .local_addr()
            .context("reading the mock Twitch server's address")?;
        let now = Utc::now();
        let broadcaster = UserInfo::new(
            options.broadcaster_id.clone(),
            options.broadcaster_login.to_ascii_lowercase(),
        );
        let seed = Seed {
            followers: options.followers as u64,
            subscribers: options.subscribers,
            vips: options.vips,
            moderators: options.moderators,
            bans: options.bans,
            clips: options.clips,
        };
        let channel = ChannelState::new(broadcaster.clone(), seed, now);
        let access_token = options.access_token.clone().unwrap_or_else(ids::token);
        let refresh_token = options
            .refresh_token
            .clone()
            .unwrap_or_else(|| format!("{}{}", ids::token(), ids::random_alphanumeric(20)));
        let mut tokens = TokenStore::new(options.token_lifetime);
        tokens.insert(
            &access_token,
            &refresh_token,
            Grant {
                user_id: broadcaster.id.clone(),
                login: broadcaster.login.clone(),
                client_id: options.client_id.clone(),
                scopes: options.scopes.clone(),
            },
            now,
        );
        let rng = match options.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => rand::make_rng(),
        };
        let shared = Arc::new(Shared {
            http_base: format!("http://{addr}"),
            ws_url: format!("ws://{addr}/ws"),
            control_secret: ids::secret(),
            channels: Mutex::new(Channels::new(channel)),
            tokens: Mutex::new(tokens),
            hub: Mutex::new(Hub::new()),
            traffic: Mutex::new(Traffic::new(
                options.rate_limit_per_minute,
                Duration::from_secs(60),
            )),
            rng: Mutex::new(rng),
            bulk_seq: AtomicU64::new(0),
            cancel: CancellationToken::new(),
            options,
        });
        let router = Router::new()
            .route("/ws", get(eventsub::upgrade))
            .nest("/oauth2", oauth::router())
            .route("/helix/{*path}", any(helix::entry))
            .layer(middleware::from_fn_with_state(
                Arc::clone(&shared),
                traffic_layer,
            ))
            .merge(control::router(Arc::clone(&shared)))
            .with_state(Arc::clone(&shared));
        let cancel = shared.cancel.clone();
        let server = tokio::spawn(async move {
            // Nagle off, as Twitch's edge: small frames go out at once.
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(cancel.cancelled_owned())
                .await;
            if let Err(error) = served {
                tracing::warn!(%error, "mock Twitch server stopped with an error");
            }
        });
        tracing::debug!(%addr, "mock Twitch listening");
        Ok(MockTwitch {
            shared,
            addr,
            server: Some(server),
            access_token,
            refresh_token,
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ws://127.0.0.1:P/ws`: for `TWITCH_EVENTSUB_URL`.
    pub fn eventsub_url(&self) -> String {
        self.shared.ws_url.clone()
    }

    /// `http://127.0.0.1:P/helix`: for `TWITCH_API_URL`.
    pub fn api_url(&self) -> String {
        format!("{}/helix", self.shared.http_base)
    }

    /// `http://127.0.0.1:P/oauth2`: for `TWITCH_AUTH_URL`.
    pub fn auth_url(&self) -> String {
        format!("{}/oauth2", self.shared.http_base)
    }

    /// `http://127.0.0.1:P/mock`: the control API for other processes.
    pub fn control_url(&self) -> String {
        format!("{}/mock", self.shared.http_base)
    }

    /// The bearer secret the control API requires (random per start).
    pub fn control_secret(&self) -> &str {
        &self.shared.control_secret
    }

    /// A pre-issued access token for the broadcaster with the configured
    /// scopes: for `TWITCH_ACCESS_TOKEN`, skipping the login.
    pub fn access_token(&self) -> &str {
        &self.access_token
    }

    /// The refresh token issued with [`access_token`](Self::access_token).
    pub fn refresh_token(&self) -> &str {
        &self.refresh_token
    }

    /// The client id tokens belong to: for `TWITCH_CLIENT_ID`.
    pub fn client_id(&self) -> &str {
        &self.shared.options.client_id
    }

    /// The client's secret: for the client credentials grant that gives
    /// the app access token conduits need.
    pub fn client_secret(&self) -> &str {
        &self.shared.options.client_secret
    }

    /// A new app access token for the client (what the client credentials
    /// grant answers), skipping the HTTP round trip.
    pub fn app_access_token(&self) -> String {
        let client_id = &self.shared.options.client_id;
        lock(&self.shared.tokens).issue_app(client_id, Utc::now()).0
    }

    /// The broadcaster's (id, login).
    pub fn broadcaster(&self) -> (String, String) {
        let channels = lock(&self.shared.channels);
        let broadcaster = channels.default_channel().broadcaster();
        (broadcaster.id.clone(), broadcaster.login.clone())
    }

    /// A handle for triggers, faults and inspection.
    pub fn control(&self) -> MockControl {
        MockControl {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Stops the server and every socket, and waits (up to 5 s) for it.
    pub async fn shutdown(mut self) {
        self.shared.cancel.cancel();
        if let Some(server) = self.server.take()
            && tokio::time::timeout(Duration::from_secs(5), server)
                .await
                .is_err()
        {
            tracing::warn!("mock Twitch server did not stop within 5 s");
        }
    }
}

impl Drop for MockTwitch {
    fn drop(&mut self) {
        self.shared.cancel.cancel();
    }
}
