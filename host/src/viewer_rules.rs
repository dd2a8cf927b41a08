//! Rules about viewers that every way in must agree on: how a login is
//! written, and how long a TTS mute or cooldown may be. The dashboard's
//! API, the action executor (plugins and chat commands), the speech queue
//! and the store all read them from here, and the plugin SDK publishes the
//! same numbers (a test keeps them equal).

/// The longest mute or cooldown: 30 days. Longer is almost surely a typo
/// (minutes for seconds); "for good" is a mute without minutes.
pub const MAX_RULE_MINUTES: u32 = 30 * 24 * 60;
/// The longest gap a cooldown imposes between two messages: one hour.
pub const MAX_COOLDOWN_GAP_SECONDS: u32 = 60 * 60;
/// Twitch logins are at most 25 characters; names from other sources (and
/// old accounts) get some slack.
pub const MAX_LOGIN_CHARS: usize = 64;

/// `login` as stored: trimmed, without a leading `@`, lower case. `None`
/// unless what is left is 1 to 64 ASCII letters, digits and `_`.
pub fn normalize_login(login: &str) -> Option<String> {
    let login = login.trim();
    let login = login.strip_prefix('@').unwrap_or(login);
    // ASCII only before lower-casing: Unicode case folding would turn the
    // Kelvin sign into `k` and let a look-alike name match a real login.
    let valid = !login.is_empty()
        && login.len() <= MAX_LOGIN_CHARS
        && login.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then(|| login.to_ascii_lowercase())
}

/// `login` trimmed, without a leading `@`, lower case, but not checked:
/// for searches by prefix and lookups that simply find nothing.
pub fn loose_login(login: &str) -> String {
    login.trim().trim_start_matches('@').to_lowercase()
}

/// Why a mute of `minutes` (None: until lifted) cannot be set.
pub fn check_mute(minutes: Option<u32>) -> Result<(), String> {
    match minutes {
        Some(m) if !(1..=MAX_RULE_MINUTES).contains(&m) => Err(format!(
            "a mute lasts 1 to {MAX_RULE_MINUTES} minutes (30 days), or until lifted; not {m}"
        )),
        _ => Ok(()),
    }
}

/// Why a cooldown of one message per `gap_seconds` for `minutes` cannot be
/// set.
pub fn check_cooldown(gap_seconds: u32, minutes: u32) -> Result<(), String> {
    if !(1..=MAX_COOLDOWN_GAP_SECONDS).contains(&gap_seconds) {
        return Err(format!(
            "a cooldown's gap is 1 to {MAX_COOLDOWN_GAP_SECONDS} seconds, not {gap_seconds}"
        ));
    }
    if !(1..=MAX_RULE_MINUTES).contains(&minutes) {
        return Err(format!(
            "a cooldown lasts 1 to {MAX_RULE_MINUTES} minutes (30 days), not {minutes}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_are_normalised_once_for_everyone() {
        assert_eq!(normalize_login("  @JaneDoe ").as_deref(), Some("janedoe"));
        assert_eq!(normalize_login("a_1").as_deref(), Some("a_1"));
        assert_eq!(normalize_login("@"), None);
        assert_eq!(normalize_login("bad name"), None);
        assert_eq!(normalize_login("bad-name"), None);
        assert_eq!(normalize_login(&"a".repeat(65)), None);
        assert_eq!(loose_login(" @Ab"), "ab");
        assert_eq!(normalize_login("\u{212A}appa"), None);
        assert_eq!(normalize_login("@@x"), None);
    }

    #[test]
    fn rule_bounds_are_checked_at_both_ends() {
        assert!(check_mute(None).is_ok());
        assert!(check_mute(Some(1)).is_ok());
        assert!(check_mute(Some(MAX_RULE_MINUTES)).is_ok());
        assert!(check_mute(Some(0)).unwrap_err().contains("1 to 43200"));
        assert!(check_mute(Some(MAX_RULE_MINUTES + 1)).is_err());
        assert!(check_cooldown(1, 1).is_ok());
        assert!(check_cooldown(MAX_COOLDOWN_GAP_SECONDS, MAX_RULE_MINUTES).is_ok());
        assert!(check_cooldown(0, 5).unwrap_err().contains("gap"));
        assert!(check_cooldown(3601, 5).unwrap_err().contains("gap"));
        assert!(check_cooldown(5, 0).unwrap_err().contains("lasts"));
        assert!(check_cooldown(5, MAX_RULE_MINUTES + 1).is_err());
    }
}
