//! The signature of a generic hook's body: `X-Stagehand-Signature:
//! sha256=<hex>`, the HMAC-SHA256 of the raw body keyed with the hook's
//! secret (the scheme GitHub's webhooks use), checked in constant time.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::HookError;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-stagehand-signature";

/// Whether `header` (the signature header's value, if any) signs `body`
/// with `secret`; a 401 saying what is missing or wrong otherwise.
pub fn verify(secret: &str, body: &[u8], header: Option<&str>) -> Result<(), HookError> {
    let Some(header) = header else {
        return Err(HookError::unauthorized(
            "no X-Stagehand-Signature header: send sha256=<hex HMAC-SHA256 of the body>",
        ));
    };
    let Some(hex_digest) = header.trim().strip_prefix("sha256=") else {
        return Err(HookError::unauthorized(
            "X-Stagehand-Signature must be sha256=<hex HMAC-SHA256 of the body>",
        ));
    };
    let Ok(digest) = hex::decode(hex_digest) else {
        return Err(HookError::unauthorized(
            "X-Stagehand-Signature is not hexadecimal after sha256=",
        ));
    };
    mac(secret, body)
        .verify_slice(&digest)
        .map_err(|_| HookError::unauthorized("the signature does not match the body"))
}

/// The header value that signs `body` with `secret`: what a sender puts in
/// `X-Stagehand-Signature`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    format!(
        "sha256={}",
        hex::encode(mac(secret, body).finalize().into_bytes())
    )
}

fn mac(secret: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    const SECRET: &str = "hook-secret-0123456789";

    #[test]
    fn a_known_signature_verifies() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let expected = "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert_eq!(sign("Jefe", b"what do ya want for nothing?"), expected);
        assert!(verify("Jefe", b"what do ya want for nothing?", Some(expected)).is_ok());
    }

    #[test]
    fn the_body_and_the_secret_must_both_match() {
        let body = br#"{"amount":"5.00"}"#;
        let good = sign(SECRET, body);
        assert!(verify(SECRET, body, Some(&good)).is_ok());
        assert!(
            verify(
                SECRET,
                body,
                Some(&good.to_uppercase().replace("SHA256", "sha256"))
            )
            .is_ok()
        );
        let cases = [
            (
                SECRET,
                &br#"{"amount":"500.00"}"#[..],
                Some(good.as_str()),
                "does not match",
            ),
            (
                "another-secret-0123456789",
                body,
                Some(good.as_str()),
                "does not match",
            ),
            (SECRET, body, None, "no X-Stagehand-Signature"),
            (SECRET, body, Some(&good[7..]), "must be sha256="),
            (SECRET, body, Some("sha256=zz"), "not hexadecimal"),
            (SECRET, body, Some("sha256="), "does not match"),
            (
                SECRET,
                body,
                Some(&good[..good.len() - 2]),
                "does not match",
            ),
        ];
        for (secret, body, header, needle) in cases {
            let err = verify(secret, body, header).unwrap_err();
            assert_eq!(err.status, StatusCode::UNAUTHORIZED);
            assert!(err.message.contains(needle), "{header:?}: {}", err.message);
        }
    }
}
