//! Socket tests of the Helix client against tiny axum servers: the fake
//! OAuth endpoints from [`crate::twitch::auth::testing`] plus per-test
//! Helix routes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::*;
use crate::twitch::auth::testing::{
    CLIENT_ID, FakeAuth, Shared, auth_at, auth_routes, http, serve, stored,
};
use crate::twitch::auth::{AuthError, AuthState, load_token, save_token, token_path};

type Params = Vec<(String, String)>;

/// A logged-in Helix client against `helix` (nested at `/helix`), with
/// fast retries.
struct Env {
    helix: HelixClient,
    fake: Shared,
    file: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

async fn env(helix: Router) -> Env {
    env_sharing(|_| helix).await
}

/// [`env`] whose Helix routes check tokens against the env's fake auth.
async fn env_sharing(routes: impl FnOnce(Shared) -> Router) -> Env {
    let fake = FakeAuth::with_token("access-0", "refresh-0");
    let app = Router::new()
        .nest("/oauth2", auth_routes(fake.clone()))
        .nest("/helix", routes(fake.clone()));
    let base = serve(app).await;
    let dir = tempfile::tempdir().unwrap();
    let file = token_path(dir.path());
    save_token(&file, &stored("access-0", "refresh-0")).unwrap();
    let auth = auth_at(&base, &file);
    auth.start().await.unwrap();
    let helix = HelixClient::new(http(), &format!("{base}/helix/"), auth).with_retry(fast());
    Env {
        helix,
        fake,
        file,
        _dir: dir,
    }
}

fn fast() -> RetryPolicy {
    RetryPolicy {
        base: Duration::from_millis(1),
        cap: Duration::from_millis(5),
        jitter: Duration::from_millis(5),
        ..RetryPolicy::default()
    }
}

/// Twitch's 401 unless the request carries a live token and our client id.
fn unauthorized(fake: &Shared, headers: &HeaderMap) -> Option<Response> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let token = header("authorization")
        .strip_prefix("Bearer ")
        .unwrap_or("");
    let message = if header("client-id") != CLIENT_ID {
        "Client ID and OAuth token do not match"
    } else if !fake.lock().unwrap().valid.contains(token) {
        "Invalid OAuth token"
    } else {
        return None;
    };
    Some(status(401, message))
}

fn status(code: u16, message: &str) -> Response {
    let code = StatusCode::from_u16(code).unwrap();
    let body =
        json!({"error": code.canonical_reason(), "status": code.as_u16(), "message": message});
    (code, Json(body)).into_response()
}

fn param<'a>(params: &'a Params, key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn follower(id: u32) -> Value {
    json!({"user_id": id.to_string(), "user_login": format!("u{id}"), "user_name": format!("U{id}"),
           "followed_at": "2024-05-01T12:00:00Z"})
}

fn epoch_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn rate_headers(remaining: u32, reset: u64) -> [(&'static str, String); 3] {
    [
        ("ratelimit-limit", "800".into()),
        ("ratelimit-remaining", remaining.to_string()),
        ("ratelimit-reset", reset.to_string()),
    ]
}

/// Followers in three pages (c1, c2, then none); `fail` = the status
/// page 2 answers with instead.
fn followers_route(fake: Shared, log: Arc<Mutex<Vec<Params>>>, fail: Option<u16>) -> Router {
    let handler = move |headers: HeaderMap, Query(q): Query<Params>| async move {
        if let Some(denied) = unauthorized(&fake, &headers) {
            return denied;
        }
        log.lock().unwrap().push(q.clone());
        let (data, cursor) = match param(&q, "after") {
            None => (vec![follower(1), follower(2)], json!({"cursor": "c1"})),
            Some("c1") if fail.is_some() => return status(fail.unwrap(), "page two broke"),
            Some("c1") => (vec![follower(3), follower(4)], json!({"cursor": "c2"})),
            _ => (vec![follower(5)], json!({})),
        };
        let body = json!({"data": data, "pagination": cursor, "total": 5});
        (rate_headers(797, epoch_now() + 60), Json(body)).into_response()
    };
    Router::new().route("/channels/followers", get(handler))
}

#[tokio::test]
async fn all_pages_are_read_with_cursors() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let e = env_sharing(|fake| followers_route(fake, log.clone(), None)).await;
    let all = e.helix.followers("1001").await.unwrap();
    let ids: Vec<_> = all.iter().map(|f| f.user_id.as_str()).collect();
    assert_eq!(ids, ["1", "2", "3", "4", "5"]);
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 3);
    for (i, q) in log.iter().enumerate() {
        assert_eq!(param(q, "broadcaster_id"), Some("1001"));
        assert_eq!(param(q, "first"), Some("100"));
        assert_eq!(param(q, "after"), [None, Some("c1"), Some("c2")][i]);
    }
    assert_eq!(e.helix.requests_sent(), 3);
    assert_eq!(e.helix.rate_limit().unwrap().remaining, 797);
}

#[tokio::test]
async fn one_page_reports_its_cursor_and_total() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let e = env_sharing(|fake| followers_route(fake, log.clone(), None)).await;
    let page = e
        .helix
        .followers_page("1001", Some("c1"), 500)
        .await
        .unwrap();
    assert_eq!(page.data.len(), 2);
    assert_eq!((page.cursor.as_deref(), page.total), (Some("c2"), Some(5)));
    assert_eq!(param(&log.lock().unwrap()[0], "first"), Some("100"));
}

#[tokio::test]
async fn a_failing_second_page_fails_the_whole_list() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let e = env_sharing(|fake| followers_route(fake, log.clone(), Some(403))).await;
    let err = e.helix.followers("1001").await.unwrap_err();
    let HelixError::Status {
        endpoint,
        status,
        message,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        (endpoint.as_str(), *status),
        ("GET /channels/followers", 403)
    );
    assert_eq!(message, "page two broke");

    let e = env_sharing(|fake| followers_route(fake, log.clone(), Some(502))).await;
    let err = e.helix.followers("1001").await.unwrap_err();
    assert!(
        matches!(
            err,
            HelixError::Unavailable {
                status: 502,
                attempts: 4,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(e.helix.requests_sent(), 1 + 4);
}

/// A route answering the `script`ed statuses in turn, then 200 with
/// `body`; `headers` go on every answer.
fn scripted(
    path: &str,
    script: Vec<u16>,
    body: Value,
    seen: Arc<Mutex<Vec<SystemTime>>>,
    headers: impl Fn() -> [(&'static str, String); 3] + Clone + Send + Sync + 'static,
) -> Router {
    let turn = Arc::new(AtomicU32::new(0));
    let handler = move || async move {
        seen.lock().unwrap().push(SystemTime::now());
        let n = turn.fetch_add(1, Ordering::SeqCst) as usize;
        match script.get(n) {
            Some(&code) => (headers(), status(code, "scripted")).into_response(),
            None => (headers(), Json(body)).into_response(),
        }
    };
    Router::new().route(path, get(handler.clone()).post(handler))
}

fn no_limit() -> [(&'static str, String); 3] {
    rate_headers(700, epoch_now() + 60)
}

fn users_body() -> Value {
    json!({"data": [{"id": "1001", "login": "streamer", "display_name": "Streamer", "type": "",
                      "broadcaster_type": "affiliate", "created_at": "2020-01-01T00:00:00Z"}]})
}

#[tokio::test]
async fn a_429_waits_for_the_reset_then_succeeds() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let reset = epoch_now() + 1;
    let headers = move || rate_headers(0, reset);
    let e = env(scripted(
        "/users",
        vec![429],
        users_body(),
        seen.clone(),
        headers,
    ))
    .await;
    let users = e.helix.users(&[], &[]).await.unwrap();
    assert_eq!(users[0].login, "streamer");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    let retried = seen[1].duration_since(UNIX_EPOCH).unwrap();
    assert!(
        retried >= Duration::from_secs(reset),
        "retried before the reset"
    );
    assert_eq!(e.helix.requests_sent(), 2);
}

#[tokio::test]
async fn an_empty_bucket_waits_before_the_next_request_instead_of_a_429() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let reset = epoch_now() + 1;
    let headers = move || rate_headers(0, reset);
    let e = env(scripted(
        "/users",
        vec![],
        users_body(),
        seen.clone(),
        headers,
    ))
    .await;
    e.helix.users(&["1001"], &[]).await.unwrap();
    e.helix.users(&["1001"], &[]).await.unwrap();
    let seen = seen.lock().unwrap();
    let second = seen[1].duration_since(UNIX_EPOCH).unwrap();
    assert!(
        second >= Duration::from_secs(reset),
        "sent before the reset"
    );
    assert_eq!(e.helix.rate_limit().unwrap().remaining, 0);
}

#[tokio::test]
async fn a_run_of_429s_is_reported_after_the_limit() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let headers = || rate_headers(0, 0);
    let e = env(scripted(
        "/users",
        vec![429; 10],
        users_body(),
        seen,
        headers,
    ))
    .await;
    let err = e.helix.users(&[], &[]).await.unwrap_err();
    assert!(
        matches!(err, HelixError::RateLimited { attempts: 5, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn server_errors_are_retried_then_succeed() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let e = env(scripted(
        "/users",
        vec![500, 503],
        users_body(),
        seen,
        no_limit,
    ))
    .await;
    assert_eq!(e.helix.users(&[], &[]).await.unwrap().len(), 1);
    assert_eq!(e.helix.requests_sent(), 3);
}

#[tokio::test]
async fn server_errors_forever_give_up_after_max_attempts() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let e = env(scripted(
        "/channels/vips",
        vec![500; 10],
        json!({}),
        seen,
        no_limit,
    ))
    .await;
    let err = e.helix.vips("1001").await.unwrap_err();
    assert!(
        matches!(
            err,
            HelixError::Unavailable {
                status: 500,
                attempts: 4,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("GET /channels/vips"), "{err}");
    assert_eq!(e.helix.requests_sent(), 4);
}

#[tokio::test]
async fn an_unreachable_twitch_is_reported_after_max_attempts() {
    let e = env(Router::new()).await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let helix = HelixClient::new(http(), &closed, e.helix.inner.auth.clone()).with_retry(fast());
    let err = helix.moderators("1001").await.unwrap_err();
    assert!(
        matches!(err, HelixError::Http { attempts: 4, .. }),
        "{err:?}"
    );
    assert_eq!(helix.requests_sent(), 4);
}

#[tokio::test]
async fn a_chat_message_is_not_repeated_after_a_server_error() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let e = env(scripted(
        "/chat/messages",
        vec![500],
        json!({}),
        seen,
        no_limit,
    ))
    .await;
    let err = e.helix.send_chat_message("1", "1", "hi").await.unwrap_err();
    assert!(
        matches!(err, HelixError::Unavailable { attempts: 1, .. }),
        "{err:?}"
    );
    assert_eq!(e.helix.requests_sent(), 1);
}

fn users_route(fake: Shared, log: Arc<Mutex<Vec<Params>>>) -> Router {
    let handler = move |headers: HeaderMap, Query(q): Query<Params>| async move {
        if let Some(denied) = unauthorized(&fake, &headers) {
            return denied;
        }
        log.lock().unwrap().push(q);
        Json(users_body()).into_response()
    };
    Router::new().route("/users", get(handler))
}

#[tokio::test]
async fn a_401_refreshes_once_saves_the_rotated_token_and_retries() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let e = env_sharing(|fake| users_route(fake, log.clone())).await;
    e.fake.lock().unwrap().valid.clear();
    let users = e
        .helix
        .users(&["1001"], &["streamer", "other"])
        .await
        .unwrap();
    assert_eq!(users[0].id, "1001");
    assert_eq!(e.fake.lock().unwrap().refreshes, 1);
    let saved = load_token(&e.file).unwrap().unwrap();
    assert_eq!(saved.refresh_token.as_deref(), Some("refresh-1"));
    assert_eq!(saved.access_token, "access-1");
    assert_eq!(e.helix.requests_sent(), 2);
    let q = &log.lock().unwrap()[0];
    let keys: Vec<_> = q.iter().map(|(k, v)| format!("{k}={v}")).collect();
    assert_eq!(keys, ["id=1001", "login=streamer", "login=other"]);
}

#[tokio::test]
async fn concurrent_401s_share_one_refresh() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let e = env_sharing(|fake| users_route(fake, log.clone())).await;
    {
        let mut f = e.fake.lock().unwrap();
        f.valid.clear();
        f.refresh_delay = Duration::from_millis(100);
    }
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let helix = e.helix.clone();
            tokio::spawn(async move { helix.users(&[], &[]).await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(e.fake.lock().unwrap().refreshes, 1);
    assert_eq!(log.lock().unwrap().len(), 8);
}

#[tokio::test]
async fn a_second_401_is_unauthorized() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let e = env(scripted(
        "/users",
        vec![401; 5],
        users_body(),
        seen,
        no_limit,
    ))
    .await;
    let err = e.helix.users(&[], &[]).await.unwrap_err();
    assert!(matches!(err, HelixError::Unauthorized { .. }), "{err:?}");
    assert!(err.to_string().contains("stagehand login"), "{err}");
    assert_eq!(e.fake.lock().unwrap().refreshes, 1);
    assert_eq!(e.helix.requests_sent(), 2);
}

#[tokio::test]
async fn a_rejected_refresh_means_log_in_again() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let e = env_sharing(|fake| users_route(fake, log.clone())).await;
    {
        let mut f = e.fake.lock().unwrap();
        f.valid.clear();
        f.refresh = None;
    }
    let err = e.helix.users(&[], &[]).await.unwrap_err();
    assert!(
        matches!(err, HelixError::Auth(AuthError::RefreshRejected)),
        "{err:?}"
    );
    let AuthState::NeedsLogin { reason } = e.helix.inner.auth.state() else {
        panic!("{:?}", e.helix.inner.auth.state())
    };
    assert!(reason.contains("log in again"), "{reason}");
}

#[tokio::test]
async fn a_missing_scope_is_reported_without_refreshing() {
    let handler = || async { status(401, "Missing scope: moderator:read:followers") };
    let e = env(Router::new().route("/channels/followers", get(handler))).await;
    let err = e.helix.followers_page("1001", None, 20).await.unwrap_err();
    let HelixError::MissingScope { scope, endpoint } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(scope, "moderator:read:followers");
    assert_eq!(endpoint, "GET /channels/followers");
    assert_eq!(
        err.to_string(),
        "the Twitch token lacks the scope moderator:read:followers; run `stagehand login` again to grant it"
    );
    assert_eq!(e.fake.lock().unwrap().refreshes, 0);
    assert_eq!(e.helix.requests_sent(), 1);
}

fn subscription(id: &str) -> Value {
    json!({"id": id, "status": "enabled", "type": "channel.follow", "version": "2",
           "condition": {"broadcaster_user_id": "1001", "moderator_user_id": "1001"},
           "transport": {"method": "websocket", "session_id": "s1"},
           "created_at": "2024-05-01T12:00:00.123456789Z", "cost": 0})
}

#[tokio::test]
async fn eventsub_subscriptions_are_created_listed_and_deleted() {
    let created = Arc::new(Mutex::new(Vec::<Value>::new()));
    let deleted = Arc::new(Mutex::new(Vec::<String>::new()));
    let (c, d) = (created.clone(), deleted.clone());
    let create = move |Json(body): Json<Value>| async move {
        let mut c = c.lock().unwrap();
        if c.contains(&body) {
            return status(409, "subscription already exists");
        }
        c.push(body);
        let answer = json!({"data": [subscription("sub-1")], "total": 1, "total_cost": 0, "max_total_cost": 10});
        (StatusCode::ACCEPTED, Json(answer)).into_response()
    };
    let list = |Query(q): Query<Params>| async move {
        assert_eq!(param(&q, "first"), None);
        match param(&q, "after") {
            None => Json(json!({"data": [subscription("a")], "pagination": {"cursor": "n"}})),
            Some(_) => Json(json!({"data": [subscription("b")], "pagination": {}})),
        }
    };
    let delete = move |Query(q): Query<Params>| async move {
        let id = param(&q, "id").unwrap_or_default().to_owned();
        if id == "gone" {
            return status(404, "subscription not found");
        }
        d.lock().unwrap().push(id);
        StatusCode::NO_CONTENT.into_response()
    };
    let routes = Router::new().route(
        "/eventsub/subscriptions",
        post(create).get(list).delete(delete),
    );
    let e = env(routes).await;
    let body = json!({"type": "channel.follow", "version": "2",
                      "condition": {"broadcaster_user_id": "1001", "moderator_user_id": "1001"},
                      "transport": {"method": "websocket", "session_id": "s1"}});
    let sub = e.helix.create_eventsub_subscription(&body).await.unwrap();
    assert_eq!(
        (sub.id.as_str(), sub.kind.as_str(), sub.status.as_str()),
        ("sub-1", "channel.follow", "enabled")
    );
    let err = e
        .helix
        .create_eventsub_subscription(&body)
        .await
        .unwrap_err();
    assert!(matches!(err, HelixError::Conflict { .. }), "{err:?}");
    let ids: Vec<_> = e
        .helix
        .eventsub_subscriptions()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, ["a", "b"]);
    e.helix.delete_eventsub_subscription("sub-1").await.unwrap();
    e.helix.delete_eventsub_subscription("gone").await.unwrap();
    assert_eq!(*deleted.lock().unwrap(), ["sub-1"]);
}

#[tokio::test]
async fn chat_messages_and_clips() {
    let chat = |Json(body): Json<HashMap<String, String>>| async move {
        assert_eq!(body["message"], "hello chat");
        Json(json!({"data": [{"message_id": "", "is_sent": false,
                              "drop_reason": {"code": "msg_duplicate", "message": "duplicate"}}]}))
    };
    let clips = |Query(q): Query<Params>| async move {
        assert_eq!(param(&q, "started_at"), Some("2024-05-01T00:00:00Z"));
        Json(
            json!({"data": [{"id": "clip", "url": "https://clips.twitch.tv/clip", "title": "wow",
                              "creator_id": "7", "creator_name": "C", "view_count": 3,
                              "created_at": "2024-05-01T10:00:00Z", "duration": 29.5}],
                    "pagination": {}}),
        )
    };
    let routes = Router::new()
        .route("/chat/messages", post(chat))
        .route("/clips", get(clips));
    let e = env(routes).await;
    let sent = e
        .helix
        .send_chat_message("1001", "1001", "hello chat")
        .await
        .unwrap();
    assert!(!sent.is_sent);
    assert_eq!(sent.drop_reason.unwrap().code, "msg_duplicate");
    let since = "2024-05-01T00:00:00Z".parse().unwrap();
    let clips = e.helix.clips("1001", Some(since)).await.unwrap();
    assert_eq!((clips[0].title.as_str(), clips[0].view_count), ("wow", 3));
}
