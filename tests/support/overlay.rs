//! A test overlay: connects to `/overlay/{name}/ws` the way the page does.

#![allow(dead_code)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A connected overlay.
pub struct Overlay {
    socket: Socket,
}

impl Overlay {
    /// Connects and says hello with `key`; returns the host's first answer too.
    pub async fn connect_with(base: &str, name: &str, key: &str) -> (Overlay, Value) {
        let url = format!("{}/overlay/{name}/ws", base.replace("http://", "ws://"));
        let (socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("overlay socket");
        let mut overlay = Overlay { socket };
        overlay.send(json!({"type": "hello", "key": key})).await;
        let first = overlay
            .next(Duration::from_secs(10))
            .await
            .expect("an answer to hello");
        (overlay, first)
    }

    /// Connects with the harness key and expects the welcome.
    pub async fn connect(base: &str, name: &str) -> Overlay {
        let (overlay, first) = Self::connect_with(base, name, super::OVERLAY_KEY).await;
        assert_eq!(first["type"], "welcome", "{first}");
        overlay
    }

    pub async fn send(&mut self, v: Value) {
        self.socket
            .send(Message::Text(v.to_string().into()))
            .await
            .expect("send");
    }

    /// The next JSON message, or None on timeout or close.
    pub async fn next(&mut self, wait: Duration) -> Option<Value> {
        loop {
            match tokio::time::timeout(wait, self.socket.next()).await {
                Ok(Some(Ok(Message::Text(t)))) => return serde_json::from_str(&t).ok(),
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return Some(
                        json!({"type": "closed", "code": frame.map(|f| u16::from(f.code))}),
                    );
                }
                Ok(Some(Ok(_))) => continue,
                _ => return None,
            }
        }
    }

    /// The next alert (failing after `wait`).
    pub async fn alert(&mut self, wait: Duration) -> Value {
        let m = self.next(wait).await.expect("an alert in time");
        assert_eq!(m["type"], "alert", "{m}");
        m
    }

    pub async fn ack(&mut self, alert: &Value) {
        self.send(json!({"type": "ack", "id": alert["id"]})).await;
    }

    /// Waits `wait` and returns every message that arrived.
    pub async fn drain(&mut self, wait: Duration) -> Vec<Value> {
        let mut out = Vec::new();
        let deadline = tokio::time::Instant::now() + wait;
        while let Some(left) = deadline.checked_duration_since(tokio::time::Instant::now()) {
            match self.next(left).await {
                Some(m) => out.push(m),
                None => break,
            }
        }
        out
    }

    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }
}
