//! The OAuth side of the mock as plain data: access tokens (with scopes and
//! expiry), rotating refresh tokens, and device-code grants waiting for the
//! user's approval. The HTTP handlers in `oauth.rs` and the Helix
//! authorization check read it; the control API bends it (expire a token,
//! invalidate a refresh token, take scopes away).
//!
//! Pure: time comes in as an argument.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::ids;

/// Who a token is for and what it may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The user's id.
    pub user_id: String,
    /// The user's login.
    pub login: String,
    /// The client the token was issued to.
    pub client_id: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
}

/// A live access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// Who and what.
    pub grant: Grant,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// The refresh token issued with it, if any.
    pub refresh_token: Option<String>,
}

impl AccessToken {
    /// Seconds left (0 when expired).
    pub fn expires_in(&self, now: DateTime<Utc>) -> u64 {
        u64::try_from((self.expires_at - now).num_seconds()).unwrap_or(0)
    }

    /// Whether the token grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.grant.scopes.iter().any(|s| s == scope)
    }
}

/// A token response (`POST /oauth2/token`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    /// The new access token.
    pub access_token: String,
    /// The new refresh token (the old one no longer works).
    pub refresh_token: String,
    /// Seconds the access token lives.
    pub expires_in: u64,
    /// Its scopes.
    pub scopes: Vec<String>,
}

/// A device-code grant waiting for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DeviceGrant {
    client_id: String,
    scopes: Vec<String>,
    user_code: String,
    approved: bool,
    polls: u32,
    expires_at: DateTime<Utc>,
}

/// A started device flow (`POST /oauth2/device` answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceStart {
    /// What the client polls with.
    pub device_code: String,
    /// What the user types at the verification page.
    pub user_code: String,
}

/// OAuth failures, each with Twitch's status and message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OauthError {
    /// The user has not approved the device code yet.
    #[error("authorization_pending")]
    AuthorizationPending,
    /// Unknown, used or expired device code.
    #[error("invalid device code")]
    InvalidDeviceCode,
    /// Unknown, rotated or invalidated refresh token.
    #[error("Invalid refresh token")]
    InvalidRefreshToken,
    /// The client id is not the mock's.
    #[error("invalid client")]
    InvalidClient,
    /// Revoking an unknown token.
    #[error("Invalid token")]
    InvalidToken,
}

/// Every token and device grant.
#[derive(Debug, Clone)]
pub struct TokenStore {
    lifetime: TimeDelta,
    access: HashMap<String, AccessToken>,
    refresh: HashMap<String, Grant>,
    devices: HashMap<String, DeviceGrant>,
}

impl TokenStore {
    /// An empty store whose access tokens live `lifetime`.
    pub fn new(lifetime: Duration) -> Self {
        TokenStore {
            lifetime: TimeDelta::from_std(lifetime).unwrap_or(TimeDelta::hours(4)),
            access: HashMap::new(),
            refresh: HashMap::new(),
            devices: HashMap::new(),
        }
    }

    /// Adds a given pair of tokens (the pre-issued ones tests use).
    pub fn insert(
        &mut self,
        access_token: &str,
        refresh_token: &str,
        grant: Grant,
        now: DateTime<Utc>,
    ) {
        self.access.insert(
            access_token.to_owned(),
            AccessToken {
                grant: grant.clone(),
                expires_at: now + self.lifetime,
                refresh_token: Some(refresh_token.to_owned()),
            },
        );
        self.refresh.insert(refresh_token.to_owned(), grant);
    }

    /// Issues a fresh pair of tokens for `grant`.
    pub fn issue(&mut self, grant: Grant, now: DateTime<Utc>) -> Issued {
        let access_token = ids::token();
        let refresh_token = format!("{}{}", ids::token(), ids::random_alphanumeric(20));
        let scopes = grant.scopes.clone();
        self.insert(&access_token, &refresh_token, grant, now);
        Issued {
            access_token,
            refresh_token,
            expires_in: u64::try_from(self.lifetime.num_seconds()).unwrap_or(0),
            scopes,
        }
    }

    /// Issues an app access token for `client_id` (client credentials
    /// grant): no user, no scopes, no refresh token. Returns the token and
    /// its lifetime in seconds.
    pub fn issue_app(&mut self, client_id: &str, now: DateTime<Utc>) -> (String, u64) {
        let access_token = ids::token();
        self.access.insert(
            access_token.clone(),
            AccessToken {
                grant: Grant {
                    user_id: String::new(),
                    login: String::new(),
                    client_id: client_id.to_owned(),
                    scopes: Vec::new(),
                },
                expires_at: now + self.lifetime,
                refresh_token: None,
            },
        );
        let expires_in = u64::try_from(self.lifetime.num_seconds()).unwrap_or(0);
        (access_token, expires_in)
    }

    /// The token, if it exists and has not expired.
    pub fn validate(&self, token: &str, now: DateTime<Utc>) -> Option<&AccessToken> {
        self.access.get(token).filter(|t| t.expires_at > now)
    }

    /// Trades a refresh token for a new pair; the old refresh token stops
    /// working (public clients' refresh tokens rotate).
    pub fn refresh(
        &mut self,
        refresh_token: &str,
        client_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Issued, OauthError> {
        let grant = self
            .refresh
            .get(refresh_token)
            .ok_or(OauthError::InvalidRefreshToken)?;
        if client_id.is_some_and(|c| c != grant.client_id) {
            return Err(OauthError::InvalidClient);
        }
        let grant = self
            .refresh
            .remove(refresh_token)
            .ok_or(OauthError::InvalidRefreshToken)?;
        Ok(self.issue(grant, now))
    }

    /// Starts a device flow for `client_id` asking for `scopes`.
    pub fn start_device(
        &mut self,
        client_id: &str,
        scopes: Vec<String>,
        expires_in: Duration,
        now: DateTime<Utc>,
    ) -> DeviceStart {
        let device_code = ids::random_alphanumeric(40);
        let user_code = ids::user_code();
        self.devices.insert(
            device_code.clone(),
            DeviceGrant {
                client_id: client_id.to_owned(),
                scopes,
                user_code: user_code.clone(),
                approved: false,
                polls: 0,
                expires_at: now + TimeDelta::from_std(expires_in).unwrap_or(TimeDelta::minutes(30)),
            },
        );
        DeviceStart {
            device_code,
            user_code,
        }
    }

    /// One poll of the token endpoint with a device code. With
    /// `auto_approve`, the second poll finds the grant approved. Approved:
    /// tokens for `user` (id, login) and the device code is used up.
    pub fn poll_device(
        &mut self,
        device_code: &str,
        client_id: Option<&str>,
        user: (&str, &str),
        auto_approve: bool,
        now: DateTime<Utc>,
    ) -> Result<Issued, OauthError> {
        let device = self
            .devices
            .get_mut(device_code)
            .filter(|d| d.expires_at > now)
            .ok_or(OauthError::InvalidDeviceCode)?;
        if client_id.is_some_and(|c| c != device.client_id) {
            return Err(OauthError::InvalidClient);
        }
        device.polls += 1;
        if auto_approve && device.polls >= 2 {
            device.approved = true;
        }
        if !device.approved {
            return Err(OauthError::AuthorizationPending);
        }
        let device = self
            .devices
            .remove(device_code)
            .ok_or(OauthError::InvalidDeviceCode)?;
        let grant = Grant {
            user_id: user.0.to_owned(),
            login: user.1.to_owned(),
            client_id: device.client_id,
            scopes: device.scopes,
        };
        Ok(self.issue(grant, now))
    }

    /// Approves the pending grant with `user_code` (any case), or every
    /// pending grant when `None`. Returns how many were approved.
    pub fn approve(&mut self, user_code: Option<&str>) -> usize {
        let mut approved = 0;
        for device in self.devices.values_mut() {
            let matches = user_code.is_none_or(|code| code.eq_ignore_ascii_case(&device.user_code));
            if matches && !device.approved {
                device.approved = true;
                approved += 1;
            }
        }
        approved
    }

    /// Revokes an access token (and the refresh token issued with it) or a
    /// refresh token.
    pub fn revoke(&mut self, token: &str, client_id: &str) -> Result<(), OauthError> {
        if let Some(access) = self.access.get(token) {
            if access.grant.client_id != client_id {
                return Err(OauthError::InvalidClient);
            }
            if let Some(access) = self.access.remove(token)
                && let Some(refresh) = access.refresh_token
            {
                self.refresh.remove(&refresh);
            }
            return Ok(());
        }
        match self.refresh.get(token) {
            Some(grant) if grant.client_id != client_id => Err(OauthError::InvalidClient),
            Some(_) => {
                self.refresh.remove(token);
                Ok(())
            }
            None => Err(OauthError::InvalidToken),
        }
    }

    /// Makes an access token expire now; false when unknown.
    pub fn expire(&mut self, access_token: &str, now: DateTime<Utc>) -> bool {
        match self.access.get_mut(access_token) {
            Some(token) => {
                token.expires_at = now - TimeDelta::seconds(1);
                true
            }
            None => false,
        }
    }

    /// Makes a refresh token unusable; false when unknown.
    pub fn invalidate_refresh(&mut self, refresh_token: &str) -> bool {
        self.refresh.remove(refresh_token).is_some()
    }

    /// Replaces an access token's scopes (and those its refresh token will
    /// carry over); false when unknown.
    pub fn set_scopes(&mut self, access_token: &str, scopes: Vec<String>) -> bool {
        let Some(token) = self.access.get_mut(access_token) else {
            return false;
        };
        token.grant.scopes = scopes.clone();
        if let Some(refresh) = token.refresh_token.as_ref()
            && let Some(grant) = self.refresh.get_mut(refresh)
        {
            grant.scopes = scopes;
        }
        true
    }

    /// The scopes of an access token.
    pub fn scopes(&self, access_token: &str) -> Option<Vec<String>> {
        self.access
            .get(access_token)
            .map(|t| t.grant.scopes.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap()
    }

    fn grant() -> Grant {
        Grant {
            user_id: "100000001".into(),
            login: "stagehand_demo".into(),
            client_id: "stagehand-demo".into(),
            scopes: vec!["bits:read".into()],
        }
    }

    fn store() -> TokenStore {
        TokenStore::new(Duration::from_secs(3600))
    }

    #[test]
    fn tokens_expire() {
        let mut tokens = store();
        tokens.insert("a", "r", grant(), now());
        let token = tokens.validate("a", now()).unwrap();
        assert_eq!(token.expires_in(now()), 3600);
        assert!(token.has_scope("bits:read"));
        assert!(
            tokens
                .validate("a", now() + TimeDelta::seconds(3600))
                .is_none()
        );
        assert!(tokens.expire("a", now()));
        assert!(tokens.validate("a", now()).is_none());
        assert!(tokens.validate("nope", now()).is_none());
    }

    #[test]
    fn refresh_tokens_rotate() {
        let mut tokens = store();
        tokens.insert("a", "r", grant(), now());
        let issued = tokens.refresh("r", Some("stagehand-demo"), now()).unwrap();
        assert_ne!(issued.refresh_token, "r");
        assert_eq!(issued.scopes, ["bits:read"]);
        assert!(tokens.validate(&issued.access_token, now()).is_some());
        assert_eq!(
            tokens.refresh("r", None, now()),
            Err(OauthError::InvalidRefreshToken)
        );
        assert_eq!(
            tokens.refresh(&issued.refresh_token, Some("other"), now()),
            Err(OauthError::InvalidClient)
        );
        assert!(tokens.invalidate_refresh(&issued.refresh_token));
        assert_eq!(
            tokens.refresh(&issued.refresh_token, None, now()),
            Err(OauthError::InvalidRefreshToken)
        );
    }

    #[test]
    fn the_device_flow_waits_for_approval() {
        let mut tokens = store();
        let start = tokens.start_device(
            "stagehand-demo",
            vec!["user:read:chat".into()],
            Duration::from_secs(1800),
            now(),
        );
        let user = ("100000001", "stagehand_demo");
        assert_eq!(
            tokens.poll_device(&start.device_code, None, user, false, now()),
            Err(OauthError::AuthorizationPending)
        );
        assert_eq!(tokens.approve(Some(&start.user_code.to_lowercase())), 1);
        let issued = tokens
            .poll_device(
                &start.device_code,
                Some("stagehand-demo"),
                user,
                false,
                now(),
            )
            .unwrap();
        assert_eq!(issued.scopes, ["user:read:chat"]);
        // Used up.
        assert_eq!(
            tokens.poll_device(&start.device_code, None, user, false, now()),
            Err(OauthError::InvalidDeviceCode)
        );
    }

    #[test]
    fn auto_approval_happens_on_the_second_poll() {
        let mut tokens = store();
        let start = tokens.start_device("c", vec![], Duration::from_secs(60), now());
        let user = ("1", "u");
        assert!(
            tokens
                .poll_device(&start.device_code, None, user, true, now())
                .is_err()
        );
        assert!(
            tokens
                .poll_device(&start.device_code, None, user, true, now())
                .is_ok()
        );
        let late = tokens.start_device("c", vec![], Duration::from_secs(60), now());
        assert_eq!(
            tokens.poll_device(
                &late.device_code,
                None,
                user,
                true,
                now() + TimeDelta::minutes(2)
            ),
            Err(OauthError::InvalidDeviceCode)
        );
    }

    #[test]
    fn scopes_can_be_taken_away_and_tokens_revoked() {
        let mut tokens = store();
        tokens.insert("a", "r", grant(), now());
        assert!(tokens.set_scopes("a", vec![]));
        assert!(!tokens.validate("a", now()).unwrap().has_scope("bits:read"));
        // The refresh token carries the reduced scopes.
        let issued = tokens.refresh("r", None, now()).unwrap();
        assert!(issued.scopes.is_empty());
        assert_eq!(
            tokens.revoke(&issued.access_token, "other"),
            Err(OauthError::InvalidClient)
        );
        assert_eq!(
            tokens.revoke(&issued.access_token, "stagehand-demo"),
            Ok(())
        );
        assert!(tokens.validate(&issued.access_token, now()).is_none());
        assert_eq!(
            tokens.refresh(&issued.refresh_token, None, now()),
            Err(OauthError::InvalidRefreshToken)
        );
        assert_eq!(
            tokens.revoke("zzz", "stagehand-demo"),
            Err(OauthError::InvalidToken)
        );
    }
}
