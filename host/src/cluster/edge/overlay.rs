//! The overlay socket on an edge, speaking the single-host protocol so the
//! same overlay page works: the page says `{"type":"hello","key":K}`, the
//! key names the channel, and the edge sends that overlay's alerts not yet
//! acknowledged (from PostgreSQL), then new ones as workers publish them.
//! Acks go to PostgreSQL, so a page that reconnects to another edge gets
//! exactly what it has not acknowledged. A published alert this socket missed
//! (NATS reconnect, a slow socket) is found by the periodic re-read.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::Instrument;

use super::EdgeState;
use super::auth::digest;
use crate::actions::alerts::valid_overlay_name;
use crate::storage::QueuedAlert;
use crate::web::error::ApiError;

/// How long a page may take to say hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// A socket that does not take a message within this is dropped.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a socket re-reads its unacknowledged alerts. Each socket starts
/// its ticks at a random point of the period, so an edge's sockets (which
/// often connect together, after a restart) do not query at one instant.
const REREAD: Duration = Duration::from_secs(2);
/// The most alerts sent from one read.
const BACKLOG: u32 = 200;
/// Close code for a refused key (the page stops retrying).
const FORBIDDEN: u16 = 4003;

/// `GET /overlay/{name}`: the overlay page (the key is in its URL fragment).
pub async fn page(Path(name): Path<String>, headers: HeaderMap) -> Response {
    if !valid_overlay_name(&name) {
        return ApiError::not_found(format!(
            "no overlay named {name:?}: names are 1 to 32 of a-z, 0-9 and -"
        ))
        .into_response();
    }
    let policy = crate::actions::media::overlay_csp(&Default::default());
    crate::web::assets::serve_with_policy("overlay/index.html", &headers, &policy)
}

/// `GET /overlay/{name}/ws`.
pub async fn socket(
    Path(name): Path<String>,
    State(state): State<EdgeState>,
    ws: WebSocketUpgrade,
) -> Response {
    if !valid_overlay_name(&name) {
        return ApiError::not_found(format!("no overlay named {name:?}")).into_response();
    }
    ws.max_message_size(16 * 1024)
        .on_upgrade(move |socket| session(state, name, socket))
}

#[derive(Deserialize)]
struct Incoming {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    id: Option<String>,
}

async fn session(state: EdgeState, overlay: String, mut socket: WebSocket) {
    let _open = state.metrics.overlay_socket();
    let Some(channel) = hello(&state, &mut socket).await else {
        return;
    };
    let span = tracing::info_span!("overlay", channel_id = %channel, overlay = %overlay);
    serve_page(state, overlay, socket, channel)
        .instrument(span)
        .await
}

/// Serves an authenticated page of `channel` until it or the edge goes.
async fn serve_page(state: EdgeState, overlay: String, mut socket: WebSocket, channel: String) {
    // Follow new alerts before reading the backlog, so none falls between.
    let mut live = state.alerts.subscribe(&channel);
    if send(
        &mut socket,
        json!({"type": "welcome", "overlay": overlay, "paused": false}),
    )
    .await
    .is_err()
    {
        return;
    }
    let mut sent = Sent::default();
    if reread(&state, &channel, &overlay, &mut socket, &mut sent)
        .await
        .is_err()
    {
        return;
    }
    let phase = REREAD.mul_f64(rand::random::<f64>());
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + phase, REREAD);
    loop {
        tokio::select! {
            _ = state.stop.cancelled() => {
                let _ = socket.send(Message::Close(Some(CloseFrame { code: 1012, reason: "edge restarting".into() }))).await;
                return;
            }
            published = live.rx.recv() => match published {
                Ok(bytes) => {
                    let Ok(message) = serde_json::from_slice::<Value>(&bytes) else { continue };
                    if message["overlay"].as_str() != Some(overlay.as_str()) {
                        continue;
                    }
                    let Some(id) = message["id"].as_str().map(str::to_owned) else { continue };
                    if !sent.first_time(id) {
                        continue;
                    }
                    if let Some(at) = message["received_at"].as_str().and_then(|t| t.parse::<DateTime<Utc>>().ok()) {
                        state.metrics.observe_overlay_sent((Utc::now() - at).to_std().unwrap_or_default());
                    }
                    if send(&mut socket, published_message(&message)).await.is_err() {
                        return;
                    }
                    state.metrics.events_out(None, 1);
                }
                // Fell behind: the database has everything.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    if reread(&state, &channel, &overlay, &mut socket, &mut sent).await.is_err() {
                        return;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            },
            _ = tick.tick() => {
                if reread(&state, &channel, &overlay, &mut socket, &mut sent).await.is_err() {
                    return;
                }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    let Ok(message) = serde_json::from_str::<Incoming>(&text) else { continue };
                    if message.kind == "ack"
                        && let Some(id) = message.id
                        && id.len() <= 128
                    {
                        sent.acked(&id);
                        match state.store.ack_alert(&channel, &overlay, &id).await {
                            Ok(true) => state.metrics.overlay_ack(),
                            Ok(false) => {}
                            Err(e) => tracing::warn!("cannot record an overlay ack: {e}"),
                        }
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

/// Waits for the page's hello and finds the channel its key belongs to; a
/// wrong key is told why and closed with 4003.
async fn hello(state: &EdgeState, socket: &mut WebSocket) -> Option<String> {
    let first = tokio::time::timeout(HELLO_TIMEOUT, socket.recv()).await;
    let key = match first {
        Ok(Some(Ok(Message::Text(text)))) => serde_json::from_str::<Incoming>(&text)
            .ok()
            .filter(|m| m.kind == "hello")
            .and_then(|m| m.key),
        _ => None,
    };
    let channel = match key {
        Some(key) if !key.is_empty() && key.len() <= 256 => {
            match state.store.channel_by_overlay_key(&digest(&key)).await {
                Ok(found) => found,
                Err(e) => {
                    tracing::warn!("cannot check an overlay key: {e}");
                    let _ = socket
                        .send(Message::Close(Some(CloseFrame {
                            code: 1011,
                            reason: "storage unavailable".into(),
                        })))
                        .await;
                    return None;
                }
            }
        }
        _ => None,
    };
    if channel.is_none() {
        let _ = send(
            socket,
            json!({"type": "error", "code": "bad_key", "message": "overlay key refused"}),
        )
        .await;
        let _ = socket
            .send(Message::Close(Some(CloseFrame {
                code: FORBIDDEN,
                reason: "overlay key refused".into(),
            })))
            .await;
    }
    channel
}

/// Sends the overlay's unacknowledged alerts this socket has not sent yet.
async fn reread(
    state: &EdgeState,
    channel: &str,
    overlay: &str,
    socket: &mut WebSocket,
    sent: &mut Sent,
) -> Result<(), ()> {
    let waiting = match state.store.unacked_alerts(channel, overlay, BACKLOG).await {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!("cannot read waiting alerts: {e}");
            return Ok(());
        }
    };
    let ids: HashSet<&str> = waiting.iter().map(|a| a.id.as_str()).collect();
    sent.forget_done(&ids);
    for alert in &waiting {
        if sent.first_time(alert.id.clone()) {
            send(socket, stored_message(alert)).await?;
        }
    }
    Ok(())
}

/// What one socket has sent: alerts waiting for the page's ack, and the ids
/// of recent ones acknowledged (here or by another page), so a published
/// copy still in flight is not shown again.
#[derive(Default)]
struct Sent {
    waiting: HashSet<String>,
    done: HashSet<String>,
    done_order: VecDeque<String>,
}

/// Acknowledged ids remembered per socket.
const DONE_KEPT: usize = 4096;

impl Sent {
    /// Whether `id` is new to this socket (and now counts as sent).
    fn first_time(&mut self, id: String) -> bool {
        if self.done.contains(&id) {
            return false;
        }
        self.waiting.insert(id)
    }

    fn acked(&mut self, id: &str) {
        if self.waiting.remove(id) {
            self.remember(id.to_owned());
        }
    }

    /// Sent alerts no longer waiting in the database were acknowledged
    /// (perhaps by another page): they are done.
    fn forget_done(&mut self, still_waiting: &HashSet<&str>) {
        let gone: Vec<String> = self
            .waiting
            .iter()
            .filter(|id| !still_waiting.contains(id.as_str()))
            .cloned()
            .collect();
        for id in gone {
            self.waiting.remove(&id);
            self.remember(id);
        }
    }

    fn remember(&mut self, id: String) {
        if self.done.insert(id.clone()) {
            self.done_order.push_back(id);
        }
        while self.done_order.len() > DONE_KEPT {
            if let Some(old) = self.done_order.pop_front() {
                self.done.remove(&old);
            }
        }
    }
}

/// An alert from the database, as the page receives it.
fn stored_message(alert: &QueuedAlert) -> Value {
    merge(
        json!({
            "type": "alert",
            "id": alert.id,
            "overlay": alert.overlay,
            "event_id": alert.event_id,
            "plugin": alert.plugin,
        }),
        &alert.body,
    )
}

/// An alert a worker published, as the page receives it.
fn published_message(message: &Value) -> Value {
    merge(
        json!({
            "type": "alert",
            "id": message["id"],
            "overlay": message["overlay"],
            "event_id": message["event_id"],
            "plugin": message["plugin"],
        }),
        &message["alert"],
    )
}

fn merge(mut out: Value, fields: &Value) -> Value {
    if let (Some(out), Some(fields)) = (out.as_object_mut(), fields.as_object()) {
        for (k, v) in fields {
            out.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    out
}

async fn send(socket: &mut WebSocket, message: Value) -> Result<(), ()> {
    match tokio::time::timeout(
        SEND_TIMEOUT,
        socket.send(Message::Text(message.to_string().into())),
    )
    .await
    {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}
