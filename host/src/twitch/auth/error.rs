//! Why a login or token operation failed, worded for the streamer: every
//! message says what to do next, and none contains a token.

use std::path::PathBuf;

/// Everything that can go wrong logging in to Twitch or keeping the token
/// alive. Variants that need the streamer to act say so in their message,
/// so callers can show `to_string()` as is.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No saved token and none in the environment.
    #[error("not logged in to Twitch: run `stagehand login` (or set TWITCH_ACCESS_TOKEN)")]
    NotLoggedIn,
    /// Refresh, revoke and the device flow all need the application's id.
    #[error(
        "no Twitch client id: set TWITCH_CLIENT_ID (or `client_id` under [twitch] in the config file) \
         to your application's id from dev.twitch.tv"
    )]
    NoClientId,
    /// Twitch answered 401 for the token and it cannot be refreshed (no
    /// refresh token, e.g. a TWITCH_ACCESS_TOKEN, or a refresh did not help).
    #[error(
        "the Twitch token is invalid or expired and cannot be refreshed; \
         run `stagehand login` again (or set a fresh TWITCH_ACCESS_TOKEN)"
    )]
    InvalidToken,
    /// Twitch refused the refresh token (revoked, or already used): only a
    /// new login helps.
    #[error(
        "Twitch rejected the saved refresh token (revoked or already used), so you need to \
         log in again: run `stagehand login` again"
    )]
    RefreshRejected,
    /// The streamer declined the authorization in the browser.
    #[error("the Twitch authorization was denied; run `stagehand login` to try again")]
    Denied,
    /// The device code expired before the streamer approved it.
    #[error("the Twitch login code expired before it was approved; run `stagehand login` again")]
    Expired,
    /// The token belongs to another application than the configured one;
    /// Helix refuses such a pair.
    #[error(
        "the Twitch token from {origin} was issued to client id {token}, but the configured client \
         id is {configured}; {fix}"
    )]
    ClientIdMismatch {
        /// Where the token came from: `TWITCH_ACCESS_TOKEN` or the saved login.
        origin: &'static str,
        /// The client id Twitch reports for the token.
        token: String,
        /// The client id from the configuration.
        configured: String,
        /// What to do about it, for that source.
        fix: &'static str,
    },
    /// Twitch could not be reached (network, DNS, TLS, timeout).
    #[error("could not reach Twitch's login service: {0}; check the network and try again")]
    Http(reqwest::Error),
    /// Twitch answered with a status this code does not expect there.
    #[error("Twitch's {endpoint} answered {status}: {message}; try again later")]
    Status {
        /// Which auth endpoint (`validate`, `token`, `device`, `revoke`).
        endpoint: &'static str,
        /// The HTTP status.
        status: u16,
        /// Twitch's `message`, or the start of the body.
        message: String,
    },
    /// Twitch answered 2xx with a body we cannot read.
    #[error("unexpected answer from Twitch's login service: {0}")]
    Protocol(String),
    /// Reading or writing the token file failed.
    #[error("Twitch token file {}: {source}", path.display())]
    File {
        /// The token file.
        path: PathBuf,
        /// What the file system said.
        source: std::io::Error,
    },
    /// The token file is not the JSON we write.
    #[error(
        "Twitch token file {} is damaged ({source}); delete it and run `stagehand login` again",
        path.display()
    )]
    Corrupt {
        /// The token file.
        path: PathBuf,
        /// Where the JSON went wrong.
        source: serde_json::Error,
    },
    /// Logging out removed the local token, but Twitch was not told.
    #[error(
        "logged out locally (token file removed), but Twitch could not revoke the token: {reason}; \
         you can also disconnect Stagehand at twitch.tv/settings/connections"
    )]
    RevokeFailed {
        /// Why the revoke call failed.
        reason: String,
    },
}

impl AuthError {
    /// Whether the streamer must log in again (as opposed to a transient
    /// failure worth retrying later); decides `AuthState::NeedsLogin`.
    pub fn needs_login(&self) -> bool {
        matches!(
            self,
            AuthError::InvalidToken
                | AuthError::RefreshRejected
                | AuthError::Denied
                | AuthError::Expired
                | AuthError::ClientIdMismatch { .. }
                | AuthError::Corrupt { .. }
                | AuthError::NoClientId
        )
    }
}
