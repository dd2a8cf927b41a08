//! The host's connection to Twitch as one part: the login ([`TwitchAuth`]),
//! the Helix client and the EventSub session, started together from the
//! configuration. Without a usable login the host still serves the overlay
//! and the dashboard, and says what to do.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::auth::{self, AuthError, AuthState, Identity, TwitchAuth};
use super::eventsub::protocol::Subscription;
use super::eventsub::session::{self, CreateError, EventSubHandle, SessionConfig, SubscriptionApi};
use super::eventsub::status::{ConnectionState, EventSubStatus};
use super::helix::{HelixClient, HelixError};
use crate::config::TwitchConfig;
use crate::pipeline::EventSender;

/// Twitch asks clients to validate their token every hour.
pub const VALIDATE_EVERY: Duration = Duration::from_secs(60 * 60);

/// How long start-up waits for Twitch before going on without it.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// Where the token comes from.
#[derive(Debug, Clone)]
pub enum TokenSource {
    /// The token file in the data directory, written by `stagehand login`.
    File(std::path::PathBuf),
    /// `TWITCH_ACCESS_TOKEN` (or the demo's look-alike): used as is.
    Fixed(String),
}

/// The connection to Twitch. Cheap to clone.
#[derive(Clone)]
pub struct TwitchLink {
    inner: Arc<Inner>,
}

struct Inner {
    auth: TwitchAuth,
    helix: HelixClient,
    /// Helix for `eventsub/subscriptions` (another base URL with the Twitch
    /// CLI's mock server; the same as `helix` against Twitch).
    eventsub_api: HelixClient,
    session: OnceLock<EventSubHandle>,
    identity: OnceLock<Identity>,
}

/// The Helix client seen through the session's [`SubscriptionApi`].
#[derive(Clone)]
struct HelixSubscriptions(HelixClient);

impl SubscriptionApi for HelixSubscriptions {
    async fn create(&self, body: Value) -> Result<Subscription, CreateError> {
        self.0
            .create_eventsub_subscription(&body)
            .await
            .map_err(|e| match e {
                HelixError::Conflict { .. } => CreateError::Conflict,
                HelixError::MissingScope { scope, .. } => CreateError::MissingScope(scope),
                HelixError::Status {
                    status: 400,
                    message,
                    ..
                } if message.contains(session::NOT_VALID_TYPE) => CreateError::Unsupported(message),
                other => CreateError::Failed(other.to_string()),
            })
    }

    async fn list(&self) -> Result<Vec<Subscription>, String> {
        self.0
            .eventsub_subscriptions()
            .await
            .map_err(|e| e.to_string())
    }

    async fn delete(&self, id: String) -> Result<(), String> {
        self.0
            .delete_eventsub_subscription(&id)
            .await
            .map_err(|e| e.to_string())
    }
}

/// What `GET /api/eventsub` answers.
#[derive(Debug, Clone, Serialize)]
pub struct LinkStatus {
    /// The login's state (`logged_out`, `valid`, `needs_login`).
    pub auth: AuthState,
    #[serde(flatten)]
    pub eventsub: EventSubStatus,
}

impl TwitchLink {
    /// Builds the parts; nothing is contacted yet.
    pub fn new(http: reqwest::Client, config: &TwitchConfig, token: TokenSource) -> Self {
        let (file, fixed) = match token {
            TokenSource::File(path) => (Some(path), None),
            TokenSource::Fixed(token) => (None, Some(token)),
        };
        let auth = TwitchAuth::new(
            http.clone(),
            &config.auth_url,
            config.client_id.clone(),
            file,
            fixed,
        );
        let helix = HelixClient::new(http.clone(), &config.api_url, auth.clone());
        let eventsub_api = if config.eventsub_api_url == config.api_url {
            helix.clone()
        } else {
            HelixClient::new(http, &config.eventsub_api_url, auth.clone())
        };
        TwitchLink {
            inner: Arc::new(Inner {
                auth,
                helix,
                eventsub_api,
                session: OnceLock::new(),
                identity: OnceLock::new(),
            }),
        }
    }

    /// Validates the login and, if it is usable, starts hourly validation
    /// and the EventSub session on `eventsub_url`. A missing or dead login
    /// is logged with what to do, and the host goes on without Twitch.
    pub async fn start(
        &self,
        eventsub_url: &str,
        events: EventSender,
        cancel: CancellationToken,
    ) -> Option<Identity> {
        let identity = match tokio::time::timeout(START_TIMEOUT, self.inner.auth.start()).await {
            Ok(Ok(identity)) => identity,
            Ok(Err(AuthError::NotLoggedIn)) => {
                tracing::warn!(
                    "not logged in to Twitch: run `stagehand login` (or set TWITCH_ACCESS_TOKEN); serving without Twitch events"
                );
                return None;
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "Twitch login unusable; serving without Twitch events");
                return None;
            }
            Err(_) => {
                tracing::error!(
                    "Twitch did not answer the token check within {START_TIMEOUT:?}; serving without Twitch events"
                );
                return None;
            }
        };
        tracing::info!(login = %identity.login, user_id = %identity.user_id, scopes = identity.scopes.len(), "logged in to Twitch");
        let _ = self.inner.identity.set(identity.clone());
        self.inner
            .auth
            .spawn_validator(VALIDATE_EVERY, cancel.clone());
        let config = SessionConfig::new(
            eventsub_url,
            &identity.user_id,
            &identity.user_id,
            identity.scopes.clone(),
        );
        let (handle, _task) = session::spawn(
            config,
            HelixSubscriptions(self.inner.eventsub_api.clone()),
            events,
            true,
            cancel,
        );
        let _ = self.inner.session.set(handle);
        Some(identity)
    }

    /// The login, for logout and for other Twitch clients.
    pub fn auth(&self) -> &TwitchAuth {
        &self.inner.auth
    }

    /// The Helix client (the pollers and chat use it).
    pub fn helix(&self) -> &HelixClient {
        &self.inner.helix
    }

    /// Who we are logged in as, once validated.
    pub fn identity(&self) -> Option<&Identity> {
        self.inner.identity.get()
    }

    /// The EventSub session, once started.
    pub fn session(&self) -> Option<&EventSubHandle> {
        self.inner.session.get()
    }

    /// The status for the API and dashboard.
    pub fn status(&self) -> LinkStatus {
        let auth = self.inner.auth.state();
        let eventsub = match self.session() {
            Some(session) => session.status(),
            None => EventSubStatus {
                state: match auth {
                    AuthState::NeedsLogin { .. } | AuthState::LoggedOut => {
                        ConnectionState::NeedsLogin
                    }
                    AuthState::Valid { .. } => ConnectionState::Disabled,
                },
                ..Default::default()
            },
        };
        LinkStatus { auth, eventsub }
    }

    /// State changes of the session (none before it started).
    pub fn watch(&self) -> Option<watch::Receiver<EventSubStatus>> {
        self.session().map(EventSubHandle::watch)
    }
}

/// The token file in `data_dir`.
pub fn token_file(data_dir: &std::path::Path) -> std::path::PathBuf {
    auth::token_path(data_dir)
}
