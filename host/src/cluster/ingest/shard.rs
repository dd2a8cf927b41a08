//! One conduit shard held by this node: a WebSocket session to EventSub,
//! assigned to the shard, whose notifications (any channel of the conduit)
//! are normalised and published to the event stream with the Twitch message
//! id as the stream's message id. On a drop the session is made again and
//! re-assigned; Twitch keeps the shard disabled (and sends its notifications
//! to the other shards) meanwhile.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use super::IngestShared;
use crate::cluster::envelope::Envelope;
use crate::cluster::subjects::ChannelSubject;
use crate::twitch::eventsub::protocol::{self, Message as Frame};
use crate::twitch::normalize::normalize;

/// How long a new socket may take to say welcome.
const WELCOME_TIMEOUT: Duration = Duration::from_secs(10);
/// Slack on top of Twitch's keepalive window before the socket counts as dead.
const KEEPALIVE_SLACK: Duration = Duration::from_secs(5);

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Keeps `shard` of `conduit` served until `cancel`.
pub async fn run(
    shared: Arc<IngestShared>,
    conduit: String,
    shard: u32,
    cancel: CancellationToken,
) {
    let mut pause = Duration::from_millis(250);
    let check = format!("shard {shard}");
    while !cancel.is_cancelled() {
        match serve(&shared, &conduit, shard, &cancel).await {
            Ok(()) => return,
            Err(why) => {
                tracing::warn!(
                    shard,
                    "shard session ended, reconnecting in {pause:?}: {why}"
                );
                shared.ready.set(&check, Err(why));
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(pause) => {}
                }
                pause = (pause * 2).min(Duration::from_secs(10));
            }
        }
    }
}

/// One session: connect, assign, read until it drops (Err) or `cancel` (Ok).
async fn serve(
    shared: &Arc<IngestShared>,
    conduit: &str,
    shard: u32,
    cancel: &CancellationToken,
) -> Result<(), String> {
    let (mut socket, session_id, keepalive) = open(&shared.eventsub_url).await?;
    shared
        .app
        .assign_shard(conduit, shard, &session_id)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(shard, session_id = %session_id, "shard assigned");
    shared.ready.set(&format!("shard {shard}"), Ok(()));
    let mut window = keepalive;
    loop {
        let next = tokio::select! {
            _ = cancel.cancelled() => {
                let _ = socket.close(None).await;
                return Ok(());
            }
            next = tokio::time::timeout(window, socket.next()) => next,
        };
        let text = match next {
            Err(_) => return Err(format!("no message within {window:?}")),
            Ok(None) => return Err("the socket closed".into()),
            Ok(Some(Err(e))) => return Err(format!("socket error: {e}")),
            Ok(Some(Ok(Message::Text(text)))) => text,
            Ok(Some(Ok(Message::Close(frame)))) => {
                return Err(format!(
                    "Twitch closed the socket: {}",
                    frame
                        .map(|f| format!("{} {}", u16::from(f.code), f.reason))
                        .unwrap_or_default()
                ));
            }
            Ok(Some(Ok(Message::Ping(payload)))) => {
                let _ = socket.send(Message::Pong(payload)).await;
                continue;
            }
            Ok(Some(Ok(_))) => continue,
        };
        let frame = match protocol::parse_frame(&text) {
            Ok(frame) => frame,
            Err(e) => {
                tracing::warn!(shard, "unreadable EventSub frame dropped: {e}");
                shared.metrics.malformed(1);
                continue;
            }
        };
        if frame.is_stale(Utc::now()) {
            tracing::warn!(shard, message_id = %frame.metadata.message_id, "stale EventSub frame dropped");
            continue;
        }
        match frame.message {
            Frame::Keepalive => {}
            Frame::Notification {
                subscription,
                event,
            } => {
                if subscription.kind == "conduit.shard.disabled" {
                    tracing::warn!(
                        shard_id = %event["shard_id"].as_str().unwrap_or(""),
                        status = %event["status"].as_str().unwrap_or(""),
                        "Twitch disabled a conduit shard; its holder will assign a new session"
                    );
                    shared.shard_disabled.notify_one();
                    continue;
                }
                publish(
                    shared,
                    &subscription.kind,
                    &frame.metadata.message_id,
                    &event,
                )
                .await;
            }
            Frame::Reconnect(session) => {
                // Connect to the new address first, then leave the old one
                // (closing first would lose what arrives in between).
                let url = session.reconnect_url.unwrap_or_default();
                let (new_socket, new_id, new_keepalive) = open(&url).await?;
                shared
                    .app
                    .assign_shard(conduit, shard, &new_id)
                    .await
                    .map_err(|e| e.to_string())?;
                let _ = socket.close(None).await;
                socket = new_socket;
                window = new_keepalive;
                tracing::info!(shard, session_id = %new_id, "shard moved to a new session");
            }
            Frame::Revocation(subscription) => {
                tracing::warn!(
                    kind = %subscription.kind,
                    "Twitch revoked a subscription: {}",
                    subscription.revocation_reason().describe()
                );
            }
            Frame::Welcome(_) | Frame::Unknown { .. } => {}
        }
    }
}

/// Connects and waits for the welcome: the socket, its session id and how
/// long it may stay silent.
async fn open(url: &str) -> Result<(Socket, String, Duration), String> {
    let (mut socket, _) = tokio::time::timeout(
        WELCOME_TIMEOUT,
        tokio_tungstenite::connect_async_with_config(url, None, true),
    )
    .await
    .map_err(|_| "no connection within 10 s".to_owned())?
    .map_err(|e| format!("cannot connect to EventSub: {e}"))?;
    let welcome = tokio::time::timeout(WELCOME_TIMEOUT, async {
        while let Some(message) = socket.next().await {
            if let Ok(Message::Text(text)) = message
                && let Ok(frame) = protocol::parse_frame(&text)
                && let Frame::Welcome(session) = frame.message
            {
                return Some(session);
            }
        }
        None
    })
    .await
    .map_err(|_| "no welcome within 10 s".to_owned())?
    .ok_or_else(|| "the socket closed before its welcome".to_owned())?;
    let keepalive = Duration::from_secs(welcome.keepalive_timeout_seconds.unwrap_or(10).into())
        + KEEPALIVE_SLACK;
    Ok((socket, welcome.id, keepalive))
}

/// Normalises a notification and publishes it; a channel id that cannot be
/// a subject token (hostile or broken payload) is dropped with a warning.
async fn publish(
    shared: &Arc<IngestShared>,
    kind: &str,
    message_id: &str,
    event: &serde_json::Value,
) {
    let received_at = Utc::now();
    let normalized = normalize(kind, message_id, event, received_at);
    for warning in &normalized.warnings {
        tracing::debug!(message_id, "{warning}");
    }
    let Ok(channel) = ChannelSubject::parse(&normalized.event.channel_id) else {
        tracing::warn!(
            message_id,
            kind,
            "notification without a valid broadcaster id dropped"
        );
        shared.metrics.malformed(1);
        return;
    };
    shared.metrics.events_in(None, 1);
    let envelope = Envelope {
        event: normalized.event,
        received_at,
    };
    shared
        .publisher
        .publish(channel, message_id.to_owned(), envelope.encode())
        .await;
}
