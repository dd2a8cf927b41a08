//! Helpers for tests that run a host against the Twitch look-alike.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use stagehand::twitch::auth::{self, StoredToken};
use stagehand::twitch::eventsub::subscriptions::WANTED;
use twitch_lookalike::{MockOptions, MockTwitch, Trigger};

use super::{Host, get_json};

/// How long anything in these tests may take to settle.
pub const SETTLE: Duration = Duration::from_secs(20);

pub async fn mock() -> MockTwitch {
    MockTwitch::start(MockOptions::fast()).await.expect("mock")
}

/// The environment pointing a host at `mock`, with a keepalive window of
/// `keepalive` seconds and the mock's token (unless `token_file`).
pub fn twitch_env(mock: &MockTwitch, keepalive: u32, token_file: bool) -> Vec<(String, String)> {
    let mut env = vec![
        (
            "TWITCH_EVENTSUB_URL".to_owned(),
            format!(
                "{}?keepalive_timeout_seconds={keepalive}",
                mock.eventsub_url()
            ),
        ),
        ("TWITCH_API_URL".to_owned(), mock.api_url()),
        ("TWITCH_AUTH_URL".to_owned(), mock.auth_url()),
        ("TWITCH_CLIENT_ID".to_owned(), mock.client_id().to_owned()),
    ];
    if !token_file {
        env.push((
            "TWITCH_ACCESS_TOKEN".to_owned(),
            mock.access_token().to_owned(),
        ));
    }
    env
}

/// Starts a host on `dir` (blocking start-up off the async workers, so the
/// in-process mock keeps answering).
pub fn start_host(dir: &Path, env: &[(String, String)]) -> Host {
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    tokio::task::block_in_place(|| Host::start(dir, "run", &pairs))
}

/// Writes the token file `stagehand login` would have written.
pub fn write_token_file(dir: &Path, mock: &MockTwitch) {
    let token = StoredToken {
        access_token: mock.access_token().to_owned(),
        refresh_token: Some(mock.refresh_token().to_owned()),
        scopes: Vec::new(),
        client_id: mock.client_id().to_owned(),
        expires_at: None,
    };
    auth::save_token(&auth::token_path(dir), &token).unwrap();
}

pub async fn eventsub(host: &Host) -> Value {
    get_json(host, "/api/eventsub").await
}

/// Polls `check` every 50 ms until it holds or [`SETTLE`] passes.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + SETTLE;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the host is connected with every wanted subscription
/// enabled; returns the session id.
pub async fn connected(host: &Host) -> String {
    eventually("EventSub connected and subscribed", || async {
        let s = eventsub(host).await;
        s["connected"] == true
            && s["subscriptions"].as_array().is_some_and(|subs| {
                subs.len() == WANTED.len() && subs.iter().all(|x| x["status"] == "enabled")
            })
    })
    .await;
    eventsub(host).await["session_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub async fn events(host: &Host, kind: &str) -> Vec<Value> {
    get_json::<Value>(host, &format!("/api/events?limit=500&kind={kind}"))
        .await
        .as_array()
        .cloned()
        .unwrap_or_default()
}

pub async fn wait_for_events(host: &Host, kind: &str, n: usize) -> Vec<Value> {
    eventually(&format!("{n} {kind} events"), || async {
        events(host, kind).await.len() >= n
    })
    .await;
    events(host, kind).await
}

pub async fn trigger(mock: &MockTwitch, trigger: Trigger) {
    mock.control().trigger(trigger).await.expect("trigger");
}

pub fn db(dir: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(
        dir.join("stagehand.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap()
}

pub fn count(dir: &Path, sql: &str) -> i64 {
    db(dir).query_row(sql, [], |r| r.get(0)).unwrap()
}
