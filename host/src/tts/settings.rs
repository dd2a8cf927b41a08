//! Who is read aloud and how: the streamer's speech settings, validated as a
//! whole so a bad value is refused with its reason and changes nothing.

use serde::{Deserialize, Serialize};

use crate::actions::alerts::{DEFAULT_OVERLAY, valid_overlay_name};

/// A group of viewers the access policy can let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Anyone who chats (alone: the other groups are then implied).
    Everyone,
    Subscribers,
    Vips,
    Moderators,
    /// Viewers holding a channel-points (or dashboard) grant in force.
    Grants,
}

/// The speech settings. The broadcaster is always allowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TtsSettings {
    /// Chat is read aloud at all.
    pub enabled: bool,
    /// Who is read aloud: `["everyone"]`, or any of the other groups.
    pub access: Vec<Access>,
    /// Longest message read, in characters; longer ones are cut at a word.
    pub max_chars: u32,
    /// Least time between two messages of one viewer (a cooldown rule can
    /// only make it longer).
    pub viewer_gap_seconds: u32,
    /// Most speech items waiting at once; more chat is not read until the
    /// queue drains (an hour of backlog helps nobody).
    pub max_queue: u32,
    /// The overlay that speaks.
    pub overlay: String,
    /// Title of the channel-points reward that grants TTS ("" = none).
    pub grant_reward: String,
    /// How long a redemption grants TTS.
    pub grant_minutes: u32,
    /// Days chat messages are kept in the event log.
    pub chat_retention_days: u32,
    /// Messages starting with one of these (bot commands) are not read.
    pub skip_prefixes: Vec<String>,
}

impl Default for TtsSettings {
    fn default() -> Self {
        TtsSettings {
            enabled: true,
            access: vec![
                Access::Subscribers,
                Access::Vips,
                Access::Moderators,
                Access::Grants,
            ],
            max_chars: 300,
            viewer_gap_seconds: 10,
            max_queue: 20,
            overlay: DEFAULT_OVERLAY.to_owned(),
            grant_reward: "Unlock TTS".to_owned(),
            grant_minutes: 60,
            chat_retention_days: 7,
            skip_prefixes: vec!["!".into(), "~".into()],
        }
    }
}

/// Limits a setting must keep.
pub const MAX_CHARS: u32 = 1_000;
pub const MAX_VIEWER_GAP_SECONDS: u32 = 3_600;
pub const MAX_QUEUE: u32 = 500;
pub const MAX_GRANT_MINUTES: u32 = 7 * 24 * 60;
pub const MAX_RETENTION_DAYS: u32 = 3_650;
/// Twitch's longest reward title.
pub const MAX_REWARD_TITLE: usize = 45;

impl TtsSettings {
    /// Checks every field; the message names the first bad one.
    pub fn validate(&self) -> Result<(), String> {
        if self.access.contains(&Access::Everyone) && self.access.len() > 1 {
            return Err(
                "access: \"everyone\" stands alone (it already includes every group)".into(),
            );
        }
        let mut seen = std::collections::HashSet::new();
        if !self.access.iter().all(|a| seen.insert(*a)) {
            return Err("access: a group is listed twice".into());
        }
        if !(1..=MAX_CHARS).contains(&self.max_chars) {
            return Err(format!("max_chars must be 1 to {MAX_CHARS}"));
        }
        if self.viewer_gap_seconds > MAX_VIEWER_GAP_SECONDS {
            return Err(format!(
                "viewer_gap_seconds must be 0 to {MAX_VIEWER_GAP_SECONDS}"
            ));
        }
        if !(1..=MAX_QUEUE).contains(&self.max_queue) {
            return Err(format!("max_queue must be 1 to {MAX_QUEUE}"));
        }
        if !valid_overlay_name(&self.overlay) {
            return Err(format!(
                "overlay {:?} is not a name of 1 to 32 of a-z, 0-9 and -",
                self.overlay
            ));
        }
        if self.grant_reward.chars().count() > MAX_REWARD_TITLE {
            return Err(format!(
                "grant_reward is a reward title of at most {MAX_REWARD_TITLE} characters"
            ));
        }
        if !(1..=MAX_GRANT_MINUTES).contains(&self.grant_minutes) {
            return Err(format!("grant_minutes must be 1 to {MAX_GRANT_MINUTES}"));
        }
        if !(1..=MAX_RETENTION_DAYS).contains(&self.chat_retention_days) {
            return Err(format!(
                "chat_retention_days must be 1 to {MAX_RETENTION_DAYS}"
            ));
        }
        if self.skip_prefixes.len() > 10
            || self
                .skip_prefixes
                .iter()
                .any(|p| p.trim().is_empty() || p.chars().count() > 5)
        {
            return Err("skip_prefixes: at most 10, each 1 to 5 characters".into());
        }
        Ok(())
    }

    /// Applies the fields present in `patch` (a JSON object), validated as
    /// a whole; on error nothing changes.
    pub fn patched(&self, patch: &serde_json::Value) -> Result<TtsSettings, String> {
        let Some(fields) = patch.as_object() else {
            return Err("the body must be a JSON object of settings".into());
        };
        let mut merged = serde_json::to_value(self).map_err(|e| e.to_string())?;
        for (k, v) in fields {
            // Each field alone first, so a wrong type names its field.
            let alone = serde_json::Value::Object([(k.clone(), v.clone())].into_iter().collect());
            if let Err(e) = serde_json::from_value::<TtsSettings>(alone) {
                return Err(format!("{k}: {e}"));
            }
            merged[k] = v.clone();
        }
        let next: TtsSettings = serde_json::from_value(merged).map_err(|e| e.to_string())?;
        next.validate()?;
        Ok(next)
    }

    /// The settings stored in the database; a stored object missing newer
    /// fields gets their defaults, an invalid one falls back to defaults.
    pub fn from_stored(stored: Option<serde_json::Value>) -> TtsSettings {
        let Some(value) = stored else {
            return TtsSettings::default();
        };
        match serde_json::from_value::<TtsSettings>(value) {
            Ok(s) if s.validate().is_ok() => s,
            Ok(s) => {
                tracing::warn!(error = %s.validate().unwrap_err(), "stored TTS settings are invalid; using the defaults");
                TtsSettings::default()
            }
            Err(e) => {
                tracing::warn!(error = %e, "stored TTS settings are unreadable; using the defaults");
                TtsSettings::default()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_are_valid_and_a_patch_changes_only_its_fields() {
        let base = TtsSettings::default();
        base.validate().unwrap();
        let next = base
            .patched(&json!({"max_chars": 120, "access": ["everyone"]}))
            .unwrap();
        assert_eq!(next.max_chars, 120);
        assert_eq!(next.access, vec![Access::Everyone]);
        assert_eq!(next.viewer_gap_seconds, base.viewer_gap_seconds);
    }

    #[test]
    fn bad_values_are_refused_with_the_field_named() {
        let base = TtsSettings::default();
        let cases = [
            (json!({"max_chars": 0}), "max_chars"),
            (json!({"max_chars": -1}), "max_chars"),
            (json!({"max_chars": 100000}), "max_chars"),
            (json!({"viewer_gap_seconds": 86400}), "viewer_gap_seconds"),
            (json!({"max_queue": 0}), "max_queue"),
            (json!({"access": ["everyone", "vips"]}), "everyone"),
            (json!({"access": ["vips", "vips"]}), "twice"),
            (json!({"access": ["admins"]}), "admins"),
            (json!({"overlay": "Main Overlay"}), "overlay"),
            (json!({"grant_reward": "x".repeat(46)}), "grant_reward"),
            (json!({"grant_minutes": 0}), "grant_minutes"),
            (json!({"chat_retention_days": 0}), "chat_retention_days"),
            (json!({"skip_prefixes": [""]}), "skip_prefixes"),
            (json!({"volume": 3}), "volume"),
            (json!([1, 2]), "object"),
        ];
        for (patch, needle) in cases {
            let err = base.patched(&patch).unwrap_err();
            assert!(err.contains(needle), "{patch}: {err}");
        }
    }

    #[test]
    fn stored_settings_missing_fields_get_defaults() {
        let s = TtsSettings::from_stored(Some(json!({"max_chars": 50})));
        assert_eq!(s.max_chars, 50);
        assert_eq!(s.chat_retention_days, 7);
        let broken = TtsSettings::from_stored(Some(json!({"max_chars": "many"})));
        assert_eq!(broken, TtsSettings::default());
    }
}
