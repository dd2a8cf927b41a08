//! What asked for a role sync. Each trigger has its own 5-minute window
//! (at most one sync per 5 minutes from the same trigger), and every log
//! line of a sync names it so the streamer can tell a start-up sync from a
//! button press.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a role sync runs. Serialized (and logged) as `startup`,
/// `background`, `manual`, `oauth-connect` or `stream-start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SyncTrigger {
    /// The app started with a Twitch connection.
    Startup,
    /// The periodic sync (default every 30 minutes).
    Background,
    /// The streamer asked for it (`POST /api/roles/sync`).
    Manual,
    /// A Twitch login just completed: a fresh token, maybe with new scopes.
    OauthConnect,
    /// EventSub said `stream.online`: viewers are arriving.
    StreamStart,
}

impl SyncTrigger {
    /// Every trigger, for listings and tests.
    pub const ALL: [SyncTrigger; 5] = [
        SyncTrigger::Startup,
        SyncTrigger::Background,
        SyncTrigger::Manual,
        SyncTrigger::OauthConnect,
        SyncTrigger::StreamStart,
    ];

    /// The name used in JSON and in the `trigger` log field.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncTrigger::Startup => "startup",
            SyncTrigger::Background => "background",
            SyncTrigger::Manual => "manual",
            SyncTrigger::OauthConnect => "oauth-connect",
            SyncTrigger::StreamStart => "stream-start",
        }
    }
}

impl fmt::Display for SyncTrigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A trigger name that is not one of [`SyncTrigger::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown role sync trigger {0:?}; expected startup, background, manual, oauth-connect or stream-start"
)]
pub struct UnknownTrigger(pub String);

/// Parses the names [`SyncTrigger::as_str`] gives (for the API and CLI).
impl FromStr for SyncTrigger {
    type Err = UnknownTrigger;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SyncTrigger::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownTrigger(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_same_in_json_logs_and_parsing() {
        let names: Vec<&str> = SyncTrigger::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(
            names,
            [
                "startup",
                "background",
                "manual",
                "oauth-connect",
                "stream-start"
            ]
        );
        for trigger in SyncTrigger::ALL {
            let json = serde_json::to_value(trigger).unwrap();
            assert_eq!(json, serde_json::json!(trigger.as_str()));
            assert_eq!(
                serde_json::from_value::<SyncTrigger>(json).unwrap(),
                trigger
            );
            assert_eq!(trigger.as_str().parse::<SyncTrigger>().unwrap(), trigger);
            assert_eq!(trigger.to_string(), trigger.as_str());
        }
        let bad = "Manual".parse::<SyncTrigger>().unwrap_err();
        assert!(bad.to_string().contains("\"Manual\""), "{bad}");
    }
}
