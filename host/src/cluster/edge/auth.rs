//! Who a request is for. A channel's dashboard token names the channel, so a
//! request can only ever act for the channel its token belongs to: no route
//! takes a channel id from the caller. The operator token (from the
//! environment) manages channels and nothing else.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use sha2::{Digest, Sha256};

use super::EdgeState;
use crate::web::auth::constant_time_eq;
use crate::web::error::ApiError;

/// Hex SHA-256 of a secret: what the database keeps of tokens and keys.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The channel an authenticated request acts for.
pub struct ChannelAuth(pub String);

impl FromRequestParts<EdgeState> for ChannelAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &EdgeState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or_else(ApiError::unauthorized)?;
        match state.store.channel_by_dashboard_token(&digest(token)).await {
            Ok(Some(channel)) => Ok(ChannelAuth(channel)),
            Ok(None) => Err(ApiError::unauthorized()),
            Err(e) => Err(e.into()),
        }
    }
}

/// A request made with the operator token.
pub struct OperatorAuth;

impl FromRequestParts<EdgeState> for OperatorAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &EdgeState) -> Result<Self, ApiError> {
        let Some(expected) = state.operator_token.as_deref() else {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "no_operator_token",
                "this edge has no operator token (STAGEHAND_OPERATOR_TOKEN): channels are managed elsewhere",
            ));
        };
        match bearer(parts) {
            Some(token) if constant_time_eq(token.as_bytes(), expected.as_bytes()) => {
                Ok(OperatorAuth)
            }
            _ => Err(ApiError::unauthorized()),
        }
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 256)
}

#[cfg(test)]
mod tests {
    use super::digest;

    #[test]
    fn digests_are_hex_sha256() {
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
