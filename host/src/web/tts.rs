//! The TTS restrictions screen: `GET /api/tts/rules` lists the muted and
//! cooled-down viewers, `POST /api/tts/rules` mutes or cools one down,
//! `DELETE /api/tts/rules/{login}` lifts a restriction. Every change is
//! pushed on the live feed (`tts_rules`), the same notice chat commands and
//! plugins cause, so every open dashboard updates at once.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::{ApiError, ApiJson, ApiQuery};
use crate::event::now_ms;
use crate::live::LiveMessage;
use crate::store::tts_rules::{self, RuleType, TtsRule};
use crate::store::viewers;

use crate::viewer_rules::{self, MAX_COOLDOWN_GAP_SECONDS, MAX_RULE_MINUTES};

/// The bounds of [`viewer_rules`], in the API's integer type.
pub const MAX_MINUTES: i64 = MAX_RULE_MINUTES as i64;
pub const MAX_GAP_SECONDS: i64 = MAX_COOLDOWN_GAP_SECONDS as i64;
/// Who the rules set here are recorded as made by.
const CREATED_BY: &str = "dashboard";

/// A rule as the dashboard shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RuleView {
    /// The viewer's login (what `DELETE /api/tts/rules/{login}` takes).
    pub login: String,
    /// How the viewer's name is shown.
    pub display_name: String,
    /// The viewer's Twitch user id.
    pub twitch_id: String,
    /// `mute` or `cooldown`.
    #[serde(rename = "type")]
    pub rule_type: RuleType,
    /// Cooldowns: the minimum gap between messages.
    pub gap_seconds: Option<i64>,
    /// Who set it: `dashboard`, a plugin's name, ...
    pub created_by: Option<String>,
    /// When it was set.
    pub created_at: DateTime<Utc>,
    /// None: until lifted.
    pub expires_at: Option<DateTime<Utc>>,
}

impl From<TtsRule> for RuleView {
    fn from(rule: TtsRule) -> Self {
        RuleView {
            login: rule.viewer.login,
            display_name: rule.viewer.display_name,
            twitch_id: rule.viewer.twitch_id,
            rule_type: rule.rule_type,
            gap_seconds: rule.gap_secs,
            created_by: rule.created_by,
            created_at: rule.created_at,
            expires_at: rule.expires_at,
        }
    }
}

/// The answer of `GET /api/tts/rules`: the host's clock comes along so the
/// page's countdowns are right even when the browser's clock is not.
#[derive(Debug, Serialize)]
pub struct RuleList {
    /// The host's clock when the list was read.
    pub now: DateTime<Utc>,
    /// Rules in force, soonest expiry first.
    pub rules: Vec<RuleView>,
}

/// Every rule in force in the channel, soonest expiry first.
pub async fn list(State(state): State<AppState>) -> Result<axum::Json<RuleList>, ApiError> {
    let channel = state.channel_id.to_string();
    let now = now_ms();
    let rules = state
        .store
        .read(move |c| tts_rules::active(c, &channel, now))
        .await
        .map_err(|e| ApiError::unavailable(format!("cannot read the TTS rules: {e}")))?;
    Ok(axum::Json(RuleList {
        now,
        rules: rules.into_iter().map(RuleView::from).collect(),
    }))
}

/// Body of `POST /api/tts/rules`. Numbers are taken signed so that a
/// negative one gets a clear message instead of a parse error.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRule {
    /// The viewer's login (a leading `@` and any case are fine).
    pub login: String,
    /// `mute` or `cooldown`.
    #[serde(rename = "type")]
    pub rule_type: String,
    /// Mute: minutes, or absent/null for "until unmuted". Cooldown: how long
    /// the cooldown lasts (required).
    #[serde(default)]
    pub minutes: Option<i64>,
    /// Cooldown only: the minimum gap between messages.
    #[serde(default)]
    pub gap_seconds: Option<i64>,
}

/// A checked rule, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValidRule {
    /// Silence the viewer's TTS, for `minutes` or (None) until lifted.
    Mute { login: String, minutes: Option<u32> },
    /// At most one message per `gap_seconds`, for `minutes`.
    Cooldown {
        login: String,
        gap_seconds: u32,
        minutes: u32,
    },
}

impl ValidRule {
    fn login(&self) -> &str {
        match self {
            ValidRule::Mute { login, .. } | ValidRule::Cooldown { login, .. } => login,
        }
    }
}

/// Checks a new rule: a known type, a login, and durations within bounds.
pub fn validate(rule: NewRule) -> Result<ValidRule, ApiError> {
    let login = normalize_login(&rule.login)?;
    let minutes = |value: i64| {
        if (1..=MAX_MINUTES).contains(&value) {
            Ok(value as u32)
        } else {
            Err(ApiError::bad_request(format!(
                "minutes must be from 1 to {MAX_MINUTES} (30 days), not {value}"
            )))
        }
    };
    match rule.rule_type.as_str() {
        "mute" => {
            if rule.gap_seconds.is_some() {
                return Err(ApiError::bad_request(
                    "gap_seconds belongs to a cooldown, not a mute",
                ));
            }
            Ok(ValidRule::Mute {
                login,
                minutes: rule.minutes.map(minutes).transpose()?,
            })
        }
        "cooldown" => {
            let Some(gap) = rule.gap_seconds else {
                return Err(ApiError::bad_request(
                    "a cooldown needs gap_seconds: the least time between two messages",
                ));
            };
            if !(1..=MAX_GAP_SECONDS).contains(&gap) {
                return Err(ApiError::bad_request(format!(
                    "gap_seconds must be from 1 to {MAX_GAP_SECONDS}, not {gap}"
                )));
            }
            let Some(duration) = rule.minutes else {
                return Err(ApiError::bad_request(
                    "a cooldown needs minutes: how long it lasts",
                ));
            };
            Ok(ValidRule::Cooldown {
                login,
                gap_seconds: gap as u32,
                minutes: minutes(duration)?,
            })
        }
        other => Err(ApiError::bad_request(format!(
            "type must be \"mute\" or \"cooldown\", not {other:?}"
        ))),
    }
}

pub(super) fn normalize_login(login: &str) -> Result<String, ApiError> {
    viewer_rules::normalize_login(login)
        .ok_or_else(|| ApiError::bad_request("login must be a Twitch login: letters, digits and _"))
}

pub(super) fn unknown_viewer(login: &str) -> ApiError {
    ApiError::not_found(format!(
        "no viewer named {login:?} has been seen in this channel"
    ))
}

/// Mutes or cools down a viewer (replacing the same kind of rule they
/// had); 404 for a viewer never seen. Answers 201 with the rule.
pub async fn create(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewRule>,
) -> Result<Response, ApiError> {
    let rule = validate(body)?;
    let channel = state.channel_id.to_string();
    let login = rule.login().to_owned();
    let now = now_ms();
    let stored = rule.clone();
    let found = state
        .store
        .write(move |c| {
            let Some(viewer) = viewers::by_login(c, stored.login())? else {
                return Ok(None);
            };
            match stored {
                ValidRule::Mute { minutes, .. } => {
                    tts_rules::mute(c, &channel, viewer.id, minutes, Some(CREATED_BY), now)?
                }
                ValidRule::Cooldown {
                    gap_seconds,
                    minutes,
                    ..
                } => tts_rules::cooldown(
                    c,
                    &channel,
                    viewer.id,
                    gap_seconds,
                    minutes,
                    Some(CREATED_BY),
                    now,
                )?,
            }
            Ok(Some(viewer))
        })
        .await
        .map_err(|e| ApiError::unavailable(format!("cannot store the TTS rule: {e}")))?;
    let viewer = found.ok_or_else(|| unknown_viewer(&login))?;
    state.feed.publish(LiveMessage::TtsRulesChanged);
    if matches!(rule, ValidRule::Mute { .. })
        && let Err(e) = state.speech.silence(&viewer.login).await
    {
        tracing::warn!(error = %e, login = %viewer.login, "muted, but cannot withdraw their queued speech");
    }
    let (rule_type, gap_seconds, minutes) = match rule {
        ValidRule::Mute { minutes, .. } => (RuleType::Mute, None, minutes),
        ValidRule::Cooldown {
            gap_seconds,
            minutes,
            ..
        } => (RuleType::Cooldown, Some(gap_seconds as i64), Some(minutes)),
    };
    tracing::info!(login = %viewer.login, ?rule_type, ?minutes, "TTS rule set from the dashboard");
    let view = RuleView {
        login: viewer.login,
        display_name: viewer.display_name,
        twitch_id: viewer.twitch_id,
        rule_type,
        gap_seconds,
        created_by: Some(CREATED_BY.to_owned()),
        created_at: now,
        expires_at: minutes.map(|m| now + chrono::Duration::minutes(m as i64)),
    };
    Ok((StatusCode::CREATED, axum::Json(view)).into_response())
}

/// Query of `DELETE /api/tts/rules/{login}`: which rule to lift (both when
/// absent).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoveParams {
    #[serde(rename = "type")]
    rule_type: Option<String>,
}

/// Lifts a viewer's mute, cooldown or (without `?type=`) both; 404 when the
/// viewer is unknown or had no such rule.
pub async fn remove(
    State(state): State<AppState>,
    Path(login): Path<String>,
    ApiQuery(params): ApiQuery<RemoveParams>,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let login = normalize_login(&login)?;
    let rule = match params.rule_type.as_deref() {
        None | Some("") => None,
        Some("mute") => Some(RuleType::Mute),
        Some("cooldown") => Some(RuleType::Cooldown),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "type must be \"mute\" or \"cooldown\", not {other:?}"
            )));
        }
    };
    let channel = state.channel_id.to_string();
    let who = login.clone();
    let removed = state
        .store
        .write(move |c| {
            let Some(viewer) = viewers::by_login(c, &who)? else {
                return Ok(None);
            };
            tts_rules::remove(c, &channel, viewer.id, rule).map(Some)
        })
        .await
        .map_err(|e| ApiError::unavailable(format!("cannot remove the TTS rule: {e}")))?;
    match removed {
        None => Err(unknown_viewer(&login)),
        Some(false) => Err(ApiError::not_found(format!(
            "{login:?} has no such TTS restriction"
        ))),
        Some(true) => {
            state.feed.publish(LiveMessage::TtsRulesChanged);
            tracing::info!(%login, ?rule, "TTS rule lifted from the dashboard");
            Ok(axum::Json(
                serde_json::json!({"removed": true, "login": login}),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(v: serde_json::Value) -> Result<ValidRule, String> {
        validate(serde_json::from_value(v).unwrap()).map_err(|e| e.message)
    }

    #[test]
    fn good_rules_pass() {
        assert_eq!(
            check(json!({"login": "@Alice", "type": "mute", "minutes": 5})),
            Ok(ValidRule::Mute {
                login: "alice".into(),
                minutes: Some(5)
            })
        );
        assert_eq!(
            check(json!({"login": "bob", "type": "mute", "minutes": null})),
            Ok(ValidRule::Mute {
                login: "bob".into(),
                minutes: None
            })
        );
        assert_eq!(
            check(json!({"login": "bob", "type": "cooldown", "minutes": 30, "gap_seconds": 120})),
            Ok(ValidRule::Cooldown {
                login: "bob".into(),
                gap_seconds: 120,
                minutes: 30
            })
        );
    }

    #[test]
    fn bad_rules_say_why() {
        for (body, needle) in [
            (json!({"login": "", "type": "mute"}), "login"),
            (json!({"login": "a b", "type": "mute"}), "login"),
            (json!({"login": "a", "type": "ban"}), "type"),
            (
                json!({"login": "a", "type": "mute", "minutes": -5}),
                "minutes",
            ),
            (
                json!({"login": "a", "type": "mute", "minutes": 0}),
                "minutes",
            ),
            (
                json!({"login": "a", "type": "mute", "minutes": MAX_MINUTES + 1}),
                "minutes",
            ),
            (
                json!({"login": "a", "type": "mute", "gap_seconds": 5}),
                "gap_seconds",
            ),
            (
                json!({"login": "a", "type": "cooldown", "minutes": 5}),
                "gap_seconds",
            ),
            (
                json!({"login": "a", "type": "cooldown", "gap_seconds": 5}),
                "minutes",
            ),
            (
                json!({"login": "a", "type": "cooldown", "minutes": 5, "gap_seconds": -1}),
                "gap_seconds",
            ),
            (
                json!({"login": "a", "type": "cooldown", "minutes": 5, "gap_seconds": 86_400}),
                "gap_seconds",
            ),
        ] {
            let err = check(body.clone()).unwrap_err();
            assert!(err.contains(needle), "{body}: {err}");
        }
    }
}
