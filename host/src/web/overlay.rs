//! The overlay: the page an OBS browser source shows (`GET /overlay/{name}`),
//! its socket (`GET /overlay/{name}/ws`), and the overlay key
//! (`POST /api/overlay/key`). The dashboard's queue controls are in
//! [`super::overlay_queue`].
//!
//! Socket protocol: the page's first message is `{"type":"hello","key":K}`;
//! then the host sends every alert of that overlay not yet acknowledged
//! (`{"type":"alert","id":...}`), and the page answers `{"type":"ack","id":...}`
//! once shown. A reconnecting page gets what it has not acknowledged, never
//! what it has. While the overlay is paused the page is told
//! `{"type":"pause"}` and sent no alert; `{"type":"resume"}` ends it and the
//! alerts that waited follow. A refused key (wrong, or regenerated while
//! connected) closes the socket with code 4003 after an `{"type":"error"}`
//! message saying why.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::{broadcast, watch};

use super::AppState;
use super::assets;
use super::auth::constant_time_eq;
use super::error::{ApiError, ApiJson};
use crate::actions::alerts::{
    DEFAULT_OVERLAY, FreshAlert, OverlayControl, OverlayQueue, Pauses, valid_overlay_name,
};
use crate::event::now_ms;
use crate::live::{LiveFeed, LiveMessage};
use crate::secrets;
use crate::store::overlay_alerts::QueuedAlert;
use chrono::{DateTime, Utc};

const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// A page that does not take a message within this long is disconnected.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_MESSAGE: usize = 16 * 1024;
/// Read buffer per socket. Pages send only a hello and small acks, and
/// tungstenite zeroes the whole buffer on every read: its 128 KiB default
/// made memset the largest cost of a 100-page fan-out.
const READ_BUFFER: usize = 4 * 1024;
/// WebSocket close code for a refused key (the 4xxx range is ours). The
/// page stops reconnecting when it sees it: retrying cannot help.
pub const CLOSE_FORBIDDEN: u16 = 4003;
/// The embedded page every overlay name serves.
const PAGE: &str = "overlay/index.html";

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum FromPage {
    Hello { key: String },
    Ack { id: String },
}

/// The key overlay pages present in their hello. It can be replaced while
/// the host runs (the dashboard's "regenerate"): pages holding the old one
/// are disconnected and told to fetch the new URL. Cloning is cheap.
#[derive(Clone)]
pub struct OverlayKey {
    inner: Arc<KeyInner>,
}

struct KeyInner {
    current: watch::Sender<Arc<str>>,
    /// Where a regenerated key is kept; `None` when the environment or the
    /// config file fixes the key.
    file: Option<PathBuf>,
    /// One regeneration at a time, so the file and memory never disagree.
    regenerating: Mutex<()>,
}

/// Why the overlay key could not be regenerated.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// `STAGEHAND_OVERLAY_KEY` (or the config file) sets the key.
    #[error(
        "the overlay key is fixed by STAGEHAND_OVERLAY_KEY (or overlay_key in the config file); change it there and restart"
    )]
    Fixed,
    /// The new key could not be written to the data directory.
    #[error("cannot store the new overlay key: {0}")]
    Io(#[from] std::io::Error),
}

impl OverlayKey {
    /// A key set from outside (environment or config file): never regenerated.
    pub fn fixed(key: &str) -> Self {
        Self::with(key, None)
    }

    /// A key kept in `file` (mode 0600): regenerating rewrites it.
    pub fn stored(key: &str, file: PathBuf) -> Self {
        Self::with(key, Some(file))
    }

    fn with(key: &str, file: Option<PathBuf>) -> Self {
        OverlayKey {
            inner: Arc::new(KeyInner {
                current: watch::Sender::new(Arc::from(key)),
                file,
                regenerating: Mutex::new(()),
            }),
        }
    }

    /// The key pages must present now.
    pub fn current(&self) -> Arc<str> {
        self.inner.current.borrow().clone()
    }

    /// Whether `presented` is the current key (in constant time).
    pub fn matches(&self, presented: &str) -> bool {
        constant_time_eq(presented.as_bytes(), self.current().as_bytes())
    }

    /// Whether the key comes from the environment or config file.
    pub fn is_fixed(&self) -> bool {
        self.inner.file.is_none()
    }

    /// Changes whenever the key is regenerated (sessions close on it).
    pub fn watch(&self) -> watch::Receiver<Arc<str>> {
        self.inner.current.subscribe()
    }

    /// Replaces the key with a fresh random one, stored before it takes
    /// effect (so a restart keeps it); returns it.
    pub async fn regenerate(&self) -> Result<Arc<str>, KeyError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let file = inner.file.as_ref().ok_or(KeyError::Fixed)?;
            let _one_at_a_time = inner.regenerating.lock().unwrap_or_else(|p| p.into_inner());
            let key: Arc<str> = Arc::from(secrets::generate());
            secrets::store(file, &key)?;
            inner.current.send_replace(key.clone());
            Ok(key)
        })
        .await
        .map_err(|e| KeyError::Io(std::io::Error::other(e.to_string())))?
    }
}

/// Pages connected (past a good hello) per overlay name, for the dashboard.
/// Every change is announced on the live feed (topic `overlays`).
#[derive(Clone)]
pub struct OverlayPages {
    counts: Arc<Mutex<BTreeMap<String, usize>>>,
    feed: LiveFeed,
}

/// One connected page: counted until dropped.
pub struct PageGuard {
    pages: OverlayPages,
    name: String,
}

impl OverlayPages {
    /// No pages yet; changes are published on `feed`.
    pub fn new(feed: LiveFeed) -> Self {
        OverlayPages {
            counts: Arc::default(),
            feed,
        }
    }

    /// Counts a page of overlay `name` until the guard is dropped.
    pub fn connect(&self, name: &str) -> PageGuard {
        *self.lock().entry(name.to_owned()).or_default() += 1;
        self.feed.publish(LiveMessage::OverlaysChanged);
        PageGuard {
            pages: self.clone(),
            name: name.to_owned(),
        }
    }

    /// Connected pages per overlay name (names with none are absent).
    pub fn counts(&self) -> BTreeMap<String, usize> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, usize>> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for PageGuard {
    fn drop(&mut self) {
        {
            let mut counts = self.pages.lock();
            if let Some(n) = counts.get_mut(&self.name) {
                *n -= 1;
                if *n == 0 {
                    counts.remove(&self.name);
                }
            }
        }
        self.pages.feed.publish(LiveMessage::OverlaysChanged);
    }
}

/// Tells the dashboard (topic `overlays`) whenever an alert is queued, so
/// its pending counts follow without polling. Ends at `stop`.
pub fn announce_queue_changes(
    queue: &OverlayQueue,
    feed: LiveFeed,
    stop: tokio_util::sync::CancellationToken,
) {
    let mut changed = queue.subscribe();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                result = changed.changed() => if result.is_err() { return },
            }
            feed.publish(LiveMessage::OverlaysChanged);
        }
    });
}

/// `GET /overlay/{name}`: the overlay page. The key is not part of the
/// request (it sits in the URL fragment, read by the page's script).
/// Its Content-Security-Policy lets media load from the hosts the streamer
/// granted to the running plugins and nowhere else.
pub async fn page(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !valid_overlay_name(&name) {
        return unknown_overlay(&name).into_response();
    }
    let policy = crate::actions::media::overlay_csp(&state.plugins.media_hosts());
    assets::serve_with_policy(PAGE, &headers, &policy)
}

/// The answer for a name that cannot be an overlay's.
pub(super) fn unknown_overlay(name: &str) -> ApiError {
    ApiError::not_found(format!(
        "no overlay named {name:?}: names are 1 to 32 of a-z, 0-9 and -"
    ))
}

/// Upgrades to the overlay socket.
pub async fn socket(
    Path(name): Path<String>,
    State(state): State<AppState>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    if !valid_overlay_name(&name) {
        return unknown_overlay(&name).into_response();
    }
    let ws = match ws {
        Ok(ws) => ws,
        Err(rejection) => {
            return ApiError::new(
                rejection.status(),
                "websocket_expected",
                rejection.body_text(),
            )
            .into_response();
        }
    };
    ws.max_message_size(MAX_MESSAGE)
        .read_buffer_size(READ_BUFFER)
        .on_upgrade(move |socket| session(state, name, socket))
}

async fn session(state: AppState, overlay: String, mut socket: WebSocket) {
    // The key is checked against the value this receiver has seen, so any
    // regeneration after the check (however soon) closes the session.
    let mut key_changes = state.overlay_key.watch();
    let hello = match tokio::time::timeout(HELLO_TIMEOUT, socket.recv()).await {
        Ok(Some(Ok(Message::Text(text)))) => serde_json::from_str::<FromPage>(&text).ok(),
        _ => return refuse(socket, "bad_hello", "no hello received").await,
    };
    let Some(FromPage::Hello { key }) = hello else {
        return refuse(
            socket,
            "bad_hello",
            "the first message must be {\"type\":\"hello\",\"key\":...}",
        )
        .await;
    };
    let current = key_changes.borrow_and_update().clone();
    if !constant_time_eq(key.as_bytes(), current.as_bytes()) {
        tracing::warn!(overlay, "overlay connection with a wrong key refused");
        return refuse(socket, "forbidden", "wrong overlay key").await;
    }
    let _counted = state.overlay_pages.connect(&overlay);
    tracing::info!(overlay, "overlay connected");
    // Watched before reading, so a pause or resume from now on is seen.
    let mut pauses = state.overlays.watch_pauses();
    // Subscribed before the welcome and before catching up: an alert queued
    // after the page saw its welcome reaches it by one way or the other
    // (what both deliver is sent once: `last_sent` orders them).
    let (fresh, horizon) = state.overlays.follow().await;
    let mut controls = state.overlays.controls();
    let paused = pauses.borrow_and_update().is_paused(&overlay);
    let mut page = Page {
        state: state.clone(),
        overlay: overlay.clone(),
        socket,
        last_sent: 0,
        horizon,
        paused,
        owed_since: None,
        // A paused page follows nothing: on resume it catches up from the
        // database and follows anew.
        fresh: (!paused).then_some(fresh),
        withdrawn: Default::default(),
    };
    if page
        .send(json!({"type": "welcome", "overlay": overlay, "paused": paused}))
        .await
        .is_err()
    {
        return;
    }
    if !paused && page.catch_up(horizon, CatchUp::Pending).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            alert = next_fresh(&mut page.fresh) => match alert {
                Ok(alert) => {
                    if page.fresh_alert(&alert).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(overlay, missed, "overlay page fell behind; catching up from the database");
                    if page.fell_behind().await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            changed = pauses.changed() => {
                if changed.is_err() {
                    return;
                }
                let now = pauses.borrow_and_update().clone();
                if page.follow_pause(&now).await.is_err() {
                    return;
                }
            }
            control = controls.recv() => match control {
                Ok(control) if control.applies_to(&overlay) => {
                    let message = match &*control {
                        OverlayControl::Skip { .. } => json!({"type": "skip"}),
                        OverlayControl::Reload => json!({"type": "reload"}),
                        OverlayControl::Cancel { ids, .. } => {
                            if page.withdrawn.len() > 1024 {
                                page.withdrawn.clear();
                            }
                            page.withdrawn.extend(ids.iter().cloned());
                            json!({"type": "cancel", "ids": ids})
                        }
                    };
                    if page.send(message).await.is_err() {
                        return;
                    }
                }
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            },
            message = page.socket.recv() => match message {
                Some(Ok(Message::Text(text))) => match serde_json::from_str::<FromPage>(&text) {
                    Ok(FromPage::Ack { id }) => match state.overlays.ack(&overlay, &id).await {
                        Ok(true) => {
                            state.feed.publish(LiveMessage::OverlaysChanged);
                            // It may have been speech: the queue page re-reads.
                            state.feed.publish(LiveMessage::SpeechChanged);
                        }
                        Ok(false) => {}
                        Err(e) => tracing::warn!(overlay, error = %e, "cannot record an acknowledgement"),
                    },
                    _ => tracing::debug!(overlay, "ignoring an unexpected overlay message"),
                },
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                    tracing::info!(overlay, "overlay disconnected");
                    return;
                }
                Some(Ok(_)) => {}
            },
            _ = key_changes.changed() => {
                tracing::info!(overlay, "overlay key regenerated; disconnecting a page holding the old one");
                return refuse(
                    page.socket,
                    "key_changed",
                    "the overlay key was regenerated: copy the overlay URL again from the dashboard",
                )
                .await;
            }
            _ = state.shutdown.cancelled() => {
                let _ = page.socket.send(Message::Close(Some(CloseFrame { code: 1001, reason: "host shutting down".into() }))).await;
                return;
            }
        }
    }
}

/// The next alert queued, or never while the page follows none (paused).
async fn next_fresh(
    fresh: &mut Option<broadcast::Receiver<Arc<FreshAlert>>>,
) -> Result<Arc<FreshAlert>, broadcast::error::RecvError> {
    match fresh {
        Some(receiver) => receiver.recv().await,
        None => std::future::pending().await,
    }
}

/// Which alerts a catch-up from the database sends.
#[derive(Debug, Clone, Copy)]
enum CatchUp {
    /// Those not acknowledged: what a page connecting is sent.
    Pending,
    /// All of them, acknowledged by other pages or not: what a connected
    /// page missed by falling behind (it was owed them all).
    Missed,
    /// What a page is owed when its overlay is resumed: what was pending
    /// at `since` (the resume) plus all that came after it subscribed.
    Owed { since: DateTime<Utc> },
}

/// One connected page: its socket and what it has been sent. Every method
/// fails (`Err`) only when the page is gone (a send failed or timed out).
struct Page {
    state: AppState,
    overlay: String,
    socket: WebSocket,
    /// Queue position of the last alert sent, so an alert that arrives by
    /// both the catch-up and the broadcast is sent once, in order.
    last_sent: i64,
    /// The last queue position committed when the page subscribed: every
    /// alert after it came while the page was connected, so it is owed
    /// them all (see [`OverlayQueue::follow`]).
    horizon: i64,
    /// The page was told its overlay is paused: it plays nothing new and is
    /// sent no alert until resumed.
    paused: bool,
    /// From a resume until its catch-up completed (a pause can cut it
    /// short): alerts pending at this time are owed even if another page
    /// acknowledges them meanwhile.
    owed_since: Option<DateTime<Utc>>,
    /// Alerts as they are queued; None while paused (nothing is sent then,
    /// and the resume catches up from the database instead).
    fresh: Option<broadcast::Receiver<Arc<FreshAlert>>>,
    /// Withdrawn while possibly still on their way here: never sent.
    withdrawn: std::collections::HashSet<String>,
}

impl Page {
    async fn send(&mut self, message: Value) -> Result<(), ()> {
        self.send_text(message.to_string()).await
    }

    async fn send_text(&mut self, text: String) -> Result<(), ()> {
        if send_text(&mut self.socket, text).await.is_err() {
            tracing::info!(
                overlay = self.overlay,
                "overlay disconnected (send failed or timed out)"
            );
            return Err(());
        }
        Ok(())
    }

    /// Whether this page's overlay is paused now (perhaps before the
    /// session has heard of it: checked before every alert it sends).
    fn paused_now(&self) -> bool {
        self.state.overlays.is_paused(&self.overlay)
    }

    /// An alert just queued: sent if it is this overlay's and not sent yet,
    /// held back (and the page told to hold) if the overlay is paused.
    async fn fresh_alert(&mut self, fresh: &FreshAlert) -> Result<(), ()> {
        let alert = &fresh.alert;
        if self.withdrawn.remove(&alert.id) {
            return Ok(());
        }
        if alert.overlay != self.overlay || alert.rowid <= self.last_sent {
            return Ok(());
        }
        if self.paused_now() {
            return self.hold().await;
        }
        let text = fresh
            .message
            .get_or_init(|| alert_message(alert).to_string());
        self.send_text(text.clone()).await?;
        self.last_sent = alert.rowid;
        if fresh.first_send() {
            record_sent(&self.state.overlays, vec![alert.id.clone()]);
        }
        Ok(())
    }

    /// The page fell behind the broadcast: catch up from the database to
    /// just before the oldest alert still buffered (see
    /// [`OverlayQueue::follow`]), then go on with that one.
    async fn fell_behind(&mut self) -> Result<(), ()> {
        let next = loop {
            match next_fresh(&mut self.fresh).await {
                Ok(next) => break next,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return Err(()),
            }
        };
        // Everything in between was on its way here: acknowledged by
        // other pages or not, this page is owed it.
        if !self.catch_up(next.alert.rowid - 1, CatchUp::Missed).await? {
            return self.hold().await;
        }
        self.fresh_alert(&next).await
    }

    /// Follows a change of the paused overlays (any overlay's: only this
    /// one's matters).
    async fn follow_pause(&mut self, pauses: &Pauses) -> Result<(), ()> {
        let paused = pauses.is_paused(&self.overlay);
        if paused && !self.paused {
            self.hold().await
        } else if !paused && self.paused {
            let since = pauses.resumed_at(&self.overlay).unwrap_or_else(now_ms);
            self.resume(since).await
        } else {
            Ok(())
        }
    }

    /// The overlay is paused: the page finishes what it plays and holds the
    /// rest; nothing more is sent until the resume.
    async fn hold(&mut self) -> Result<(), ()> {
        if self.paused {
            return Ok(());
        }
        self.paused = true;
        self.fresh = None;
        tracing::debug!(overlay = self.overlay, "overlay page paused");
        self.send(json!({"type": "pause"})).await
    }

    /// The overlay was resumed at `since`: the page plays what it holds, and
    /// is sent what it is owed from the database, then follows anew.
    async fn resume(&mut self, since: DateTime<Utc>) -> Result<(), ()> {
        self.paused = false;
        // A resume cut short by a pause still owes what was pending then.
        let since = self.owed_since.map_or(since, |earlier| earlier.min(since));
        self.owed_since = Some(since);
        tracing::debug!(overlay = self.overlay, "overlay page resumed");
        self.send(json!({"type": "resume"})).await?;
        let (fresh, upto) = self.state.overlays.follow().await;
        self.fresh = Some(fresh);
        if self.catch_up(upto, CatchUp::Owed { since }).await? {
            self.owed_since = None;
        } else {
            self.hold().await?;
        }
        Ok(())
    }

    /// Sends the alerts after `last_sent` and up to `upto` from the
    /// database, `which` says which. Ok(false) when the overlay was paused
    /// meanwhile: the rest waits for the resume.
    async fn catch_up(&mut self, upto: i64, which: CatchUp) -> Result<bool, ()> {
        loop {
            if self.paused_now() {
                return Ok(false);
            }
            let overlays = &self.state.overlays;
            let (overlay, after) = (self.overlay.as_str(), self.last_sent);
            let read = match which {
                CatchUp::Pending => overlays.pending(overlay, after, upto).await,
                CatchUp::Missed => overlays.missed(overlay, after, upto).await,
                CatchUp::Owed { since } => {
                    overlays
                        .owed(overlay, after, upto, self.horizon, since)
                        .await
                }
            };
            let pending = match read {
                Ok(pending) => pending,
                Err(e) => {
                    // The fresh alerts still flow; the next lag or reconnect retries.
                    tracing::error!(overlay, error = %e, "cannot read the alert queue");
                    return Ok(true);
                }
            };
            if pending.is_empty() {
                return Ok(true);
            }
            let mut ids = Vec::with_capacity(pending.len());
            for alert in &pending {
                if self.paused_now() {
                    record_sent(&self.state.overlays, ids);
                    return Ok(false);
                }
                self.send(alert_message(alert)).await?;
                self.last_sent = alert.rowid;
                ids.push(alert.id.clone());
            }
            record_sent(&self.state.overlays, ids);
        }
    }
}

/// Counts the sends (the `resent` flag next time) off the delivery path.
fn record_sent(overlays: &OverlayQueue, ids: Vec<String>) {
    let overlays = overlays.clone();
    tokio::spawn(async move {
        if let Err(e) = overlays.mark_sent(ids).await {
            tracing::warn!(error = %e, "cannot record sent alerts");
        }
    });
}

fn alert_message(alert: &QueuedAlert) -> Value {
    let mut message = json!({
        "type": "alert",
        "id": alert.id,
        "overlay": alert.overlay,
        "event_id": alert.event_id,
        "plugin": alert.plugin,
        "resent": alert.sent_count > 0,
    });
    if let (Some(out), Some(fields)) = (message.as_object_mut(), alert.payload.as_object()) {
        for (k, v) in fields {
            out.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    message
}

async fn send(socket: &mut WebSocket, message: Value) -> Result<(), ()> {
    send_text(socket, message.to_string()).await
}

async fn send_text(socket: &mut WebSocket, text: String) -> Result<(), ()> {
    match tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(text.into()))).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

async fn refuse(mut socket: WebSocket, code: &str, message: &str) {
    let _ = send(
        &mut socket,
        json!({"type": "error", "code": code, "message": message}),
    )
    .await;
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code: CLOSE_FORBIDDEN,
            reason: code.to_owned().into(),
        })))
        .await;
}

/// `POST /api/overlay/key`: a fresh overlay key. Pages holding the old one
/// are disconnected (they show "copy the overlay URL again"); answers with
/// the new URL of the default overlay. 409 when the environment fixes the key.
pub async fn regenerate_key(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let disconnected: usize = state.overlay_pages.counts().values().sum();
    match state.overlay_key.regenerate().await {
        Ok(key) => {
            tracing::info!(disconnected, "overlay key regenerated");
            state.feed.publish(LiveMessage::OverlaysChanged);
            let url = overlay_url(&base_url(&headers), DEFAULT_OVERLAY, &key);
            let mut response = ApiJson(json!({
                "overlay": DEFAULT_OVERLAY,
                "url": url,
                "key": &*key,
                "disconnected": disconnected,
            }))
            .into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, "no-store".parse().unwrap());
            response
        }
        Err(KeyError::Fixed) => ApiError::new(
            StatusCode::CONFLICT,
            "fixed_by_environment",
            KeyError::Fixed.to_string(),
        )
        .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "overlay key regeneration failed");
            ApiError::unavailable(e.to_string()).into_response()
        }
    }
}

/// `http://<host>` from the request's Host header, so the URL works from
/// where the dashboard was opened; empty (a relative URL) when the header is
/// missing or not a plain host[:port].
pub(super) fn base_url(headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .map(|h| format!("http://{h}"))
        .unwrap_or_default()
}

/// The page URL with the key in the fragment (never sent to a server).
pub(super) fn overlay_url(base: &str, name: &str, key: &str) -> String {
    format!("{base}/overlay/{name}#key={key}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stored_key_is_regenerated_on_disk_and_a_fixed_one_never() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("overlay.key");
        let key = OverlayKey::stored("first-key-0123456789", file.clone());
        let changes = key.watch();
        assert!(key.matches("first-key-0123456789"));
        let new = key.regenerate().await.unwrap();
        assert!(changes.has_changed().unwrap());
        assert!(!key.matches("first-key-0123456789"));
        assert!(key.matches(&new));
        assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), &*new);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);

        let fixed = OverlayKey::fixed("env-key-0123456789");
        assert!(fixed.is_fixed());
        assert!(matches!(fixed.regenerate().await, Err(KeyError::Fixed)));
        assert!(fixed.matches("env-key-0123456789"));
    }

    #[tokio::test]
    async fn pages_are_counted_per_overlay_and_each_change_is_announced() {
        let feed = LiveFeed::new(16);
        let mut sub = feed.subscribe();
        let pages = OverlayPages::new(feed);
        let a = pages.connect("alerts");
        let b = pages.connect("alerts");
        let c = pages.connect("chat");
        assert_eq!(pages.counts().get("alerts"), Some(&2));
        drop(a);
        drop(c);
        assert_eq!(
            pages.counts().into_iter().collect::<Vec<_>>(),
            vec![("alerts".to_owned(), 1)]
        );
        drop(b);
        assert!(pages.counts().is_empty());
        for _ in 0..6 {
            assert!(matches!(
                sub.recv().await,
                crate::live::Received::Message(LiveMessage::OverlaysChanged)
            ));
        }
    }

    #[test]
    fn the_overlay_url_comes_from_a_plain_host_header_only() {
        let mut h = HeaderMap::new();
        assert_eq!(base_url(&h), "");
        h.insert(header::HOST, "127.0.0.1:7878".parse().unwrap());
        assert_eq!(base_url(&h), "http://127.0.0.1:7878");
        assert_eq!(
            overlay_url(&base_url(&h), "alerts", "k"),
            "http://127.0.0.1:7878/overlay/alerts#key=k"
        );
        h.insert(header::HOST, "evil\"<x>".parse().unwrap());
        assert_eq!(base_url(&h), "");
    }
}
