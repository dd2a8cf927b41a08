//! Sealing the channels' Twitch user tokens for the shared database: a
//! database dump or backup must not hand out tokens that act for every
//! streamer, so each token is encrypted with a key only the nodes have
//! (`STAGEHAND_TOKEN_KEY`).
//!
//! A sealed token is `version (1 byte) ‖ nonce (24 bytes) ‖ ciphertext and
//! tag`, XChaCha20-Poly1305 with a random nonce (24 bytes are safe to draw
//! at random for as many tokens as a cluster will ever seal). The version
//! byte and the channel id are authenticated as associated data, so a
//! token copied into another channel's row does not open there.

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::{Zeroize, Zeroizing};

/// The environment variable the nodes read the token key from.
pub const TOKEN_KEY_VAR: &str = "STAGEHAND_TOKEN_KEY";

/// The format of sealed tokens this build writes (and the only one it reads).
const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const KEY_LEN: usize = 32;

/// Why a key could not be read or a token could not be opened. Never
/// carries key material or token text.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    /// The key variable is unset or empty.
    #[error(
        "{TOKEN_KEY_VAR} is not set: cluster nodes need the same 32-byte key, base64-encoded \
         (make one with `openssl rand -base64 32`)"
    )]
    MissingKey,
    /// The key is not base64 text.
    #[error("{TOKEN_KEY_VAR} is not valid base64 (expected 32 random bytes, base64-encoded)")]
    NotBase64,
    /// The key decodes to the wrong number of bytes.
    #[error("{TOKEN_KEY_VAR} decodes to {0} bytes; it must be exactly 32")]
    WrongKeyLength(usize),
    /// The stored bytes cannot be a sealed token.
    #[error("sealed token is too short to be one ({0} bytes)")]
    TooShort(usize),
    /// Sealed by a newer Stagehand.
    #[error("sealed token has format version {0}, which this Stagehand does not know")]
    UnknownVersion(u8),
    /// The key, the channel or the bytes are not the ones it was sealed
    /// with.
    #[error("sealed token does not open: sealed with another key, for another channel, or altered")]
    Rejected,
    /// Authentic, but not a text token.
    #[error("sealed token opened but is not UTF-8 text")]
    NotText,
}

/// The cluster's token key: 32 bytes, wiped from memory when dropped and
/// never printed.
#[derive(Clone)]
pub struct TokenKey(Zeroizing<[u8; KEY_LEN]>);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(<redacted>)")
    }
}

impl TokenKey {
    /// Reads the key from `STAGEHAND_TOKEN_KEY`.
    pub fn from_env() -> Result<Self, SealError> {
        Self::from_var(std::env::var(TOKEN_KEY_VAR).ok().as_deref())
    }

    /// The key from the variable's value (`None` when unset), so the
    /// parsing is tested without touching the process environment.
    fn from_var(value: Option<&str>) -> Result<Self, SealError> {
        match value.map(str::trim) {
            None | Some("") => Err(SealError::MissingKey),
            Some(text) => Self::from_base64(text),
        }
    }

    /// The key from its base64 text (standard or URL-safe alphabet, padded
    /// or not, surrounding whitespace ignored).
    pub fn from_base64(text: &str) -> Result<Self, SealError> {
        use base64::Engine;
        use base64::engine::general_purpose::{
            STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD,
        };
        let text = text.trim();
        let decoded = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(text).ok())
            .map(Zeroizing::new)
            .ok_or(SealError::NotBase64)?;
        let bytes: [u8; KEY_LEN] = decoded
            .as_slice()
            .try_into()
            .map_err(|_| SealError::WrongKeyLength(decoded.len()))?;
        Ok(Self(Zeroizing::new(bytes)))
    }

    /// A fresh random key (for a new cluster and for tests).
    pub fn generate() -> Self {
        Self(Zeroizing::new(rand::random()))
    }

    /// The key as base64 text, to hand to the operator once when a cluster
    /// is set up.
    pub fn to_base64(&self) -> Zeroizing<String> {
        use base64::Engine;
        Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(*self.0))
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&(*self.0).into())
    }

    /// Seals `plaintext` (a Twitch user token) for `channel_id`.
    pub fn seal(&self, channel_id: &str, plaintext: &str) -> Vec<u8> {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + plaintext.len() + TAG_LEN);
        sealed.push(VERSION);
        sealed.extend_from_slice(&nonce);
        let mut body = Zeroizing::new(plaintext.as_bytes().to_vec());
        // Encryption only fails for messages longer than 256 GiB.
        if let Err(e) =
            self.cipher()
                .encrypt_in_place(&XNonce::from(nonce), &aad(channel_id), &mut *body)
        {
            panic!("sealing a token of {} bytes failed: {e}", plaintext.len());
        }
        sealed.extend_from_slice(&body);
        sealed
    }

    /// Opens a token sealed for `channel_id`. The text is wiped from memory
    /// when the answer is dropped.
    pub fn open(&self, channel_id: &str, sealed: &[u8]) -> Result<Zeroizing<String>, SealError> {
        if sealed.len() < 1 + NONCE_LEN + TAG_LEN {
            return Err(SealError::TooShort(sealed.len()));
        }
        if sealed[0] != VERSION {
            return Err(SealError::UnknownVersion(sealed[0]));
        }
        let (nonce, body) = sealed[1..].split_at(NONCE_LEN);
        let nonce = XNonce::try_from(nonce).map_err(|_| SealError::TooShort(sealed.len()))?;
        let mut buffer = Zeroizing::new(body.to_vec());
        self.cipher()
            .decrypt_in_place(&nonce, &aad(channel_id), &mut *buffer)
            .map_err(|_| SealError::Rejected)?;
        match String::from_utf8(std::mem::take(&mut *buffer)) {
            Ok(text) => Ok(Zeroizing::new(text)),
            Err(e) => {
                e.into_bytes().zeroize();
                Err(SealError::NotText)
            }
        }
    }
}

/// What a sealed token is bound to besides its key: its format version and
/// the channel it belongs to.
fn aad(channel_id: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(1 + channel_id.len());
    aad.push(VERSION);
    aad.extend_from_slice(channel_id.as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_token_opens_for_its_channel_only() {
        let key = TokenKey::generate();
        let sealed = key.seal("1001", "oauth-token-abc");
        assert_eq!(sealed[0], VERSION);
        assert!(
            !sealed.windows(5).any(|w| w == b"oauth"),
            "plaintext leaked"
        );
        assert_eq!(
            key.open("1001", &sealed).unwrap().as_str(),
            "oauth-token-abc"
        );
        assert_eq!(key.open("1002", &sealed), Err(SealError::Rejected));
        assert_eq!(key.open("", &sealed), Err(SealError::Rejected));
    }

    #[test]
    fn every_seal_draws_a_new_nonce() {
        let key = TokenKey::generate();
        assert_ne!(key.seal("1", "same"), key.seal("1", "same"));
        assert_eq!(key.open("1", &key.seal("1", "")).unwrap().as_str(), "");
    }

    #[test]
    fn a_wrong_key_or_altered_token_fails_cleanly() {
        let key = TokenKey::generate();
        let sealed = key.seal("1001", "token");
        assert_eq!(
            TokenKey::generate().open("1001", &sealed),
            Err(SealError::Rejected)
        );
        for i in 1..sealed.len() {
            let mut altered = sealed.clone();
            altered[i] ^= 0x01;
            assert_eq!(
                key.open("1001", &altered),
                Err(SealError::Rejected),
                "byte {i}"
            );
        }
        let mut other_version = sealed.clone();
        other_version[0] = 2;
        assert_eq!(
            key.open("1001", &other_version),
            Err(SealError::UnknownVersion(2))
        );
        assert_eq!(
            key.open("1001", &sealed[..20]),
            Err(SealError::TooShort(20))
        );
        assert_eq!(key.open("1001", &[]), Err(SealError::TooShort(0)));
    }

    #[test]
    fn keys_are_read_from_base64_with_clear_errors() {
        let key = TokenKey::generate();
        let text = key.to_base64();
        let again = TokenKey::from_base64(&format!("  {}\n", text.as_str())).unwrap();
        assert_eq!(again.open("7", &key.seal("7", "t")).unwrap().as_str(), "t");

        let url_safe = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            [0xfbu8; 32],
        );
        assert!(TokenKey::from_base64(&url_safe).is_ok());

        assert_eq!(
            TokenKey::from_base64("not base64 at all!").unwrap_err(),
            SealError::NotBase64
        );
        let short = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [1u8; 16]);
        assert_eq!(
            TokenKey::from_base64(&short).unwrap_err(),
            SealError::WrongKeyLength(16)
        );
        assert_eq!(TokenKey::from_var(None).unwrap_err(), SealError::MissingKey);
        assert_eq!(
            TokenKey::from_var(Some("  ")).unwrap_err(),
            SealError::MissingKey
        );
        assert!(TokenKey::from_var(Some(text.as_str())).is_ok());
    }

    #[test]
    fn neither_the_key_nor_errors_print_key_material() {
        let key = TokenKey::generate();
        let shown = format!("{key:?}");
        assert_eq!(shown, "TokenKey(<redacted>)");
        assert!(!shown.contains(key.to_base64().as_str()));
        let wrong = format!("{}", TokenKey::from_base64("c2VjcmV0").unwrap_err());
        assert!(!wrong.contains("c2VjcmV0"), "{wrong}");
        assert!(wrong.contains("STAGEHAND_TOKEN_KEY"), "{wrong}");
        assert!(
            SealError::MissingKey
                .to_string()
                .contains("openssl rand -base64 32")
        );
    }
}
