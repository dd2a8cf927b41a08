//! The overlay socket, `GET /overlay/{name}/ws`: the page's first message
//! is `{"type":"hello","key":K}`; then the host sends every alert of that
//! overlay not yet acknowledged (`{"type":"alert","id":...}`), and the page
//! answers `{"type":"ack","id":...}` once shown. A reconnecting page gets
//! what it has not acknowledged, never what it has.

use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::auth::constant_time_eq;
use super::error::ApiError;
use crate::actions::alerts::valid_overlay_name;
use crate::store::overlay_alerts::QueuedAlert;

const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// A page that does not take a message within this long is disconnected.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_MESSAGE: usize = 16 * 1024;
/// WebSocket close code for a refused key (the 4xxx range is ours).
const CLOSE_FORBIDDEN: u16 = 4003;

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum FromPage {
    Hello { key: String },
    Ack { id: String },
}

/// Upgrades to the overlay socket.
pub async fn socket(
    Path(name): Path<String>,
    State(state): State<AppState>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    if !valid_overlay_name(&name) {
        return ApiError::not_found(format!(
            "no overlay named {name:?}: names are a-z, 0-9 and -"
        ))
        .into_response();
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
        .on_upgrade(move |socket| session(state, name, socket))
}

async fn session(state: AppState, overlay: String, mut socket: WebSocket) {
    match tokio::time::timeout(HELLO_TIMEOUT, socket.recv()).await {
        Ok(Some(Ok(Message::Text(text)))) => match serde_json::from_str::<FromPage>(&text) {
            Ok(FromPage::Hello { key })
                if constant_time_eq(key.as_bytes(), state.overlay_key.as_bytes()) => {}
            Ok(FromPage::Hello { .. }) => {
                tracing::warn!(overlay, "overlay connection with a wrong key refused");
                return refuse(socket, "forbidden", "wrong overlay key").await;
            }
            _ => {
                return refuse(
                    socket,
                    "bad_hello",
                    "the first message must be {\"type\":\"hello\",\"key\":...}",
                )
                .await;
            }
        },
        _ => return refuse(socket, "bad_hello", "no hello received").await,
    }
    tracing::info!(overlay, "overlay connected");
    if send(&mut socket, json!({"type": "welcome", "overlay": overlay}))
        .await
        .is_err()
    {
        return;
    }

    let mut changed = state.overlays.subscribe();
    let mut last_sent = 0i64;
    loop {
        match state.overlays.pending(&overlay, last_sent).await {
            Ok(pending) if !pending.is_empty() => {
                let mut ids = Vec::with_capacity(pending.len());
                for alert in &pending {
                    if send(&mut socket, alert_message(alert)).await.is_err() {
                        tracing::info!(overlay, "overlay disconnected (send failed or timed out)");
                        return;
                    }
                    last_sent = alert.rowid;
                    ids.push(alert.id.clone());
                }
                if let Err(e) = state.overlays.mark_sent(ids).await {
                    tracing::warn!(overlay, error = %e, "cannot record sent alerts");
                }
            }
            Ok(_) => {}
            Err(e) => tracing::error!(overlay, error = %e, "cannot read the alert queue"),
        }
        tokio::select! {
            _ = changed.changed() => {}
            message = socket.recv() => match message {
                Some(Ok(Message::Text(text))) => match serde_json::from_str::<FromPage>(&text) {
                    Ok(FromPage::Ack { id }) => {
                        if let Err(e) = state.overlays.ack(&overlay, &id).await {
                            tracing::warn!(overlay, error = %e, "cannot record an acknowledgement");
                        }
                    }
                    _ => tracing::debug!(overlay, "ignoring an unexpected overlay message"),
                },
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                    tracing::info!(overlay, "overlay disconnected");
                    return;
                }
                Some(Ok(_)) => {}
            },
            _ = state.shutdown.cancelled() => {
                let _ = socket.send(Message::Close(Some(CloseFrame { code: 1001, reason: "host shutting down".into() }))).await;
                return;
            }
        }
    }
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
    let text = message.to_string();
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
