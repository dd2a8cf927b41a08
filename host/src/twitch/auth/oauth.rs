//! The raw calls to Twitch's OAuth endpoints (`/validate`, `/token`,
//! `/device`, `/revoke`), each mapping Twitch's answers to [`AuthError`]s.
//! No state here: [`super::TwitchAuth`] decides when to call what.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{AuthError, DeviceCode, Identity, StoredToken};

/// Per-request limit, so a stalled connection cannot hang a refresh.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The grant type Twitch expects when polling the device flow.
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// `POST /token` success body (refresh and device grants).
#[derive(Deserialize)]
pub(crate) struct TokenResponse {
    pub access_token: String,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub expires_in: Option<u64>,
    #[serde(default, deserialize_with = "scope_list")]
    pub scope: Option<Vec<String>>,
}

impl TokenResponse {
    /// The token to keep, filling what Twitch left out from `previous`.
    pub fn into_stored(self, client_id: &str, previous: Option<&StoredToken>) -> StoredToken {
        StoredToken {
            access_token: self.access_token,
            refresh_token: self
                .refresh_token
                .or_else(|| previous.and_then(|p| p.refresh_token.clone())),
            scopes: self
                .scope
                .or_else(|| previous.map(|p| p.scopes.clone()))
                .unwrap_or_default(),
            client_id: client_id.to_owned(),
            expires_at: expiry(Utc::now(), self.expires_in),
        }
    }
}

/// When a token given `expires_in` seconds at `now` expires; 0 or absent
/// means Twitch gave no expiry.
pub(crate) fn expiry(now: DateTime<Utc>, expires_in: Option<u64>) -> Option<DateTime<Utc>> {
    let secs = i64::try_from(expires_in?).ok().filter(|s| *s > 0)?;
    Some(now + TimeDelta::seconds(secs))
}

/// What one poll of the device flow said.
pub(crate) enum Poll {
    Token(TokenResponse),
    Pending,
    SlowDown,
}

/// `GET /validate`: who the token belongs to; 401 = dead token.
pub(crate) async fn validate(
    http: &reqwest::Client,
    auth_url: &str,
    access_token: &str,
) -> Result<Identity, AuthError> {
    let resp = http
        .get(format!("{auth_url}/validate"))
        .header("Authorization", format!("OAuth {access_token}"))
        .timeout(TIMEOUT)
        .send()
        .await
        .map_err(AuthError::Http)?;
    let (status, body) = read(resp).await?;
    match status {
        200 => parse::<ValidateBody>(&body).map(ValidateBody::into_identity),
        401 => Err(AuthError::InvalidToken),
        _ => Err(status_error("validate", status, &body)),
    }
}

/// `POST /token` with the refresh grant; any 400/401 means the refresh
/// token is dead (revoked or already used) and only a new login helps.
pub(crate) async fn refresh(
    http: &reqwest::Client,
    auth_url: &str,
    client_id: &str,
    refresh_token: &str,
) -> Result<TokenResponse, AuthError> {
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
        ("client_id", client_id),
    ];
    let (status, body) = post_form(http, auth_url, "token", &form).await?;
    match status {
        200 => parse(&body),
        400 | 401 => {
            tracing::warn!(status, message = %message_of(&body), "Twitch rejected the refresh token");
            Err(AuthError::RefreshRejected)
        }
        _ => Err(status_error("token", status, &body)),
    }
}

/// `POST /revoke`: Twitch forgets the token. An already invalid token
/// (400) counts as revoked.
pub(crate) async fn revoke(
    http: &reqwest::Client,
    auth_url: &str,
    client_id: &str,
    token: &str,
) -> Result<(), AuthError> {
    let form = [("client_id", client_id), ("token", token)];
    let (status, body) = post_form(http, auth_url, "revoke", &form).await?;
    match status {
        200..=299 | 400 => Ok(()),
        _ => Err(status_error("revoke", status, &body)),
    }
}

/// `POST /device`: starts the device code flow.
pub(crate) async fn request_device_code(
    http: &reqwest::Client,
    auth_url: &str,
    client_id: &str,
    scopes: &str,
) -> Result<DeviceCode, AuthError> {
    let form = [("client_id", client_id), ("scopes", scopes)];
    let (status, body) = post_form(http, auth_url, "device", &form).await?;
    match status {
        200 => parse(&body),
        _ => Err(status_error("device", status, &body)),
    }
}

/// One `POST /token` poll of the device flow.
pub(crate) async fn poll_device(
    http: &reqwest::Client,
    auth_url: &str,
    client_id: &str,
    scopes: &str,
    device_code: &str,
) -> Result<Poll, AuthError> {
    let form = [
        ("client_id", client_id),
        ("scopes", scopes),
        ("device_code", device_code),
        ("grant_type", DEVICE_GRANT),
    ];
    let (status, body) = post_form(http, auth_url, "token", &form).await?;
    if status == 200 {
        return parse(&body).map(Poll::Token);
    }
    device_poll_error(status, &message_of(&body))
}

/// Interprets a non-200 device poll: still waiting, slow down, or over.
pub(crate) fn device_poll_error(status: u16, message: &str) -> Result<Poll, AuthError> {
    let m = message.to_ascii_lowercase();
    if m.contains("authorization_pending") || m.contains("pending") {
        Ok(Poll::Pending)
    } else if m.contains("slow_down") {
        Ok(Poll::SlowDown)
    } else if m.contains("denied") {
        Err(AuthError::Denied)
    } else if m.contains("expired") || m.contains("invalid device code") {
        Err(AuthError::Expired)
    } else {
        Err(AuthError::Status {
            endpoint: "token",
            status,
            message: message.to_owned(),
        })
    }
}

async fn post_form(
    http: &reqwest::Client,
    auth_url: &str,
    endpoint: &str,
    form: &[(&str, &str)],
) -> Result<(u16, Vec<u8>), AuthError> {
    let resp = http
        .post(format!("{auth_url}/{endpoint}"))
        .form(form)
        .timeout(TIMEOUT)
        .send()
        .await
        .map_err(AuthError::Http)?;
    read(resp).await
}

async fn read(resp: reqwest::Response) -> Result<(u16, Vec<u8>), AuthError> {
    let status = resp.status().as_u16();
    let body = resp.bytes().await.map_err(AuthError::Http)?;
    Ok((status, body.to_vec()))
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, AuthError> {
    serde_json::from_slice(body).map_err(|e| AuthError::Protocol(e.to_string()))
}

fn status_error(endpoint: &'static str, status: u16, body: &[u8]) -> AuthError {
    AuthError::Status {
        endpoint,
        status,
        message: message_of(body),
    }
}

/// Twitch's error text: `message`, else `error_description` / `error`, else
/// the start of the body.
pub(crate) fn message_of(body: &[u8]) -> String {
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    ["message", "error_description", "error"]
        .iter()
        .find_map(|k| json.get(k).and_then(|v| v.as_str()))
        .map(str::to_owned)
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(200).collect())
}

/// `GET /validate` success body.
#[derive(Deserialize)]
struct ValidateBody {
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    user_id: String,
    #[serde(default, deserialize_with = "scope_list")]
    scopes: Option<Vec<String>>,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl ValidateBody {
    fn into_identity(self) -> Identity {
        Identity {
            client_id: self.client_id,
            login: self.login,
            user_id: self.user_id,
            scopes: self.scopes.unwrap_or_default(),
            expires_in: self.expires_in,
        }
    }
}

/// Scopes as Twitch sends them: a list, or null, or (in some OAuth
/// answers) one space-separated string.
fn scope_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scopes {
        List(Vec<String>),
        Text(String),
    }
    Ok(match Option::<Scopes>::deserialize(d)? {
        None => None,
        Some(Scopes::List(list)) => Some(list),
        Some(Scopes::Text(text)) => Some(text.split_whitespace().map(str::to_owned).collect()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_poll_answers() {
        assert!(matches!(
            device_poll_error(400, "authorization_pending"),
            Ok(Poll::Pending)
        ));
        assert!(matches!(
            device_poll_error(400, "slow_down"),
            Ok(Poll::SlowDown)
        ));
        assert!(matches!(
            device_poll_error(400, "invalid device code"),
            Err(AuthError::Expired)
        ));
        assert!(matches!(
            device_poll_error(400, "access_denied"),
            Err(AuthError::Denied)
        ));
        assert!(matches!(
            device_poll_error(500, "boom"),
            Err(AuthError::Status { status: 500, .. })
        ));
    }

    #[test]
    fn messages_and_scopes_are_read_leniently() {
        assert_eq!(
            message_of(br#"{"status":400,"message":"Invalid refresh token"}"#),
            "Invalid refresh token"
        );
        assert_eq!(message_of(br#"{"error":"slow_down"}"#), "slow_down");
        assert_eq!(message_of(b"gateway down"), "gateway down");
        let t: TokenResponse =
            serde_json::from_str(r#"{"access_token":"a","scope":"a b","token_type":"bearer"}"#)
                .unwrap();
        assert_eq!(t.scope.unwrap(), ["a", "b"]);
        let t: TokenResponse =
            serde_json::from_str(r#"{"access_token":"a","scope":null}"#).unwrap();
        assert!(t.scope.is_none());
        assert_eq!(expiry(Utc::now(), Some(0)), None);
        assert!(expiry(Utc::now(), Some(10)).is_some());
    }
}
