//! Twitch login: the device code flow, the saved token, validation at
//! start-up and hourly (Twitch requires it), and refreshes.
//!
//! [`TwitchAuth`] is the one owner of the live token. Helix asks it for the
//! token to send ([`TwitchAuth::access_token`]) and, after a 401, for a
//! fresh one ([`TwitchAuth::refresh_after_401`]); refreshes are single
//! flight because Twitch rotates refresh tokens: two concurrent refreshes
//! with the same refresh token would leave one of them (and maybe the saved
//! file) holding a dead token. Every rotated token is saved at once, so the
//! file always holds the latest. Health is published as an [`AuthState`]
//! on a watch channel. Tokens never reach a log.

mod device;
mod error;
mod oauth;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;
mod token;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use device::device_login;
pub use error::AuthError;
pub use token::{StoredToken, TOKEN_FILE, load_token, save_token, token_path};

/// Tokens expiring within this are refreshed before use, so a request does
/// not start with a token that dies in flight.
pub const REFRESH_MARGIN: TimeDelta = TimeDelta::minutes(5);

/// What `/oauth2/validate` said about the token: whose it is and what it may
/// do (the subscription planner reads the scopes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// The application the token was issued to.
    pub client_id: String,
    /// The streamer's login name.
    pub login: String,
    /// The streamer's user id (the broadcaster id in Helix and EventSub).
    pub user_id: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Seconds until the token expires, as Twitch said (0 or absent: none).
    pub expires_in: Option<u64>,
}

/// Login health, for the dashboard and the parts that need Twitch.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AuthState {
    /// No token: nothing Twitch-related can run until `stagehand login`.
    LoggedOut,
    /// Twitch accepted the token.
    Valid {
        /// The streamer's login name.
        login: String,
        /// The streamer's user id.
        user_id: String,
        /// Granted scopes.
        scopes: Vec<String>,
    },
    /// The token is unusable; `reason` says what the streamer must do.
    NeedsLogin {
        /// A sentence for the streamer (e.g. "... log in again ...").
        reason: String,
    },
}

/// The answer to `POST /device`: what to show the streamer and how to poll.
#[derive(Clone, Deserialize)]
pub struct DeviceCode {
    /// Secret for polling `/token`; never shown.
    pub device_code: String,
    /// The code the streamer types (or sees prefilled) at `verification_uri`.
    pub user_code: String,
    /// Where the streamer approves the login.
    pub verification_uri: String,
    /// Seconds until the codes expire.
    pub expires_in: u64,
    /// Seconds to wait between polls.
    pub interval: u64,
}

impl std::fmt::Debug for DeviceCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceCode")
            .field("device_code", &"<redacted>")
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri)
            .field("expires_in", &self.expires_in)
            .field("interval", &self.interval)
            .finish()
    }
}

/// The live Twitch login, shared (cheap to clone) by everything that talks
/// to Twitch.
#[derive(Clone)]
pub struct TwitchAuth {
    inner: Arc<Inner>,
}

/// Shows the state only: never the token.
impl std::fmt::Debug for TwitchAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwitchAuth")
            .field("auth_url", &self.inner.auth_url)
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

struct Inner {
    http: reqwest::Client,
    auth_url: String,
    configured_client_id: Option<String>,
    token_file: Option<PathBuf>,
    env_token: Option<String>,
    current: Mutex<Current>,
    state: watch::Sender<AuthState>,
    /// Held while refreshing, so refreshes are single flight.
    refresh_gate: tokio::sync::Mutex<()>,
}

/// The token in memory and what we learned about it.
#[derive(Default)]
struct Current {
    token: Option<StoredToken>,
    identity: Option<Identity>,
    loaded: bool,
    /// Twitch rejected this token's refresh token: don't ask again.
    refresh_dead: bool,
}

impl TwitchAuth {
    /// A login that reads `token_file` (None = don't persist, for an env
    /// token) or uses `env_token` (TWITCH_ACCESS_TOKEN: skips the flow, no
    /// refresh). Nothing is read or sent until [`TwitchAuth::start`].
    pub fn new(
        http: reqwest::Client,
        auth_url: &str,
        client_id: Option<String>,
        token_file: Option<PathBuf>,
        env_token: Option<String>,
    ) -> Self {
        let (state, _) = watch::channel(AuthState::LoggedOut);
        TwitchAuth {
            inner: Arc::new(Inner {
                http,
                auth_url: auth_url.trim_end_matches('/').to_owned(),
                configured_client_id: client_id.filter(|c| !c.is_empty()),
                token_file,
                env_token: env_token.filter(|t| !t.is_empty()),
                current: Mutex::new(Current::default()),
                state,
                refresh_gate: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// Loads the token, validates it (refreshing first if it has expired or
    /// Twitch answers 401) and returns who we are. On an unusable token the
    /// state becomes `NeedsLogin { reason }` and the error says what to do;
    /// without a token it is `LoggedOut` and `AuthError::NotLoggedIn`.
    pub async fn start(&self) -> Result<Identity, AuthError> {
        let result = self.check().await;
        if let Err(e) = &result {
            self.note_failure(e);
        }
        result
    }

    /// The access token to send now, refreshed first if it expires within
    /// [`REFRESH_MARGIN`] (a failed early refresh keeps the still-valid one).
    pub async fn access_token(&self) -> Result<String, AuthError> {
        let token = self.current_token(false)?;
        let now = Utc::now();
        let dead = self.lock().refresh_dead;
        if dead || token.refresh_token.is_none() || !token.expires_within(now, REFRESH_MARGIN) {
            return Ok(token.access_token);
        }
        match self.refresh_if_current(&token.access_token).await {
            Ok(fresh) => Ok(fresh),
            Err(e) if !token.expires_within(now, TimeDelta::zero()) => {
                tracing::warn!(error = %e, "could not refresh the Twitch token early; using it until it expires");
                Ok(token.access_token)
            }
            Err(e) => Err(e),
        }
    }

    /// After Helix answered 401 for `rejected`: refreshes once. Single
    /// flight: concurrent callers wait for the same refresh, and if the
    /// token already changed since `rejected` the new one is returned
    /// without refreshing again.
    pub async fn refresh_after_401(&self, rejected: &str) -> Result<String, AuthError> {
        self.refresh_if_current(rejected).await
    }

    /// The client id to send as `Client-Id`: the configured one, else the
    /// one learned from `/validate` or the saved token.
    pub fn client_id(&self) -> Option<String> {
        if let Some(id) = &self.inner.configured_client_id {
            return Some(id.clone());
        }
        let cur = self.lock();
        let learned = cur.identity.as_ref().map(|i| i.client_id.clone());
        learned
            .into_iter()
            .chain(cur.token.as_ref().map(|t| t.client_id.clone()))
            .find(|c| !c.is_empty())
    }

    /// Who the token belongs to, once validated.
    pub fn identity(&self) -> Option<Identity> {
        self.lock().identity.clone()
    }

    /// The current login health.
    pub fn state(&self) -> AuthState {
        self.inner.state.borrow().clone()
    }

    /// Health changes, for parts that must stop or resume with the login.
    pub fn watch(&self) -> watch::Receiver<AuthState> {
        self.inner.state.subscribe()
    }

    /// Validates every `every` (Twitch requires hourly) until `cancel`; a
    /// 401 triggers a refresh, an unusable token makes the state
    /// `NeedsLogin`, a network failure is logged and retried next time.
    pub fn spawn_validator(&self, every: Duration, cancel: CancellationToken) -> JoinHandle<()> {
        let auth = self.clone();
        tokio::spawn(async move {
            let start = tokio::time::Instant::now() + every;
            let mut tick = tokio::time::interval_at(start, every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tick.tick() => {}
                }
                match auth.start().await {
                    Ok(id) => tracing::debug!(login = %id.login, "Twitch token validated"),
                    Err(e) => tracing::warn!(error = %e, "Twitch token validation failed"),
                }
            }
        })
    }

    /// Logs out: revokes the token at Twitch and deletes the file. The file
    /// is deleted even when Twitch cannot be reached
    /// ([`AuthError::RevokeFailed`] then says so).
    pub async fn logout(&self) -> Result<(), AuthError> {
        let token = match self.current_token(true) {
            Ok(token) => Some(token),
            Err(AuthError::NotLoggedIn | AuthError::Corrupt { .. }) => None,
            Err(e) => return Err(e),
        };
        let revoked = match &token {
            Some(token) => self.revoke(token).await,
            None => Ok(()),
        };
        if let Some(path) = self.file() {
            token::delete_token(path)?;
        }
        *self.lock() = Current {
            loaded: true,
            ..Current::default()
        };
        self.set_state(AuthState::LoggedOut);
        revoked.map_err(|e| AuthError::RevokeFailed {
            reason: e.to_string(),
        })
    }

    async fn revoke(&self, token: &StoredToken) -> Result<(), AuthError> {
        let client_id = self.client_id_for(token)?;
        oauth::revoke(
            &self.inner.http,
            &self.inner.auth_url,
            &client_id,
            &token.access_token,
        )
        .await
    }

    /// Start-up and periodic check: refresh if expired, validate, refresh
    /// and validate again on 401.
    async fn check(&self) -> Result<Identity, AuthError> {
        let reload = !matches!(self.state(), AuthState::Valid { .. });
        let token = self.current_token(reload)?;
        let mut access = token.access_token.clone();
        if token.refresh_token.is_some() && token.expires_within(Utc::now(), TimeDelta::zero()) {
            access = self.refresh_if_current(&access).await?;
        }
        let identity = match self.validate(&access).await {
            Err(AuthError::InvalidToken) => {
                access = self.refresh_if_current(&access).await?;
                self.validate(&access).await?
            }
            other => other?,
        };
        self.accept(&access, identity)
    }

    async fn validate(&self, access: &str) -> Result<Identity, AuthError> {
        oauth::validate(&self.inner.http, &self.inner.auth_url, access).await
    }

    /// Records a validated identity (and what it says about the token).
    fn accept(&self, access: &str, identity: Identity) -> Result<Identity, AuthError> {
        if let Some(configured) = &self.inner.configured_client_id
            && !identity.client_id.is_empty()
            && identity.client_id != *configured
        {
            let (origin, fix) = if self.inner.env_token.is_some() {
                (
                    "TWITCH_ACCESS_TOKEN",
                    "set TWITCH_ACCESS_TOKEN to a token of that application (or fix TWITCH_CLIENT_ID)",
                )
            } else {
                (
                    "the saved login (`stagehand login`)",
                    "run `stagehand login` again (or fix TWITCH_CLIENT_ID)",
                )
            };
            return Err(AuthError::ClientIdMismatch {
                origin,
                token: identity.client_id,
                configured: configured.clone(),
                fix,
            });
        }
        let changed = {
            let mut cur = self.lock();
            cur.identity = Some(identity.clone());
            cur.token
                .as_mut()
                .filter(|t| t.access_token == access)
                .and_then(|t| learn(t, &identity))
        };
        if let Some(token) = changed {
            self.persist(&token);
        }
        self.set_state(AuthState::Valid {
            login: identity.login.clone(),
            user_id: identity.user_id.clone(),
            scopes: identity.scopes.clone(),
        });
        Ok(identity)
    }

    /// Single-flight refresh of `rejected` (see `refresh_after_401`).
    async fn refresh_if_current(&self, rejected: &str) -> Result<String, AuthError> {
        let _gate = self.inner.refresh_gate.lock().await;
        let current = self.current_token(false)?;
        if current.access_token != rejected {
            return Ok(current.access_token);
        }
        if let Some(newer) = self.newer_saved_token(&current) {
            return Ok(newer.access_token);
        }
        let result = self.refresh_locked(&current).await;
        if let Err(e) = &result {
            self.note_failure(e);
        }
        result
    }

    /// Calls `/token` with the refresh grant; the caller holds the gate.
    async fn refresh_locked(&self, current: &StoredToken) -> Result<String, AuthError> {
        let Some(refresh_token) = current.refresh_token.as_deref() else {
            return Err(AuthError::InvalidToken);
        };
        if self.lock().refresh_dead {
            return Err(AuthError::RefreshRejected);
        }
        let client_id = self.client_id_for(current)?;
        let answer = oauth::refresh(
            &self.inner.http,
            &self.inner.auth_url,
            &client_id,
            refresh_token,
        )
        .await;
        let fresh = match answer {
            Ok(answer) => answer.into_stored(&client_id, Some(current)),
            Err(e) => {
                if matches!(e, AuthError::RefreshRejected) {
                    self.lock().refresh_dead = true;
                }
                return Err(e);
            }
        };
        self.persist(&fresh);
        let identity = {
            let mut cur = self.lock();
            cur.token = Some(fresh.clone());
            cur.identity.clone()
        };
        if let Some(id) = identity {
            self.set_state(AuthState::Valid {
                login: id.login,
                user_id: id.user_id,
                scopes: fresh.scopes.clone(),
            });
        }
        tracing::info!("Twitch token refreshed");
        Ok(fresh.access_token)
    }

    /// A token another process (e.g. `stagehand login`) saved since we read
    /// the file: adopted instead of refreshing ours.
    fn newer_saved_token(&self, current: &StoredToken) -> Option<StoredToken> {
        let saved = match load_token(self.file()?) {
            Ok(saved) => saved?,
            Err(e) => {
                tracing::warn!(error = %e, "could not re-read the Twitch token file");
                return None;
            }
        };
        if saved.access_token == current.access_token {
            return None;
        }
        tracing::info!("using the Twitch token saved by another `stagehand` process");
        let mut cur = self.lock();
        cur.token = Some(saved.clone());
        cur.refresh_dead = false;
        Some(saved)
    }

    /// The token in memory, read (env, else file) the first time or when
    /// `reload`.
    fn current_token(&self, reload: bool) -> Result<StoredToken, AuthError> {
        if reload || !self.lock().loaded {
            self.load()?;
        }
        self.lock().token.clone().ok_or(AuthError::NotLoggedIn)
    }

    fn load(&self) -> Result<(), AuthError> {
        let token = match (&self.inner.env_token, &self.inner.token_file) {
            (Some(env), _) => {
                if self.lock().loaded {
                    return Ok(());
                }
                Some(StoredToken {
                    access_token: env.clone(),
                    refresh_token: None,
                    scopes: Vec::new(),
                    client_id: self.inner.configured_client_id.clone().unwrap_or_default(),
                    expires_at: None,
                })
            }
            (None, Some(path)) => load_token(path)?,
            (None, None) => None,
        };
        let mut cur = self.lock();
        cur.loaded = true;
        let same =
            cur.token.as_ref().map(|t| &t.access_token) == token.as_ref().map(|t| &t.access_token);
        if !same {
            cur.token = token;
            cur.refresh_dead = false;
        }
        Ok(())
    }

    /// The client id a token's refresh/revoke must name: the token's own,
    /// else the configured or learned one.
    fn client_id_for(&self, token: &StoredToken) -> Result<String, AuthError> {
        Some(token.client_id.clone())
            .filter(|c| !c.is_empty())
            .or_else(|| self.client_id())
            .ok_or(AuthError::NoClientId)
    }

    /// The file to save tokens in; none for an env token.
    fn file(&self) -> Option<&Path> {
        match self.inner.env_token {
            Some(_) => None,
            None => self.inner.token_file.as_deref(),
        }
    }

    /// Saves `token`; a failure is logged loudly (the token in memory still
    /// works, but the next start will need a login).
    fn persist(&self, token: &StoredToken) {
        if let Some(path) = self.file()
            && let Err(e) = save_token(path, token)
        {
            tracing::error!(error = %e, "could not save the Twitch token; the next start will need `stagehand login`");
        }
    }

    /// Moves the state after a failure: `LoggedOut` without a token,
    /// `NeedsLogin` for an unusable one, unchanged for transient errors.
    fn note_failure(&self, e: &AuthError) {
        if matches!(e, AuthError::NotLoggedIn) {
            self.set_state(AuthState::LoggedOut);
        } else if e.needs_login() {
            self.set_state(AuthState::NeedsLogin {
                reason: e.to_string(),
            });
        }
    }

    fn set_state(&self, new: AuthState) {
        self.inner.state.send_if_modified(|state| {
            if *state == new {
                return false;
            }
            match &new {
                AuthState::NeedsLogin { reason } => tracing::warn!(%reason, "Twitch login needed"),
                AuthState::Valid { login, .. } => tracing::info!(%login, "Twitch login valid"),
                AuthState::LoggedOut => tracing::info!("not logged in to Twitch"),
            }
            *state = new;
            true
        });
    }

    fn lock(&self) -> MutexGuard<'_, Current> {
        self.inner
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Updates `token` with what `/validate` said; returns it when something
/// worth saving (client id, scopes) changed.
fn learn(token: &mut StoredToken, identity: &Identity) -> Option<StoredToken> {
    if let Some(at) = oauth::expiry(Utc::now(), identity.expires_in) {
        token.expires_at = Some(at);
    }
    let changed = (!identity.client_id.is_empty() && token.client_id != identity.client_id)
        || token.scopes != identity.scopes;
    if !identity.client_id.is_empty() {
        token.client_id = identity.client_id.clone();
    }
    token.scopes = identity.scopes.clone();
    changed.then(|| token.clone())
}
