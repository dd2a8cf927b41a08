//! Socket tests of the login against the fake in [`super::testing`].

use std::time::Duration;

use chrono::{TimeDelta, Utc};

use super::device::device_login_paced;
use super::testing::{
    CLIENT_ID, FakeAuth, SCOPES, Shared, auth_at, auth_routes, http, serve, stored,
};
use super::*;

/// A fake accepting `access-0`/`refresh-0`, that token saved in a temp
/// dir, and a `TwitchAuth` reading it.
async fn setup() -> (Shared, TwitchAuth, tempfile::TempDir, PathBuf) {
    let fake = FakeAuth::with_token("access-0", "refresh-0");
    let base = serve(axum::Router::new().nest("/oauth2", auth_routes(fake.clone()))).await;
    let dir = tempfile::tempdir().unwrap();
    let file = token_path(dir.path());
    save_token(&file, &stored("access-0", "refresh-0")).unwrap();
    (fake, auth_at(&base, &file), dir, file)
}

fn saved(file: &Path) -> StoredToken {
    load_token(file).unwrap().unwrap()
}

#[tokio::test]
async fn start_validates_and_learns_who_we_are() {
    let (fake, auth, _dir, _file) = setup().await;
    let id = auth.start().await.unwrap();
    assert_eq!(
        (id.login.as_str(), id.user_id.as_str()),
        ("streamer", "1001")
    );
    assert_eq!(id.client_id, CLIENT_ID);
    assert_eq!(
        auth.state(),
        AuthState::Valid {
            login: "streamer".into(),
            user_id: "1001".into(),
            scopes: SCOPES.map(String::from).to_vec(),
        }
    );
    assert_eq!(auth.identity().unwrap().login, "streamer");
    assert_eq!(auth.access_token().await.unwrap(), "access-0");
    let f = fake.lock().unwrap();
    assert_eq!((f.validations, f.refreshes), (1, 0));
}

#[tokio::test]
async fn start_without_a_token_is_logged_out() {
    let (_fake, auth, dir, file) = setup().await;
    std::fs::remove_file(&file).unwrap();
    let err = auth.start().await.unwrap_err();
    assert!(matches!(err, AuthError::NotLoggedIn), "{err:?}");
    assert_eq!(auth.state(), AuthState::LoggedOut);
    drop(dir);
}

#[tokio::test]
async fn client_id_is_learned_when_not_configured() {
    let (_fake, auth, _dir, file) = setup().await;
    let base = auth.inner.auth_url.clone();
    let auth = TwitchAuth::new(http(), &base, None, Some(file), None);
    assert_eq!(auth.client_id().as_deref(), None);
    auth.start().await.unwrap();
    assert_eq!(auth.client_id().as_deref(), Some(CLIENT_ID));
}

#[tokio::test]
async fn a_dead_token_is_refreshed_at_start_and_the_rotated_token_saved() {
    let (fake, auth, _dir, file) = setup().await;
    fake.lock().unwrap().valid.clear();
    let id = auth.start().await.unwrap();
    assert_eq!(id.login, "streamer");
    assert_eq!(auth.access_token().await.unwrap(), "access-1");
    let on_disk = saved(&file);
    assert_eq!(on_disk.access_token, "access-1");
    assert_eq!(on_disk.refresh_token.as_deref(), Some("refresh-1"));
    assert!(on_disk.expires_at.is_some());
    assert_eq!(fake.lock().unwrap().refreshes, 1);
}

#[tokio::test]
async fn an_expired_token_is_refreshed_before_validating() {
    let (fake, auth, _dir, file) = setup().await;
    let mut token = stored("access-0", "refresh-0");
    token.expires_at = Some(Utc::now() - TimeDelta::minutes(1));
    save_token(&file, &token).unwrap();
    auth.start().await.unwrap();
    let f = fake.lock().unwrap();
    assert_eq!((f.refreshes, f.validations), (1, 1));
}

#[tokio::test]
async fn a_token_expiring_soon_is_refreshed_before_use() {
    let (fake, auth, _dir, file) = setup().await;
    auth.start().await.unwrap();
    let mut token = stored("access-0", "refresh-0");
    token.expires_at = Some(Utc::now() + TimeDelta::minutes(2));
    auth.lock().token = Some(token);
    assert_eq!(auth.access_token().await.unwrap(), "access-1");
    assert_eq!(saved(&file).refresh_token.as_deref(), Some("refresh-1"));
    assert_eq!(fake.lock().unwrap().refreshes, 1);
}

#[tokio::test]
async fn a_rejected_refresh_token_means_log_in_again() {
    let (fake, auth, _dir, _file) = setup().await;
    {
        let mut f = fake.lock().unwrap();
        f.valid.clear();
        f.refresh = Some("someone-else".into());
    }
    let mut health = auth.watch();
    let err = auth.start().await.unwrap_err();
    assert!(matches!(err, AuthError::RefreshRejected), "{err:?}");
    assert!(err.to_string().contains("run `stagehand login` again"));
    let AuthState::NeedsLogin { reason } = auth.state() else {
        panic!("{:?}", auth.state())
    };
    assert!(reason.contains("log in again"), "{reason}");
    assert!(health.has_changed().unwrap());
    assert!(matches!(
        *health.borrow_and_update(),
        AuthState::NeedsLogin { .. }
    ));
    // Asked again, the dead refresh token is not sent again.
    let err = auth.refresh_after_401("access-0").await.unwrap_err();
    assert!(matches!(err, AuthError::RefreshRejected), "{err:?}");
    assert_eq!(fake.lock().unwrap().refreshes, 0);
}

#[tokio::test]
async fn concurrent_401s_cause_exactly_one_refresh() {
    let (fake, auth, _dir, file) = setup().await;
    auth.start().await.unwrap();
    fake.lock().unwrap().refresh_delay = Duration::from_millis(100);
    let calls = (0..8).map(|_| {
        let auth = auth.clone();
        tokio::spawn(async move { auth.refresh_after_401("access-0").await })
    });
    for call in calls.collect::<Vec<_>>() {
        assert_eq!(call.await.unwrap().unwrap(), "access-1");
    }
    assert_eq!(fake.lock().unwrap().refreshes, 1);
    assert_eq!(saved(&file).refresh_token.as_deref(), Some("refresh-1"));
    // A caller whose rejected token is already stale gets the new one.
    assert_eq!(
        auth.refresh_after_401("access-0").await.unwrap(),
        "access-1"
    );
    assert_eq!(fake.lock().unwrap().refreshes, 1);
}

#[tokio::test]
async fn a_token_saved_by_another_process_is_adopted_instead_of_refreshing() {
    let (fake, auth, _dir, file) = setup().await;
    auth.start().await.unwrap();
    save_token(&file, &stored("access-9", "refresh-9")).unwrap();
    assert_eq!(
        auth.refresh_after_401("access-0").await.unwrap(),
        "access-9"
    );
    assert_eq!(fake.lock().unwrap().refreshes, 0);
}

#[tokio::test]
async fn an_env_token_is_used_as_is_and_never_saved() {
    let (fake, auth, dir, _file) = setup().await;
    let base = auth.inner.auth_url.clone();
    let env_file = dir.path().join("env-token.json");
    let env = TwitchAuth::new(
        http(),
        &base,
        Some(CLIENT_ID.into()),
        Some(env_file.clone()),
        Some("access-0".into()),
    );
    assert_eq!(env.start().await.unwrap().login, "streamer");
    fake.lock().unwrap().valid.clear();
    let err = env.refresh_after_401("access-0").await.unwrap_err();
    assert!(matches!(err, AuthError::InvalidToken), "{err:?}");
    assert!(matches!(env.state(), AuthState::NeedsLogin { .. }));
    assert!(!env_file.exists());
}

#[tokio::test]
async fn the_validator_notices_a_revoked_login() {
    let (fake, auth, _dir, _file) = setup().await;
    auth.start().await.unwrap();
    let cancel = CancellationToken::new();
    let task = auth.spawn_validator(Duration::from_millis(20), cancel.clone());
    {
        let mut f = fake.lock().unwrap();
        f.valid.clear();
        f.refresh = None;
    }
    let mut health = auth.watch();
    let state = tokio::time::timeout(
        Duration::from_secs(5),
        health.wait_for(|s| matches!(s, AuthState::NeedsLogin { .. })),
    )
    .await
    .expect("validator did not notice")
    .unwrap()
    .clone();
    assert!(matches!(state, AuthState::NeedsLogin { .. }));
    cancel.cancel();
    task.await.unwrap();
}

#[tokio::test]
async fn the_validator_refreshes_on_401() {
    let (fake, auth, _dir, file) = setup().await;
    auth.start().await.unwrap();
    fake.lock().unwrap().valid.clear();
    let cancel = CancellationToken::new();
    let task = auth.spawn_validator(Duration::from_millis(20), cancel.clone());
    for _ in 0..250 {
        if fake.lock().unwrap().refreshes > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cancel.cancel();
    task.await.unwrap();
    assert_eq!(saved(&file).access_token, "access-1");
    assert!(matches!(auth.state(), AuthState::Valid { .. }));
}

#[tokio::test]
async fn logout_revokes_and_deletes_the_file() {
    let (fake, auth, _dir, file) = setup().await;
    auth.start().await.unwrap();
    auth.logout().await.unwrap();
    assert!(!file.exists());
    assert_eq!(fake.lock().unwrap().revoked, ["access-0"]);
    assert_eq!(auth.state(), AuthState::LoggedOut);
    assert!(matches!(
        auth.access_token().await,
        Err(AuthError::NotLoggedIn)
    ));
}

#[tokio::test]
async fn device_flow_polls_through_pending_answers() {
    let fake = FakeAuth::with_token("unused", "unused");
    fake.lock().unwrap().pending_polls = 2;
    let base = serve(axum::Router::new().nest("/oauth2", auth_routes(fake.clone()))).await;
    let mut shown = None;
    let token = device_login_paced(
        &http(),
        &format!("{base}/oauth2/"),
        CLIENT_ID,
        &SCOPES,
        |code| shown = Some(code.user_code.clone()),
        Duration::from_millis(5),
    )
    .await
    .unwrap();
    assert_eq!(shown.as_deref(), Some("ABCD-EFGH"));
    assert_eq!(token.access_token, "access-1");
    assert_eq!(token.refresh_token.as_deref(), Some("refresh-1"));
    assert_eq!(token.client_id, CLIENT_ID);
    assert_eq!(token.scopes, SCOPES);
    let f = fake.lock().unwrap();
    assert_eq!(f.polls, 3);
    assert_eq!(f.device_form["scopes"], SCOPES.join(" "));
    assert_eq!(f.device_form["client_id"], CLIENT_ID);
}

#[tokio::test]
async fn device_flow_without_a_client_id_says_so() {
    let err = device_login(&http(), "http://127.0.0.1:9", "", &[], |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::NoClientId));
    assert!(err.to_string().contains("TWITCH_CLIENT_ID"));
}

#[tokio::test]
async fn a_client_id_mismatch_names_where_the_token_came_from() {
    let (_fake, auth, _dir, file) = setup().await;
    let base = auth.inner.auth_url.clone();
    let saved = TwitchAuth::new(http(), &base, Some("other-app".into()), Some(file), None);
    let err = saved.start().await.unwrap_err().to_string();
    assert!(
        err.contains("from the saved login") && err.contains("run `stagehand login` again"),
        "{err}"
    );
    assert!(
        err.contains(CLIENT_ID) && err.contains("other-app"),
        "{err}"
    );

    let env = TwitchAuth::new(
        http(),
        &base,
        Some("other-app".into()),
        None,
        Some("access-0".into()),
    );
    let err = env.start().await.unwrap_err().to_string();
    assert!(
        err.contains("from TWITCH_ACCESS_TOKEN") && err.contains("set TWITCH_ACCESS_TOKEN"),
        "{err}"
    );
}
