//! Helpers for tests of the Redis bridge against the machine's real Redis
//! on 127.0.0.1:6379: a client that publishes and subscribes like a
//! Discord bot would, channel names no other test uses, and waits on the
//! host's view of the bridge.
//!
//! A missing Redis fails the test with a message saying what is needed: a
//! Redis test never passes by being skipped.

use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use serde_json::Value;

use super::{Host, get_json};

/// The Redis the tests use.
pub const URL: &str = "redis://127.0.0.1:6379";
/// How long anything in these tests may take to settle.
pub const SETTLE: Duration = Duration::from_secs(20);

/// A connection to the test Redis; panics, saying what is needed, when
/// there is none.
pub async fn connect() -> MultiplexedConnection {
    let client = redis::Client::open(URL).expect("the test Redis URL");
    let connected = tokio::time::timeout(
        Duration::from_secs(10),
        client.get_multiplexed_async_connection(),
    )
    .await;
    match connected {
        Ok(Ok(connection)) => connection,
        Ok(Err(e)) => panic!(
            "these tests need Redis on 127.0.0.1:6379 (`redis-server`; `redis-cli ping` must answer PONG): {e}"
        ),
        Err(_) => panic!(
            "these tests need Redis on 127.0.0.1:6379 (`redis-server`; `redis-cli ping` must answer PONG): no answer within 10 s"
        ),
    }
}

/// A channel name no other test (or test run) uses.
pub fn unique_channel(purpose: &str) -> String {
    format!("stagehand_test_{purpose}_{}", uuid::Uuid::now_v7().simple())
}

/// Publishes `payload` on `channel`; how many subscribers got it.
pub async fn publish(connection: &mut MultiplexedConnection, channel: &str, payload: &str) -> i64 {
    redis::cmd("PUBLISH")
        .arg(channel)
        .arg(payload)
        .query_async(connection)
        .await
        .expect("PUBLISH")
}

/// The host's `/api/external` `redis` part.
pub async fn bridge(host: &Host) -> Value {
    let external: Value = get_json(host, "/api/external").await;
    external["redis"].clone()
}

/// Waits until the bridge's state satisfies `ready`; returns it.
pub async fn wait_bridge(host: &Host, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + SETTLE;
    loop {
        let state = bridge(host).await;
        if ready(&state) {
            return state;
        }
        assert!(
            Instant::now() < deadline,
            "the bridge never got {what}: {state}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the bridge is subscribed.
pub async fn wait_connected(host: &Host) -> Value {
    wait_bridge(host, "connected", |s| s["connected"] == true).await
}

/// Waits until an event of `kind` satisfying `matches` is stored; returns
/// it as `/api/events` shows it.
pub async fn wait_event(host: &Host, kind: &str, matches: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + SETTLE;
    loop {
        let events: Vec<Value> = get_json(host, &format!("/api/events?kind={kind}&limit=50")).await;
        if let Some(event) = events.into_iter().find(|e| matches(e)) {
            return event;
        }
        assert!(Instant::now() < deadline, "no {kind} event arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every event of `kind` stored now.
pub async fn events_of(host: &Host, kind: &str) -> Vec<Value> {
    get_json(host, &format!("/api/events?kind={kind}&limit=500")).await
}
