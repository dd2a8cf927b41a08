//! Why a Helix call failed, with the endpoint it was, worded for the
//! streamer where they can act.

use crate::twitch::auth::AuthError;

/// A failed Helix call. Every variant but `Auth` names the endpoint (e.g.
/// `GET /channels/followers`).
#[derive(Debug, thiserror::Error)]
pub enum HelixError {
    /// Twitch said the token lacks a scope ("Missing scope: X"): only a new
    /// login granting it helps, so no refresh is tried.
    #[error("the Twitch token lacks the scope {scope}; run `stagehand login` again to grant it")]
    MissingScope {
        /// The call that needed it.
        endpoint: String,
        /// The scope Twitch named.
        scope: String,
    },
    /// 409: the thing exists already (e.g. a duplicate EventSub
    /// subscription).
    #[error("Twitch {endpoint}: already exists (409): {message}")]
    Conflict {
        /// The call.
        endpoint: String,
        /// Twitch's message.
        message: String,
    },
    /// 401 again after refreshing the token.
    #[error(
        "Twitch {endpoint} rejected the token even after refreshing it (401: {message}); \
         run `stagehand login` again"
    )]
    Unauthorized {
        /// The call.
        endpoint: String,
        /// Twitch's message.
        message: String,
    },
    /// Another 4xx, with Twitch's message.
    #[error("Twitch {endpoint} answered {status}: {message}")]
    Status {
        /// The call.
        endpoint: String,
        /// The HTTP status.
        status: u16,
        /// Twitch's message.
        message: String,
    },
    /// 5xx until we gave up (or once, for a call not safe to repeat).
    #[error(
        "Twitch {endpoint} failed with {status} ({message}) after {attempts} attempt(s); try again later"
    )]
    Unavailable {
        /// The call.
        endpoint: String,
        /// The last HTTP status.
        status: u16,
        /// Twitch's message.
        message: String,
        /// Requests sent.
        attempts: u32,
    },
    /// 429 until we gave up.
    #[error(
        "Twitch {endpoint} kept answering 429 Too Many Requests ({attempts} attempts); try again later"
    )]
    RateLimited {
        /// The call.
        endpoint: String,
        /// Requests sent.
        attempts: u32,
    },
    /// Twitch could not be reached until we gave up.
    #[error("could not reach Twitch {endpoint} after {attempts} attempt(s): {source}")]
    Http {
        /// The call.
        endpoint: String,
        /// Requests tried.
        attempts: u32,
        /// The last transport error.
        source: reqwest::Error,
    },
    /// A 2xx answer we cannot read.
    #[error("Twitch {endpoint} sent an answer we cannot read: {detail}")]
    Decode {
        /// The call.
        endpoint: String,
        /// What was wrong.
        detail: String,
    },
    /// No usable token (not logged in, refresh rejected, ...).
    #[error(transparent)]
    Auth(#[from] AuthError),
}

impl HelixError {
    /// The call that failed, if the error is about one.
    pub fn endpoint(&self) -> Option<&str> {
        match self {
            HelixError::MissingScope { endpoint, .. }
            | HelixError::Conflict { endpoint, .. }
            | HelixError::Unauthorized { endpoint, .. }
            | HelixError::Status { endpoint, .. }
            | HelixError::Unavailable { endpoint, .. }
            | HelixError::RateLimited { endpoint, .. }
            | HelixError::Http { endpoint, .. }
            | HelixError::Decode { endpoint, .. } => Some(endpoint),
            HelixError::Auth(_) => None,
        }
    }
}

/// The scope named by Twitch's "Missing scope: X" wording, if `message`
/// says that.
pub fn missing_scope(message: &str) -> Option<String> {
    const NEEDLE: &str = "missing scope";
    let at = message.to_ascii_lowercase().find(NEEDLE)?;
    let rest = &message[at + NEEDLE.len()..];
    let rest = rest.strip_prefix('s').unwrap_or(rest);
    let scope = rest
        .trim_start_matches(|c: char| c == ':' || c.is_whitespace())
        .trim_end_matches(|c: char| c == '.' || c.is_whitespace());
    (!scope.is_empty()).then(|| scope.to_owned())
}

/// Twitch's error text from a Helix error body: `message`, else `error`,
/// else the start of the body.
pub fn twitch_message(body: &[u8]) -> String {
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    ["message", "error"]
        .iter()
        .find_map(|k| {
            json.get(k)
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
        })
        .map(str::to_owned)
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(200).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_scope_is_read_from_twitchs_wording() {
        assert_eq!(
            missing_scope("Missing scope: moderator:read:followers").as_deref(),
            Some("moderator:read:followers")
        );
        assert_eq!(
            missing_scope("missing scopes: channel:read:vips.").as_deref(),
            Some("channel:read:vips")
        );
        assert_eq!(missing_scope("Missing scope:"), None);
        assert_eq!(missing_scope("Invalid OAuth token"), None);
        assert_eq!(missing_scope(""), None);
    }

    #[test]
    fn missing_scope_says_what_to_do() {
        let e = HelixError::MissingScope {
            endpoint: "GET /channels/followers".into(),
            scope: "moderator:read:followers".into(),
        };
        assert_eq!(
            e.to_string(),
            "the Twitch token lacks the scope moderator:read:followers; run `stagehand login` again to grant it"
        );
        assert_eq!(e.endpoint(), Some("GET /channels/followers"));
    }

    #[test]
    fn messages_come_from_the_body() {
        let body = br#"{"error":"Unauthorized","status":401,"message":"Missing scope: x"}"#;
        assert_eq!(twitch_message(body), "Missing scope: x");
        assert_eq!(
            twitch_message(br#"{"error":"Bad Request","message":""}"#),
            "Bad Request"
        );
        assert_eq!(twitch_message(b"<html>"), "<html>");
    }
}
