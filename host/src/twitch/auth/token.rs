//! The saved login: `<data_dir>/twitch-token.json`, owner-only (0600),
//! always holding the latest (rotated) refresh token.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::AuthError;

/// File name of the saved token inside the data directory.
pub const TOKEN_FILE: &str = "twitch-token.json";

/// A Twitch user access token as saved on disk, so a restart does not need
/// a new login. Saved in `<data_dir>/twitch-token.json` with mode 0600.
/// `Debug` redacts both tokens so they never reach a log.
#[derive(Serialize, Deserialize, Clone, PartialEq)]
pub struct StoredToken {
    /// Sent to Helix as `Bearer` and to `/validate` as `OAuth`.
    pub access_token: String,
    /// Trades for a new access token; rotates on every use (public client).
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// What the streamer granted (decides which subscriptions are possible).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The application the token was issued to (must match `Client-Id`).
    #[serde(default)]
    pub client_id: String,
    /// When the access token stops working, if Twitch said.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for StoredToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredToken")
            .field("access_token", &"<redacted>")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("scopes", &self.scopes)
            .field("client_id", &self.client_id)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl StoredToken {
    /// Whether the access token expires within `margin` of `now` (false
    /// when the expiry is unknown: Twitch's 401 will tell).
    pub fn expires_within(&self, now: DateTime<Utc>, margin: TimeDelta) -> bool {
        self.expires_at.is_some_and(|at| at - now <= margin)
    }
}

/// Where the token lives inside the data directory, so the CLI's `login`
/// and the host agree on it.
pub fn token_path(data_dir: &Path) -> PathBuf {
    data_dir.join(TOKEN_FILE)
}

/// Reads the saved token: `Ok(None)` when there is none, a clear error when
/// the file is damaged. Tightens the file to 0600 if someone loosened it.
pub fn load_token(path: &Path) -> Result<Option<StoredToken>, AuthError> {
    let file_err = |source| AuthError::File {
        path: path.to_owned(),
        source,
    };
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(file_err(e)),
    };
    restrict(path).map_err(file_err)?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|source| AuthError::Corrupt {
            path: path.to_owned(),
            source,
        })
}

/// Writes the token atomically with mode 0600 (creating the directory), so
/// the file always holds a complete, latest token.
pub fn save_token(path: &Path, token: &StoredToken) -> Result<(), AuthError> {
    let file_err = |source| AuthError::File {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::secrets::private_dir(dir).map_err(file_err)?;
    }
    let text = serde_json::to_string_pretty(token)
        .map_err(|e| AuthError::Protocol(format!("cannot encode the token: {e}")))?;
    crate::secrets::store(path, &text).map_err(file_err)
}

/// Deletes the token file; a missing file is already deleted.
pub(crate) fn delete_token(path: &Path) -> Result<(), AuthError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(AuthError::File {
            path: path.to_owned(),
            source: e,
        }),
        _ => Ok(()),
    }
}

fn restrict(path: &Path) -> std::io::Result<()> {
    let mode = fs::metadata(path)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        tracing::warn!(path = %path.display(), mode = format!("{mode:o}"), "Twitch token file was readable by others; setting 0600");
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> StoredToken {
        StoredToken {
            access_token: "secret-access".into(),
            refresh_token: Some("secret-refresh".into()),
            scopes: vec!["user:read:chat".into()],
            client_id: "cid".into(),
            expires_at: DateTime::from_timestamp(1_700_000_000, 0),
        }
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn saved_with_0600_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = token_path(&dir.path().join("nested"));
        save_token(&path, &sample()).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(load_token(&path).unwrap(), Some(sample()));
    }

    #[test]
    fn loosened_permissions_are_tightened_on_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = token_path(dir.path());
        save_token(&path, &sample()).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(load_token(&path).unwrap().is_some());
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn a_missing_file_is_no_token_and_a_damaged_one_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = token_path(dir.path());
        assert_eq!(load_token(&path).unwrap(), None);
        fs::write(&path, "{not json").unwrap();
        let err = load_token(&path).unwrap_err();
        assert!(matches!(err, AuthError::Corrupt { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(text.contains("stagehand login"), "{text}");
    }

    #[test]
    fn debug_never_shows_tokens() {
        let shown = format!("{:?}", sample());
        assert!(!shown.contains("secret"), "{shown}");
        assert!(
            shown.contains("<redacted>") && shown.contains("cid"),
            "{shown}"
        );
    }

    #[test]
    fn expiry_margin() {
        let now = Utc::now();
        let mut t = sample();
        t.expires_at = Some(now + TimeDelta::minutes(4));
        assert!(t.expires_within(now, TimeDelta::minutes(5)));
        t.expires_at = Some(now + TimeDelta::minutes(6));
        assert!(!t.expires_within(now, TimeDelta::minutes(5)));
        t.expires_at = None;
        assert!(!t.expires_within(now, TimeDelta::minutes(5)));
    }
}
