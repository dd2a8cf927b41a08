//! Identifiers the mock hands out, shaped like Twitch's: random message ids
//! (UUIDs), session ids (base64url), tokens (30 lowercase alphanumerics),
//! and user ids derived from a login so the same login always gets the same
//! id. Also the tiny base64url codec used for opaque cursors.

use rand::RngExt;

/// A random UUID (version 4 layout), as Twitch uses for message ids.
pub fn message_id() -> String {
    let bytes: [u8; 16] = rand::random();
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// A session id in Twitch's style (`AgoQ...`, 28 base64url characters).
pub fn session_id() -> String {
    let bytes: [u8; 18] = rand::random();
    format!("AgoQ{}", base64url_encode(&bytes))
}

/// A secret for the control API: 32 random bytes as hex.
pub fn secret() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A random token: 30 lowercase letters and digits, like Twitch's access
/// and refresh tokens.
pub fn token() -> String {
    random_alphanumeric(30)
}

/// A device-flow user code: 8 uppercase letters, like Twitch's.
pub fn user_code() -> String {
    let mut rng = rand::rng();
    (0..8)
        .map(|_| char::from(b'A' + rng.random_range(0..26u8)))
        .collect()
}

/// `len` random lowercase letters and digits.
pub fn random_alphanumeric(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// First id of the range that ids derived from logins fall into (kept apart
/// from the broadcaster's and the synthetic followers' ranges).
const DERIVED_ID_BASE: u64 = 500_000_000;
/// Size of that range.
const DERIVED_ID_SPAN: u64 = 400_000_000;

/// A stable numeric user id for `login` (FNV-1a of the lowercase login),
/// so "unknown users are created on the fly" with the same id every run.
pub fn derived_user_id(login: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in login.to_ascii_lowercase().bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    DERIVED_ID_BASE + hash % DERIVED_ID_SPAN
}

/// A display name for `login`: the login with its first letter capitalized
/// (Twitch display names differ from logins only in case).
pub fn display_name(login: &str) -> String {
    let mut chars = login.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Unpadded base64url.
pub fn base64url_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            let index = (n >> (18 - 6 * i)) & 0x3f;
            out.push(char::from(B64[index as usize]));
        }
    }
    out
}

/// Decodes unpadded (or padded) base64url; `None` on any invalid character.
pub fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in text.bytes() {
        let value = B64.iter().position(|&b| b == c)?;
        acc = (acc << 6) | value as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_round_trips() {
        for input in [
            &b""[..],
            b"a",
            b"ab",
            b"abc",
            b"abcd",
            b"{\"o\":20,\"p\":2}",
        ] {
            let encoded = base64url_encode(input);
            assert!(!encoded.contains('='));
            assert_eq!(base64url_decode(&encoded).unwrap(), input);
        }
        assert_eq!(base64url_encode(b"abc"), "YWJj");
        assert!(base64url_decode("not base64!").is_none());
    }

    #[test]
    fn derived_ids_are_stable_and_case_insensitive() {
        let id = derived_user_id("cool_user");
        assert_eq!(id, derived_user_id("Cool_User"));
        assert_ne!(id, derived_user_id("other_user"));
        assert!((DERIVED_ID_BASE..DERIVED_ID_BASE + DERIVED_ID_SPAN).contains(&id));
    }

    #[test]
    fn generated_ids_have_twitch_shapes() {
        let id = message_id();
        assert_eq!(id.len(), 36);
        assert_ne!(id, message_id());
        let session = session_id();
        assert_eq!(session.len(), 28);
        assert!(session.starts_with("AgoQ"));
        let token = token();
        assert_eq!(token.len(), 30);
        assert!(
            token
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
        assert_eq!(user_code().len(), 8);
        assert_eq!(display_name("cool_user"), "Cool_user");
    }
}
