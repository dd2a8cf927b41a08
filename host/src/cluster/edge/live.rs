//! The channel dashboard on an edge: its page, and the live socket that
//! streams the channel's new events as workers store them. Browsers cannot
//! put a token in a WebSocket request's headers, so the socket's first
//! message carries it (`{"type":"hello","token":T}`), as the overlay's does
//! its key.

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::EdgeState;
use super::auth::digest;

const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// `GET /`: the channel dashboard (it asks for the channel's token).
pub async fn dashboard(headers: HeaderMap) -> Response {
    crate::web::assets::serve("cluster/index.html", &headers)
}

#[derive(Deserialize)]
struct Hello {
    #[serde(rename = "type")]
    kind: String,
    token: String,
}

/// `GET /api/live`: new events of the token's channel.
pub async fn socket(State(state): State<EdgeState>, ws: WebSocketUpgrade) -> Response {
    ws.max_message_size(4096)
        .on_upgrade(move |socket| session(state, socket))
}

async fn session(state: EdgeState, mut socket: WebSocket) {
    let first = tokio::time::timeout(HELLO_TIMEOUT, socket.recv()).await;
    let token = match first {
        Ok(Some(Ok(Message::Text(text)))) => serde_json::from_str::<Hello>(&text)
            .ok()
            .filter(|h| h.kind == "hello" && h.token.len() <= 256)
            .map(|h| h.token),
        _ => None,
    };
    let channel = match token {
        Some(token) => state
            .store
            .channel_by_dashboard_token(&digest(&token))
            .await
            .ok()
            .flatten(),
        None => None,
    };
    let Some(channel) = channel else {
        let _ = socket
            .send(Message::Text(
                json!({"type": "error", "code": "unauthorized", "message": "token refused"})
                    .to_string()
                    .into(),
            ))
            .await;
        let _ = socket
            .send(Message::Close(Some(CloseFrame {
                code: 4003,
                reason: "token refused".into(),
            })))
            .await;
        return;
    };
    let mut live = state.live.subscribe(&channel);
    if send(
        &mut socket,
        json!({"type": "welcome", "channel": channel}).to_string(),
    )
    .await
    .is_err()
    {
        return;
    }
    loop {
        tokio::select! {
            _ = state.stop.cancelled() => return,
            message = live.rx.recv() => match message {
                Ok(bytes) => {
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    if send(&mut socket, text).await.is_err() {
                        return;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    let note = json!({"type": "lagged", "missed": n}).to_string();
                    if send(&mut socket, note).await.is_err() {
                        return;
                    }
                }
                Err(_) => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

async fn send(socket: &mut WebSocket, text: String) -> Result<(), ()> {
    match tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(text.into()))).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}
