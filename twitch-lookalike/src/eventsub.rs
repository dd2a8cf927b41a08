//! The EventSub WebSocket endpoint `/ws`: one task per connection that
//! sends the welcome, then whatever the hub routes to it, keepalives when
//! it has been quiet, and closes as Twitch does (4001 when the client
//! sends anything but pongs, 4003 when nothing was subscribed in time,
//! 4007 for an unknown reconnect URL). Pings are answered by the WebSocket
//! layer itself.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::json;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::time::{Instant, sleep_until};

use super::hub::Outgoing;
use super::ids;
use super::params::Params;
use super::{Shared, lock};
use crate::wire::{CloseCode, keepalive_frame, welcome_frame};

/// Default keepalive window when the client asks for none.
const DEFAULT_KEEPALIVE_SECS: u32 = 10;
/// Largest window Twitch accepts.
const MAX_KEEPALIVE_SECS: u32 = 600;

/// `GET /ws[?keepalive_timeout_seconds=N][?reconnect=TOKEN]`.
pub(super) async fn upgrade(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    ws: WebSocketUpgrade,
) -> Response {
    let params = Params::parse(query.as_deref());
    if let Some(token) = params.get("reconnect") {
        let token = token.to_owned();
        return ws.on_upgrade(move |socket| reconnected(shared, socket, token));
    }
    let min = shared
        .options
        .min_keepalive_secs
        .clamp(1, MAX_KEEPALIVE_SECS);
    let keepalive = match params.get("keepalive_timeout_seconds") {
        None => DEFAULT_KEEPALIVE_SECS.max(min),
        Some(text) => match text.parse::<u32>() {
            Ok(secs) if (min..=MAX_KEEPALIVE_SECS).contains(&secs) => secs,
            _ => {
                let message = format!(
                    "keepalive_timeout_seconds must be between {min} and {MAX_KEEPALIVE_SECS}"
                );
                let body = json!({"error": "Bad Request", "status": 400, "message": message});
                return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
            }
        },
    };
    ws.on_upgrade(move |socket| connected(shared, socket, keepalive))
}

/// A new connection: register, welcome, serve with a subscribe deadline.
async fn connected(shared: Arc<Shared>, socket: WebSocket, keepalive: u32) {
    let (tx, rx) = unbounded_channel();
    let now = Utc::now();
    let session_id = lock(&shared.hub).connect(keepalive, tx, now);
    let welcome = welcome_frame(&ids::message_id(), &session_id, keepalive, now);
    let deadline = Instant::now() + shared.options.subscribe_deadline;
    serve(
        shared,
        socket,
        session_id,
        keepalive,
        rx,
        vec![welcome],
        Some(deadline),
    )
    .await;
}

/// A connection to a reconnect URL: take over the old session (new id,
/// same subscriptions), welcome, then the frames buffered meanwhile.
async fn reconnected(shared: Arc<Shared>, mut socket: WebSocket, token: String) {
    let (tx, rx) = unbounded_channel();
    let now = Utc::now();
    let migrated = lock(&shared.hub).migrate(&token, tx, now);
    let Some((session_id, keepalive, buffered)) = migrated else {
        let code = CloseCode::InvalidReconnect;
        let _ = socket
            .send(Message::Close(Some(CloseFrame {
                code: code.code(),
                reason: "invalid reconnect url".into(),
            })))
            .await;
        return;
    };
    let mut first = vec![welcome_frame(
        &ids::message_id(),
        &session_id,
        keepalive,
        now,
    )];
    first.extend(buffered);
    // Moved subscriptions count as subscribed; a session reconnected before
    // it subscribed still has the usual deadline.
    let deadline = Instant::now() + shared.options.subscribe_deadline;
    serve(
        shared,
        socket,
        session_id,
        keepalive,
        rx,
        first,
        Some(deadline),
    )
    .await;
}

/// How long the socket may stay quiet before a keepalive goes out: a bit
/// under the window, so a client timing the window exactly is not misled
/// by scheduling jitter.
fn keepalive_idle(keepalive_secs: u32) -> Duration {
    let window = Duration::from_secs(u64::from(keepalive_secs));
    window
        .mul_f64(0.9)
        .min(window.saturating_sub(Duration::from_millis(200)))
}

async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    let frame = CloseFrame {
        code,
        reason: reason.to_owned().into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

/// The connection loop. Every server-side close is decided in the hub
/// first (so a subscription request racing with it sees the session
/// gone); when the loop ends on the client's side, the hub hears of it.
async fn serve(
    shared: Arc<Shared>,
    mut socket: WebSocket,
    session_id: String,
    keepalive_secs: u32,
    mut rx: UnboundedReceiver<Outgoing>,
    first: Vec<String>,
    mut deadline: Option<Instant>,
) {
    let idle = keepalive_idle(keepalive_secs);
    let far_future = Instant::now() + Duration::from_secs(86_400 * 365);
    let mut keepalives = true;
    let mut client_code: Option<u16> = None;
    for frame in first {
        if socket.send(Message::text(frame)).await.is_err() {
            lock(&shared.hub).socket_ended(&session_id, None, Utc::now());
            return;
        }
    }
    let mut last_sent = Instant::now();
    loop {
        tokio::select! {
            () = shared.cancel.cancelled() => break,
            outgoing = rx.recv() => match outgoing {
                Some(Outgoing::Frame(text)) => {
                    if socket.send(Message::text(text)).await.is_err() {
                        break;
                    }
                    last_sent = Instant::now();
                }
                Some(Outgoing::Close { code, reason }) => {
                    close(&mut socket, code, &reason).await;
                    break;
                }
                Some(Outgoing::Drop) | None => break,
                Some(Outgoing::Keepalives(on)) => {
                    keepalives = on;
                    last_sent = Instant::now();
                }
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(_) | Message::Binary(_))) => {
                    let code = CloseCode::ClientSentInboundTraffic.code();
                    lock(&shared.hub).close_session(&session_id, Some(code), Utc::now());
                    close(&mut socket, code, "client sent inbound traffic").await;
                    break;
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(frame))) => {
                    client_code = frame.map(|f| f.code);
                    break;
                }
                Some(Err(_)) | None => break,
            },
            () = sleep_until(last_sent + idle), if keepalives => {
                let frame = keepalive_frame(&ids::message_id(), Utc::now());
                if socket.send(Message::text(frame)).await.is_err() {
                    break;
                }
                last_sent = Instant::now();
            }
            () = sleep_until(deadline.unwrap_or(far_future)), if deadline.is_some() => {
                deadline = None;
                if lock(&shared.hub).close_if_unused(&session_id, Utc::now()) {
                    close(&mut socket, CloseCode::ConnectionUnused.code(), "connection unused").await;
                    break;
                }
            }
        }
    }
    lock(&shared.hub).socket_ended(&session_id, client_code, Utc::now());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalives_go_out_a_little_before_the_window_ends() {
        assert_eq!(keepalive_idle(10), Duration::from_secs(9));
        assert_eq!(keepalive_idle(1), Duration::from_millis(800));
        assert_eq!(keepalive_idle(2), Duration::from_millis(1800));
    }
}
