//! The EventSub WebSocket session: connect, wait for the welcome, create the
//! wanted subscriptions, turn notifications into events, follow
//! `session_reconnect`s without losing anything, and reconnect with backoff
//! when the socket dies. The frame parsing and the subscription plan are pure
//! modules next to this one; this is the I/O shell around them.
//!
//! The rules other clients learned the hard way:
//! - the wanted subscriptions live apart from the session: a fresh session
//!   (after a drop or a close code) subscribes again; one reached through
//!   `session_reconnect` does not (Twitch answers 409, they carried over);
//! - after `session_reconnect` the old socket stays open, still delivering,
//!   until the new one is welcomed, and is drained after that;
//! - silence longer than the keepalive window means a dead socket, measured
//!   on both the monotonic and the wall clock, so a machine that slept is
//!   noticed at once;
//! - we answer pings (tungstenite does) and send nothing else.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::{FutureExt, SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as WsCloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

use super::protocol::{self, CloseCode, Frame, Message, Session, Subscription};
use super::status::{ConnectionState, EventSubStatus};
use super::subscriptions::{self, WantedSubscription};
use crate::dedup::RecentIds;
use crate::pipeline::{EventSender, PipelineClosed};
use crate::twitch::{domain, normalize};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Why creating a subscription failed, as far as the session cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateError {
    /// 409: it already exists on this session (it carried over).
    Conflict,
    /// The token lacks this scope.
    MissingScope(String),
    /// The server does not offer this type and version (400 "The
    /// combination of values in the type and version fields is not valid":
    /// the Twitch CLI's mock has no VIP or chat types). Not retried.
    Unsupported(String),
    /// Anything else, with Twitch's message.
    Failed(String),
}

/// Twitch's message for a type and version it does not offer.
pub const NOT_VALID_TYPE: &str =
    "The combination of values in the type and version fields is not valid";

/// The Helix calls the session needs, as a seam so the session is tested
/// against any implementation and the Helix client stays unaware of it.
pub trait SubscriptionApi: Send + Sync + 'static {
    /// `POST /eventsub/subscriptions` with `body`.
    fn create(&self, body: Value)
    -> impl Future<Output = Result<Subscription, CreateError>> + Send;
    /// `GET /eventsub/subscriptions`, every page.
    fn list(&self) -> impl Future<Output = Result<Vec<Subscription>, String>> + Send;
    /// `DELETE /eventsub/subscriptions?id=`.
    fn delete(&self, id: String) -> impl Future<Output = Result<(), String>> + Send;
}

/// What the session connects as and how patiently.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The EventSub WebSocket URL (`TWITCH_EVENTSUB_URL`), possibly with
    /// `?keepalive_timeout_seconds=`.
    pub url: String,
    /// Whose events to subscribe to.
    pub broadcaster_id: String,
    /// The token's user (the moderator / chat reader in conditions).
    pub user_id: String,
    /// The token's scopes: subscriptions needing others are skipped.
    pub scopes: Vec<String>,
    /// First reconnect delay; doubles per failed attempt up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// How long to wait for a socket to open and welcome us.
    pub welcome_timeout: Duration,
}

impl SessionConfig {
    /// Twitch's defaults for `url` and the token's identity.
    pub fn new(url: &str, broadcaster_id: &str, user_id: &str, scopes: Vec<String>) -> Self {
        SessionConfig {
            url: url.to_owned(),
            broadcaster_id: broadcaster_id.to_owned(),
            user_id: user_id.to_owned(),
            scopes,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            welcome_timeout: Duration::from_secs(10),
        }
    }
}

/// Requests from the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Connect,
    Disconnect,
}

/// The outside's view of a running session: status and the
/// connect/disconnect controls. Cheap to clone.
#[derive(Clone)]
pub struct EventSubHandle {
    commands: mpsc::Sender<Command>,
    status: watch::Receiver<EventSubStatus>,
    last_message_ms: Arc<AtomicI64>,
}

impl EventSubHandle {
    /// The current status, with the time of the latest message.
    pub fn status(&self) -> EventSubStatus {
        let mut status = self.status.borrow().clone();
        let last = self.last_message_ms.load(Ordering::Relaxed);
        if last > 0 {
            status.last_message_at = DateTime::from_timestamp_millis(last);
        }
        status
    }

    /// Changes of state (not every message): pollers watch it to know when
    /// to take over, the live feed to tell the dashboard.
    pub fn watch(&self) -> watch::Receiver<EventSubStatus> {
        self.status.clone()
    }

    /// Asks the session to connect (no-op when connected). False when the
    /// session has stopped.
    pub async fn connect(&self) -> bool {
        self.commands.send(Command::Connect).await.is_ok()
    }

    /// Asks the session to close its socket and stay disconnected.
    pub async fn disconnect(&self) -> bool {
        self.commands.send(Command::Disconnect).await.is_ok()
    }
}

/// Starts a session task: connected at once when `enabled`.
pub fn spawn<A: SubscriptionApi>(
    config: SessionConfig,
    api: A,
    events: EventSender,
    enabled: bool,
    cancel: CancellationToken,
) -> (EventSubHandle, JoinHandle<()>) {
    let (commands_tx, commands) = mpsc::channel(8);
    let initial = EventSubStatus {
        state: if enabled {
            ConnectionState::Connecting
        } else {
            ConnectionState::Disabled
        },
        ..Default::default()
    };
    let (status, status_rx) = watch::channel(initial);
    let last_message_ms = Arc::new(AtomicI64::new(0));
    let session = EventSubSession {
        config,
        api,
        events,
        status,
        last_message_ms: last_message_ms.clone(),
        commands,
        cancel,
        recent: RecentIds::new(
            10_000,
            protocol::MAX_MESSAGE_AGE.to_std().unwrap_or_default(),
        ),
        logged_skips: false,
        unsupported: Default::default(),
        subscribed: Default::default(),
    };
    let task = tokio::spawn(session.run(enabled));
    let handle = EventSubHandle {
        commands: commands_tx,
        status: status_rx,
        last_message_ms,
    };
    (handle, task)
}

/// How a connected session ended.
enum SessionEnd {
    Cancelled,
    Disabled,
    Lost(String),
}

/// A socket that has been welcomed.
struct Opened {
    socket: Socket,
    session: Session,
    welcome_id: String,
}

/// A move to a `session_reconnect` URL in progress: resolves to the new,
/// welcomed socket.
type Move = std::pin::Pin<Box<dyn Future<Output = Result<Box<Opened>, String>> + Send>>;

/// What woke the serving loop.
enum Step {
    Cancelled,
    Command(Option<Command>),
    Current(Option<Result<WsMessage, WsError>>),
    Draining(Option<Result<WsMessage, WsError>>),
    Moved(Result<Box<Opened>, String>),
    Tick,
}

/// What a text frame asks of the loop.
enum Reaction {
    Continue,
    MoveTo(String),
    Stop,
}

struct EventSubSession<A> {
    config: SessionConfig,
    api: A,
    events: EventSender,
    status: watch::Sender<EventSubStatus>,
    last_message_ms: Arc<AtomicI64>,
    commands: mpsc::Receiver<Command>,
    cancel: CancellationToken,
    recent: RecentIds,
    logged_skips: bool,
    /// Types the server refused as not offered: not asked for again while
    /// this host runs.
    unsupported: std::collections::HashSet<String>,
    /// Types enabled on the current session (they carry over a
    /// `session_reconnect`): notifications of any other type are ignored.
    subscribed: std::collections::HashSet<String>,
}

impl<A: SubscriptionApi> EventSubSession<A> {
    async fn run(mut self, mut enabled: bool) {
        let mut cleaned = false;
        let mut failures: u32 = 0;
        loop {
            if !enabled {
                self.set_state(ConnectionState::Disabled, None);
                if !self.wait_for_connect().await {
                    return;
                }
                enabled = true;
                failures = 0;
            }
            if !cleaned {
                self.delete_stale_subscriptions().await;
                cleaned = true;
            }
            self.status
                .send_modify(|s| s.state = ConnectionState::Connecting);
            let end = match open(&self.config.url, self.config.welcome_timeout).await {
                Ok(opened) => {
                    let subscribed = self.start_session(&opened).await;
                    if subscribed {
                        failures = 0;
                    }
                    // A panic here (a bug) ends this session like a
                    // drop: the session reconnects with backoff.
                    match std::panic::AssertUnwindSafe(self.serve(opened))
                        .catch_unwind()
                        .await
                    {
                        Ok(end) => end,
                        Err(panic) => SessionEnd::Lost(format!(
                            "internal error in the EventSub session: {}",
                            crate::health::panic_message(&*panic)
                        )),
                    }
                }
                Err(why) => SessionEnd::Lost(why),
            };
            match end {
                SessionEnd::Cancelled => {
                    self.set_state(ConnectionState::Disabled, None);
                    return;
                }
                SessionEnd::Disabled => {
                    tracing::info!("EventSub disconnected on request");
                    enabled = false;
                    self.status.send_modify(|s| {
                        s.lose_session(ConnectionState::Disabled, None);
                    });
                    continue;
                }
                SessionEnd::Lost(why) => {
                    failures = failures.saturating_add(1);
                    let delay = backoff_delay(
                        failures - 1,
                        self.config.backoff_base,
                        self.config.backoff_max,
                        rand::random::<f64>(),
                    );
                    tracing::warn!(
                        reason = %why,
                        retry_in_ms = delay.as_millis() as u64,
                        "EventSub connection lost; reconnecting and subscribing again"
                    );
                    self.status.send_modify(|s| {
                        s.lose_session(ConnectionState::Waiting, Some(why));
                        s.reconnects += 1;
                    });
                    match self.pause(delay).await {
                        Some(Command::Disconnect) => enabled = false,
                        None => return,
                        Some(Command::Connect) => {}
                    }
                }
            }
        }
    }

    /// Waits for a Connect command; false when the host stops.
    async fn wait_for_connect(&mut self) -> bool {
        loop {
            tokio::select! {
                _ = self.cancel.cancelled() => return false,
                command = self.commands.recv() => match command {
                    Some(Command::Connect) => return true,
                    Some(Command::Disconnect) => continue,
                    None => return false,
                },
            }
        }
    }

    /// Sleeps `delay` unless a command or shutdown comes first: `None` when
    /// the host stops, the command otherwise (Connect once the delay ran
    /// out, so an impatient "connect" skips the wait).
    async fn pause(&mut self, delay: Duration) -> Option<Command> {
        tokio::select! {
            _ = self.cancel.cancelled() => None,
            _ = tokio::time::sleep(delay) => Some(Command::Connect),
            command = self.commands.recv() => command.or(None),
        }
    }

    fn set_state(&self, state: ConnectionState, error: Option<String>) {
        self.status.send_modify(|s| {
            s.state = state;
            s.connected = state == ConnectionState::Connected;
            if error.is_some() {
                s.last_error = error;
            }
        });
    }

    /// Deletes our subscriptions whose transport is gone (left by a crash
    /// or a drop): they cost nothing but clutter the 300-per-connection
    /// budget and confuse whoever reads the list.
    async fn delete_stale_subscriptions(&self) {
        let existing = match self.api.list().await {
            Ok(list) => list,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list EventSub subscriptions to clean up stale ones");
                return;
            }
        };
        let stale: Vec<Subscription> = existing
            .into_iter()
            .filter(|s| s.transport.method == "websocket" && s.status != "enabled")
            .collect();
        for sub in &stale {
            if let Err(e) = self.api.delete(sub.id.clone()).await {
                tracing::warn!(id = %sub.id, kind = %sub.kind, error = %e, "cannot delete a stale EventSub subscription");
            }
        }
        if !stale.is_empty() {
            tracing::info!(
                count = stale.len(),
                "deleted stale EventSub subscriptions left by an earlier run"
            );
        }
    }

    /// Records the new session and creates every wanted subscription on it;
    /// true when at least one is enabled.
    async fn start_session(&mut self, opened: &Opened) -> bool {
        self.recent
            .insert(&opened.welcome_id, std::time::Instant::now());
        self.note_message();
        let session = &opened.session;
        tracing::info!(session_id = %session.id, keepalive_secs = ?session.keepalive_timeout_seconds, "EventSub session welcomed");
        self.status.send_modify(|s| {
            s.state = ConnectionState::Connecting;
            s.session_id = Some(session.id.clone());
            s.keepalive_timeout_secs = session.keepalive_timeout_seconds;
            s.connected_at = session.connected_at.or(Some(Utc::now()));
        });
        let (wanted, skipped) = subscriptions::plan(
            &self.config.broadcaster_id,
            &self.config.user_id,
            &self.config.scopes,
        );
        for skip in &skipped {
            if !self.logged_skips {
                tracing::warn!("EventSub: {skip}");
            }
            let detail = format!("the token lacks {}", skip.missing_scope);
            self.status.send_modify(|s| {
                let version = subscriptions::WANTED
                    .iter()
                    .find(|w| w.kind == skip.kind)
                    .map_or("1", |w| w.version);
                s.set_subscription(skip.kind, version, "skipped", None, Some(detail));
            });
        }
        self.logged_skips = true;
        let wanted: Vec<_> = wanted
            .into_iter()
            .filter(|w| !self.unsupported.contains(w.kind))
            .collect();
        let creating = wanted
            .iter()
            .map(|w| self.create(w, &session.id))
            .collect::<Vec<_>>();
        let results = futures_util::future::join_all(creating).await;
        let mut enabled = 0;
        self.subscribed.clear();
        for (w, result) in wanted.iter().zip(results) {
            let (status, id, detail) = match result {
                Ok(sub) => {
                    enabled += 1;
                    self.subscribed.insert(w.kind.to_owned());
                    ("enabled", Some(sub.id), None)
                }
                Err(CreateError::Conflict) => {
                    enabled += 1;
                    self.subscribed.insert(w.kind.to_owned());
                    (
                        "enabled",
                        None,
                        Some("already existed on this session".into()),
                    )
                }
                Err(CreateError::MissingScope(scope)) => {
                    tracing::warn!(kind = w.kind, %scope, "EventSub: skipping {}: the token lacks {scope}", w.kind);
                    ("skipped", None, Some(format!("the token lacks {scope}")))
                }
                Err(CreateError::Unsupported(why)) => {
                    tracing::warn!(
                        kind = w.kind,
                        version = w.version,
                        "EventSub: the server does not offer {} version {}; not asked for again ({why})",
                        w.kind,
                        w.version
                    );
                    self.unsupported.insert(w.kind.to_owned());
                    (
                        "unsupported",
                        None,
                        Some(format!("the server does not offer this type: {why}")),
                    )
                }
                Err(CreateError::Failed(why)) => {
                    tracing::error!(kind = w.kind, error = %why, "cannot create EventSub subscription");
                    ("failed", None, Some(why))
                }
            };
            self.status
                .send_modify(|s| s.set_subscription(w.kind, w.version, status, id, detail));
        }
        let connected = enabled > 0;
        self.status.send_modify(|s| {
            s.state = ConnectionState::Connected;
            s.connected = true;
        });
        tracing::info!(
            enabled,
            wanted = wanted.len(),
            skipped = skipped.len(),
            "EventSub subscriptions created"
        );
        connected
    }

    async fn create(
        &self,
        wanted: &WantedSubscription,
        session_id: &str,
    ) -> Result<Subscription, CreateError> {
        self.api
            .create(subscriptions::create_body(wanted, session_id))
            .await
    }

    /// Reads the session until it ends, following reconnects.
    async fn serve(&mut self, opened: Opened) -> SessionEnd {
        let mut current = opened.socket;
        let mut keepalive = keepalive_window(opened.session.keepalive_timeout_seconds);
        let mut draining: Option<Socket> = None;
        let mut moving: Option<Move> = None;
        let mut watchdog = tokio::time::interval(Duration::from_millis(250));
        watchdog.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_seen = (Instant::now(), Utc::now());
        loop {
            let step = tokio::select! {
                _ = self.cancel.cancelled() => Step::Cancelled,
                command = self.commands.recv() => Step::Command(command),
                message = current.next() => Step::Current(message),
                message = next_or_pending(&mut draining) => Step::Draining(message),
                moved = async { moving.as_mut().expect("guarded").await }, if moving.is_some() => Step::Moved(moved),
                _ = watchdog.tick() => Step::Tick,
            };
            match step {
                Step::Cancelled => {
                    close(&mut current, "Stagehand is shutting down").await;
                    return SessionEnd::Cancelled;
                }
                Step::Command(None) => return SessionEnd::Cancelled,
                Step::Command(Some(Command::Connect)) => {}
                Step::Command(Some(Command::Disconnect)) => {
                    close(&mut current, "disconnected on request").await;
                    return SessionEnd::Disabled;
                }
                Step::Current(message) => match message {
                    Some(Ok(WsMessage::Text(text))) => {
                        last_seen = (Instant::now(), Utc::now());
                        match self.handle_text(text.as_str()).await {
                            Reaction::Continue => {}
                            Reaction::Stop => return SessionEnd::Cancelled,
                            Reaction::MoveTo(url) if moving.is_none() => {
                                tracing::info!(%url, "EventSub asked us to reconnect; moving to the new URL");
                                let timeout = self.config.welcome_timeout;
                                moving = Some(Box::pin(async move {
                                    open(&url, timeout).await.map(Box::new)
                                }));
                            }
                            Reaction::MoveTo(_) => {
                                tracing::debug!("already moving to a reconnect URL");
                            }
                        }
                    }
                    Some(Ok(WsMessage::Close(frame))) => {
                        // Answer the close handshake before dropping the
                        // socket (tungstenite queued our reply; flushing
                        // sends it).
                        let _ = tokio::time::timeout(Duration::from_secs(1), current.flush()).await;
                        return SessionEnd::Lost(describe_close(frame.as_ref()));
                    }
                    Some(Ok(WsMessage::Binary(_))) => {
                        tracing::warn!("EventSub sent a binary frame; ignored");
                    }
                    // Pings are answered by tungstenite; they do not count as
                    // keepalives (Twitch documents only messages do).
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return SessionEnd::Lost(format!("the socket failed: {e}")),
                    None => {
                        return SessionEnd::Lost("the socket closed without a close frame".into());
                    }
                },
                Step::Draining(message) => match message {
                    Some(Ok(WsMessage::Text(text))) => {
                        if let Reaction::Stop = self.handle_text(text.as_str()).await {
                            return SessionEnd::Cancelled;
                        }
                    }
                    Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None => draining = None,
                    Some(Ok(_)) => {}
                },
                Step::Moved(Ok(opened)) => {
                    moving = None;
                    let opened = *opened;
                    let mut old = std::mem::replace(&mut current, opened.socket);
                    // Only now, after the new welcome, close the old socket;
                    // read what it still holds until it is gone.
                    let _ = tokio::time::timeout(
                        Duration::from_secs(1),
                        old.close(Some(close_frame(
                            WsCloseCode::Normal,
                            "moved to the reconnect URL",
                        ))),
                    )
                    .await;
                    draining = Some(old);
                    self.recent
                        .insert(&opened.welcome_id, std::time::Instant::now());
                    keepalive = keepalive_window(opened.session.keepalive_timeout_seconds);
                    last_seen = (Instant::now(), Utc::now());
                    self.note_message();
                    tracing::info!(session_id = %opened.session.id, "EventSub session moved; subscriptions carried over");
                    self.status.send_modify(|s| {
                        s.session_id = Some(opened.session.id.clone());
                        s.keepalive_timeout_secs = opened.session.keepalive_timeout_seconds;
                        s.connected_at = opened.session.connected_at.or(Some(Utc::now()));
                        s.session_moves += 1;
                        s.reconnects += 1;
                    });
                }
                Step::Moved(Err(why)) => {
                    close(&mut current, "reconnect failed").await;
                    return SessionEnd::Lost(format!("could not move to the reconnect URL: {why}"));
                }
                Step::Tick => {
                    let silent = silence(last_seen, Instant::now(), Utc::now());
                    if silent > keepalive {
                        close(&mut current, "keepalive timeout").await;
                        return SessionEnd::Lost(format!(
                            "no message for {:.1} s (keepalive window {} s): the connection is presumed dead",
                            silent.as_secs_f64(),
                            keepalive.as_secs().saturating_sub(1)
                        ));
                    }
                }
            }
        }
    }

    fn note_message(&self) {
        self.last_message_ms
            .store(Utc::now().timestamp_millis(), Ordering::Relaxed);
    }

    /// Handles one text frame from either socket.
    async fn handle_text(&mut self, text: &str) -> Reaction {
        self.note_message();
        let now = Utc::now();
        let frame = match protocol::parse_frame(text) {
            Ok(frame) => frame,
            Err(e) => {
                tracing::warn!(error = %e, "malformed EventSub message ignored");
                self.status.send_modify(|s| s.dropped.malformed += 1);
                return Reaction::Continue;
            }
        };
        if !self
            .recent
            .insert(&frame.metadata.message_id, std::time::Instant::now())
        {
            tracing::debug!(message_id = %frame.metadata.message_id, "duplicate EventSub message dropped");
            self.status.send_modify(|s| s.dropped.duplicate += 1);
            return Reaction::Continue;
        }
        if frame.is_stale(now) {
            tracing::warn!(
                message_id = %frame.metadata.message_id,
                timestamp = %frame.metadata.message_timestamp,
                "EventSub message older than 10 minutes dropped"
            );
            self.status.send_modify(|s| s.dropped.stale += 1);
            return Reaction::Continue;
        }
        self.handle_frame(frame, now).await
    }

    async fn handle_frame(&mut self, frame: Frame, now: DateTime<Utc>) -> Reaction {
        match frame.message {
            Message::Keepalive => Reaction::Continue,
            Message::Welcome(session) => {
                tracing::warn!(session_id = %session.id, "unexpected second welcome on an open session; ignored");
                Reaction::Continue
            }
            Message::Notification {
                subscription,
                event,
            } if !self.subscribed.contains(&subscription.kind) => {
                tracing::debug!(kind = %subscription.kind, message_id = %frame.metadata.message_id, "notification of a type this session did not subscribe to; ignored");
                self.status.send_modify(|s| s.dropped.unsubscribed += 1);
                let _ = event;
                Reaction::Continue
            }
            Message::Notification {
                subscription,
                event,
            } => {
                match self
                    .notification(&subscription, &frame.metadata.message_id, &event, now)
                    .await
                {
                    Ok(()) => Reaction::Continue,
                    Err(PipelineClosed) => Reaction::Stop,
                }
            }
            Message::Reconnect(session) => match session.reconnect_url {
                Some(url) => Reaction::MoveTo(url),
                None => {
                    tracing::warn!("session_reconnect without a reconnect_url; ignored");
                    Reaction::Continue
                }
            },
            Message::Revocation(subscription) => {
                let reason = subscription.revocation_reason();
                tracing::warn!(
                    kind = %subscription.kind,
                    id = %subscription.id,
                    status = %subscription.status,
                    "EventSub subscription revoked: {}",
                    reason.describe()
                );
                self.status.send_modify(|s| {
                    if !s.revoke(&subscription.id, &subscription.status, reason.describe()) {
                        s.set_subscription(
                            &subscription.kind,
                            &subscription.version,
                            &subscription.status,
                            Some(subscription.id.clone()),
                            Some(reason.describe().to_owned()),
                        );
                    }
                });
                Reaction::Continue
            }
            Message::Unknown { message_type, .. } => {
                tracing::warn!(%message_type, "unknown EventSub message type ignored");
                self.status.send_modify(|s| s.dropped.unknown_type += 1);
                Reaction::Continue
            }
        }
    }

    /// Normalizes a notification and queues it, with its domain-table
    /// change, for the pipeline. Does not wait for the commit: the pipeline
    /// keeps the order and batches what arrives together.
    async fn notification(
        &mut self,
        subscription: &Subscription,
        message_id: &str,
        event: &Value,
        now: DateTime<Utc>,
    ) -> Result<(), PipelineClosed> {
        let normalized = normalize::normalize(&subscription.kind, message_id, event, now);
        for warning in &normalized.warnings {
            tracing::warn!(%message_id, kind = %subscription.kind, "{warning}");
        }
        if !normalized.event.kind.is_known() {
            tracing::warn!(
                %message_id,
                kind = %subscription.kind,
                "notification of a subscription type this host does not know; kept as an unknown event"
            );
        }
        let hook = domain::hook(&normalized.event, normalized.change);
        self.events.enqueue(normalized.event, hook).await?;
        self.status.send_if_modified(|s| {
            s.notifications += 1;
            false
        });
        Ok(())
    }
}

/// Opens a socket to `url` and waits for its `session_welcome`.
async fn open(url: &str, timeout: Duration) -> Result<Opened, String> {
    let deadline = Instant::now() + timeout;
    // Nagle off: notifications are small frames that must not wait for the
    // previous one's ACK (40 ms with delayed ACKs).
    let connecting = tokio_tungstenite::connect_async_with_config(url, None, true);
    let (mut socket, _) = tokio::time::timeout_at(deadline, connecting)
        .await
        .map_err(|_| format!("no connection to {} within {timeout:?}", redact_query(url)))?
        .map_err(|e| format!("cannot connect to {}: {e}", redact_query(url)))?;
    loop {
        let message = tokio::time::timeout_at(deadline, socket.next())
            .await
            .map_err(|_| format!("no session_welcome within {timeout:?}"))?;
        match message {
            Some(Ok(WsMessage::Text(text))) => {
                let frame = protocol::parse_frame(text.as_str())
                    .map_err(|e| format!("the first message was not a welcome: {e}"))?;
                return match frame.message {
                    Message::Welcome(session) => Ok(Opened {
                        socket,
                        session,
                        welcome_id: frame.metadata.message_id,
                    }),
                    _ => Err(format!(
                        "expected session_welcome first, got {}",
                        frame.metadata.message_type
                    )),
                };
            }
            Some(Ok(WsMessage::Close(frame))) => return Err(describe_close(frame.as_ref())),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(format!("the socket failed before the welcome: {e}")),
            None => return Err("the socket closed before the welcome".into()),
        }
    }
}

async fn next_or_pending(socket: &mut Option<Socket>) -> Option<Result<WsMessage, WsError>> {
    match socket {
        Some(socket) => socket.next().await,
        None => std::future::pending().await,
    }
}

async fn close(socket: &mut Socket, reason: &str) {
    let frame = close_frame(WsCloseCode::Normal, reason);
    let _ = tokio::time::timeout(Duration::from_secs(1), socket.close(Some(frame))).await;
}

fn close_frame(code: WsCloseCode, reason: &str) -> CloseFrame {
    CloseFrame {
        code,
        reason: reason.to_owned().into(),
    }
}

/// The log line for a close frame, naming EventSub's codes.
pub fn describe_close(frame: Option<&CloseFrame>) -> String {
    match frame {
        None => "the server closed the socket without a code".into(),
        Some(frame) => {
            let code = u16::from(frame.code);
            match CloseCode::from_code(code) {
                Some(known) => format!("closed by Twitch with {code}: {}", known.describe()),
                None => format!("closed with {code} ({})", frame.reason),
            }
        }
    }
}

/// How long silence may last before the socket is presumed dead: the
/// announced window plus a second for the network (Twitch's default window
/// is 10 s).
pub fn keepalive_window(announced_secs: Option<u32>) -> Duration {
    Duration::from_secs(u64::from(announced_secs.unwrap_or(10)) + 1)
}

/// Time since the last message, the larger of the monotonic and wall-clock
/// readings: the monotonic clock stops while the machine sleeps, the wall
/// clock does not, and a socket is usually dead after a sleep.
pub fn silence(last: (Instant, DateTime<Utc>), now: Instant, wall_now: DateTime<Utc>) -> Duration {
    let monotonic = now.saturating_duration_since(last.0);
    let wall = (wall_now - last.1).to_std().unwrap_or_default();
    monotonic.max(wall)
}

/// Exponential backoff with jitter: `base * 2^attempt`, capped at `max`,
/// scaled into [50 %, 100 %] by `jitter` (0..1) so many clients that lost
/// Twitch at once do not return at once.
pub fn backoff_delay(attempt: u32, base: Duration, max: Duration, jitter: f64) -> Duration {
    let exp = base.saturating_mul(2u32.saturating_pow(attempt.min(20)));
    let capped = exp.min(max);
    capped.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// The URL without its query, for log lines (a reconnect URL's query may
/// carry a session secret).
fn redact_query(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_keeps_half_at_least() {
        let base = Duration::from_secs(1);
        let max = Duration::from_secs(60);
        assert_eq!(backoff_delay(0, base, max, 1.0), Duration::from_secs(1));
        assert_eq!(backoff_delay(3, base, max, 1.0), Duration::from_secs(8));
        assert_eq!(backoff_delay(30, base, max, 1.0), max);
        assert_eq!(backoff_delay(3, base, max, 0.0), Duration::from_secs(4));
        assert_eq!(backoff_delay(30, base, max, 0.0), Duration::from_secs(30));
    }

    #[test]
    fn silence_sees_a_sleep_the_monotonic_clock_missed() {
        let start = Instant::now();
        let wall = Utc::now();
        // The machine slept an hour: the monotonic clock moved a second.
        let later = start + Duration::from_secs(1);
        let wall_later = wall + chrono::TimeDelta::hours(1);
        assert!(silence((start, wall), later, wall_later) >= Duration::from_secs(3600));
        assert_eq!(silence((start, wall), later, wall), Duration::from_secs(1));
    }

    #[test]
    fn the_keepalive_window_allows_a_second_of_network() {
        assert_eq!(keepalive_window(Some(10)), Duration::from_secs(11));
        assert_eq!(keepalive_window(None), Duration::from_secs(11));
    }

    #[test]
    fn close_codes_are_named() {
        let frame = close_frame(WsCloseCode::from(4003), "unused");
        assert!(describe_close(Some(&frame)).contains("4003"));
        assert!(describe_close(Some(&frame)).contains("no subscription was created"));
        assert!(describe_close(None).contains("without a code"));
    }

    #[test]
    fn queries_are_kept_out_of_log_lines() {
        assert_eq!(redact_query("wss://x/ws?token=secret"), "wss://x/ws");
    }
}
