//! The Device Code Grant for a public client (no secret): the streamer
//! approves on twitch.tv/activate while we poll.

use std::time::Duration;

use tokio::time::Instant;

use super::oauth::{self, Poll, TokenResponse};
use super::{AuthError, DeviceCode, StoredToken};

/// Logs in with the Device Code Grant: `POST {auth}/device`, calls `show`
/// with the code to display, then polls `{auth}/token` every `interval`
/// (pending: keep polling; `slow_down`: interval + 5 s; expired or denied:
/// error). Returns the token, validated and with its client id, ready for
/// [`super::save_token`].
pub async fn device_login(
    http: &reqwest::Client,
    auth_url: &str,
    client_id: &str,
    scopes: &[&str],
    show: impl FnOnce(&DeviceCode),
) -> Result<StoredToken, AuthError> {
    device_login_paced(
        http,
        auth_url,
        client_id,
        scopes,
        show,
        Duration::from_secs(1),
    )
    .await
}

/// [`device_login`] with the length of Twitch's "second" injectable, so
/// tests poll fast.
pub(crate) async fn device_login_paced(
    http: &reqwest::Client,
    auth_url: &str,
    client_id: &str,
    scopes: &[&str],
    show: impl FnOnce(&DeviceCode),
    second: Duration,
) -> Result<StoredToken, AuthError> {
    if client_id.is_empty() {
        return Err(AuthError::NoClientId);
    }
    let auth_url = auth_url.trim_end_matches('/');
    let scopes = scopes.join(" ");
    let code = oauth::request_device_code(http, auth_url, client_id, &scopes).await?;
    show(&code);
    let deadline = Instant::now() + seconds(second, code.expires_in);
    let mut interval = code.interval.max(1);
    loop {
        tokio::time::sleep(seconds(second, interval)).await;
        if Instant::now() >= deadline {
            return Err(AuthError::Expired);
        }
        match oauth::poll_device(http, auth_url, client_id, &scopes, &code.device_code).await {
            Ok(Poll::Token(answer)) => return finish(http, auth_url, client_id, answer).await,
            Ok(Poll::Pending) => {}
            Ok(Poll::SlowDown) => interval += 5,
            Err(e) if transient(&e) => {
                tracing::warn!(error = %e, "polling Twitch for the login failed; trying again");
            }
            Err(e) => return Err(e),
        }
    }
}

/// Validates the new token to learn its client id and scopes.
async fn finish(
    http: &reqwest::Client,
    auth_url: &str,
    client_id: &str,
    answer: TokenResponse,
) -> Result<StoredToken, AuthError> {
    let identity = oauth::validate(http, auth_url, &answer.access_token).await?;
    let mut token = answer.into_stored(client_id, None);
    if !identity.client_id.is_empty() {
        token.client_id = identity.client_id;
    }
    if token.scopes.is_empty() {
        token.scopes = identity.scopes;
    }
    tracing::info!(login = %identity.login, "logged in to Twitch");
    Ok(token)
}

/// Network trouble or a Twitch outage: worth another poll.
fn transient(e: &AuthError) -> bool {
    match e {
        AuthError::Http(_) => true,
        AuthError::Status { status, .. } => *status >= 500,
        _ => false,
    }
}

fn seconds(second: Duration, n: u64) -> Duration {
    second.saturating_mul(u32::try_from(n).unwrap_or(u32::MAX))
}
