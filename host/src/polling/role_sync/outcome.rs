//! What a role sync answers: the JSON `POST /api/roles/sync` returns and
//! the start-up / background / EventSub callers log. It has a partial-success
//! shape (`success`, one count per type, `errors`) and adds per-type
//! details (granted / updated / revoked / unchanged, the error and the
//! missing scope) so the UI can say exactly what changed and what to fix.
//!
//! A completed sync, with VIPs failing for a missing scope:
//!
//! ```json
//! {
//!   "status": "completed",
//!   "trigger": "manual",
//!   "channel_id": "100000001",
//!   "success": false,
//!   "started_at": "2025-01-01T12:00:00.123Z",
//!   "duration_ms": 234,
//!   "sub_count": 25,
//!   "vip_count": 0,
//!   "mod_count": 3,
//!   "errors": ["VIPs: could not fetch them from Twitch, so they were left as they were: the Twitch token lacks the scope channel:read:vips; run `stagehand login` again to grant it"],
//!   "subscribers": {"ok": true, "count": 25, "granted": 2, "updated": 1, "revoked": 1, "unchanged": 22, "error": null, "missing_scope": null},
//!   "vips": {"ok": false, "count": 0, "granted": 0, "updated": 0, "revoked": 0, "unchanged": 0, "error": "could not fetch them from Twitch, so they were left as they were: the Twitch token lacks ...", "missing_scope": "channel:read:vips"},
//!   "moderators": {"ok": true, "count": 3, "granted": 0, "updated": 0, "revoked": 0, "unchanged": 3, "error": null, "missing_scope": null}
//! }
//! ```
//!
//! A refused one (no Helix request was made):
//!
//! ```json
//! {"status": "skipped", "trigger": "manual", "reason": "too_soon", "next_allowed_at": "2025-01-01T12:05:00.123Z"}
//! ```

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::SyncTrigger;
use super::gate::SkipReason;
use crate::store::StoreError;
use crate::store::roles::RoleSetChange;
use crate::store::subscriptions::SubscriptionSetChange;
use crate::twitch::helix::HelixError;

/// The answer of [`super::RoleSync::sync`]: it ran, or it was refused by
/// the per-trigger throttle. Serialized with a `status` tag (`completed` /
/// `skipped`) beside the variant's fields; see the module docs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SyncOutcome {
    /// The sync ran; some role types may have failed (see
    /// [`SyncReport::success`]). Boxed: a report is much larger than a skip.
    Completed(Box<SyncReport>),
    /// Not run, without any Helix request: the same trigger ran less than
    /// the window ago, or is still running.
    Skipped {
        /// The trigger that was refused.
        trigger: SyncTrigger,
        /// `too_soon` or `already_running`.
        reason: SkipReason,
        /// The earliest time the same trigger may run again (RFC 3339).
        next_allowed_at: DateTime<Utc>,
    },
}

impl SyncOutcome {
    /// The trigger the outcome is for.
    pub fn trigger(&self) -> SyncTrigger {
        match self {
            SyncOutcome::Completed(report) => report.trigger,
            SyncOutcome::Skipped { trigger, .. } => *trigger,
        }
    }

    /// The report, when the sync ran.
    pub fn report(&self) -> Option<&SyncReport> {
        match self {
            SyncOutcome::Completed(report) => Some(report),
            SyncOutcome::Skipped { .. } => None,
        }
    }

    /// Whether the throttle refused the sync.
    pub fn is_skipped(&self) -> bool {
        matches!(self, SyncOutcome::Skipped { .. })
    }
}

/// One completed sync: `success` / counts / `errors`, plus the
/// details of each role type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncReport {
    /// What asked for the sync.
    pub trigger: SyncTrigger,
    /// The broadcaster's user id.
    pub channel_id: String,
    /// True when every role type was fetched and applied.
    pub success: bool,
    /// When the sync started (RFC 3339).
    pub started_at: DateTime<Utc>,
    /// How long it took, fetches and database writes included.
    pub duration_ms: u64,
    /// Active subscribers after the sync (0 when that type failed).
    pub sub_count: usize,
    /// VIPs after the sync (0 when that type failed).
    pub vip_count: usize,
    /// Moderators after the sync (0 when that type failed).
    pub mod_count: usize,
    /// One line per failed type, prefixed with the type (`VIPs: ...`).
    pub errors: Vec<String>,
    /// Subscriptions (`updated` = tier or gift flag changed).
    pub subscribers: TypeReport,
    /// The VIP role.
    pub vips: TypeReport,
    /// The moderator role.
    pub moderators: TypeReport,
}

impl SyncReport {
    /// The report of a sync from `started_at`, its summary fields derived
    /// from the three type reports.
    pub(super) fn new(
        trigger: SyncTrigger,
        channel_id: String,
        started_at: DateTime<Utc>,
        duration_ms: u64,
        [subscribers, vips, moderators]: [TypeReport; 3],
    ) -> Self {
        let errors = RoleType::ALL
            .iter()
            .zip([&subscribers, &vips, &moderators])
            .filter_map(|(kind, report)| {
                report
                    .error
                    .as_ref()
                    .map(|e| format!("{}: {e}", kind.label()))
            })
            .collect::<Vec<_>>();
        SyncReport {
            trigger,
            channel_id,
            success: errors.is_empty(),
            started_at,
            duration_ms,
            sub_count: subscribers.count,
            vip_count: vips.count,
            mod_count: moderators.count,
            errors,
            subscribers,
            vips,
            moderators,
        }
    }
}

/// What one role type's sync did. A failed type changed nothing: its
/// counts are 0 and `error` says why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TypeReport {
    /// Fetched and applied.
    pub ok: bool,
    /// How many hold the role (or subscription) after the sync: Twitch's
    /// list, deduplicated.
    pub count: usize,
    /// Gained it in this sync.
    pub granted: usize,
    /// Subscriptions whose tier or gift flag changed; always 0 for roles.
    pub updated: usize,
    /// Lost it in this sync (`revoked_at` / `end_date` set, rows kept).
    pub revoked: usize,
    /// Held it before and after, unchanged.
    pub unchanged: usize,
    /// Why this type failed, with context.
    pub error: Option<String>,
    /// The OAuth scope Twitch said the token lacks, when that is why.
    pub missing_scope: Option<String>,
}

impl TypeReport {
    /// A role type applied from Twitch's list.
    pub(super) fn from_roles(change: &RoleSetChange) -> Self {
        TypeReport {
            ok: true,
            count: change.active,
            granted: change.granted.len(),
            updated: 0,
            revoked: change.revoked.len(),
            unchanged: change.active - change.granted.len(),
            error: None,
            missing_scope: None,
        }
    }

    /// Subscriptions applied from Twitch's list.
    pub(super) fn from_subscriptions(change: &SubscriptionSetChange) -> Self {
        TypeReport {
            ok: true,
            count: change.active,
            granted: change.created.len(),
            updated: change.updated.len(),
            revoked: change.ended.len(),
            unchanged: change.unchanged(),
            error: None,
            missing_scope: None,
        }
    }

    /// A type that failed and was left as it was.
    pub(super) fn failed(failure: &TypeFailure) -> Self {
        TypeReport {
            error: Some(failure.to_string()),
            missing_scope: failure.missing_scope().map(str::to_owned),
            ..TypeReport::default()
        }
    }
}

/// The three synced types, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RoleType {
    Subscribers,
    Vips,
    Moderators,
}

impl RoleType {
    pub(super) const ALL: [RoleType; 3] =
        [RoleType::Subscribers, RoleType::Vips, RoleType::Moderators];

    /// The JSON key and `role` log field.
    pub(super) fn key(self) -> &'static str {
        match self {
            RoleType::Subscribers => "subscribers",
            RoleType::Vips => "vips",
            RoleType::Moderators => "moderators",
        }
    }

    /// The prefix of its lines in [`SyncReport::errors`] (`VIPs: ...`).
    pub(super) fn label(self) -> &'static str {
        match self {
            RoleType::Subscribers => "Subscribers",
            RoleType::Vips => "VIPs",
            RoleType::Moderators => "Moderators",
        }
    }
}

/// Why one role type was not applied; either way it was left untouched.
#[derive(Debug, thiserror::Error)]
pub(super) enum TypeFailure {
    #[error("could not fetch them from Twitch, so they were left as they were: {0}")]
    Fetch(#[source] HelixError),
    #[error("could not save them, so they were left as they were: {0}")]
    Save(#[source] StoreError),
}

impl TypeFailure {
    /// The scope Twitch named, when a missing scope is the cause.
    pub(super) fn missing_scope(&self) -> Option<&str> {
        match self {
            TypeFailure::Fetch(HelixError::MissingScope { scope, .. }) => Some(scope),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_report_sums_up_its_types() {
        let ok = TypeReport::from_roles(&RoleSetChange {
            granted: vec![1],
            revoked: vec![2, 3],
            active: 4,
        });
        assert_eq!(
            (ok.count, ok.granted, ok.revoked, ok.unchanged),
            (4, 1, 2, 3)
        );
        let failure = TypeFailure::Fetch(HelixError::MissingScope {
            endpoint: "GET /channels/vips".into(),
            scope: "channel:read:vips".into(),
        });
        let failed = TypeReport::failed(&failure);
        let started = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let report = SyncReport::new(
            SyncTrigger::OauthConnect,
            "42".into(),
            started,
            12,
            [ok.clone(), failed, ok],
        );
        let value = serde_json::to_value(SyncOutcome::Completed(Box::new(report))).unwrap();
        assert_eq!(value["status"], "completed");
        assert_eq!(value["trigger"], "oauth-connect");
        assert_eq!(value["success"], false);
        assert_eq!(value["started_at"], "2023-11-14T22:13:20Z");
        assert_eq!(
            (
                &value["sub_count"],
                &value["vip_count"],
                &value["mod_count"]
            ),
            (&json!(4), &json!(0), &json!(4))
        );
        let errors = value["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0]
                .as_str()
                .unwrap()
                .starts_with("VIPs: could not fetch them from Twitch")
        );
        assert!(errors[0].as_str().unwrap().contains("channel:read:vips"));
        assert_eq!(value["vips"]["ok"], false);
        assert_eq!(value["vips"]["missing_scope"], "channel:read:vips");
        assert_eq!(
            value["moderators"],
            json!({"ok": true, "count": 4, "granted": 1, "updated": 0, "revoked": 2,
                   "unchanged": 3, "error": null, "missing_scope": null})
        );
    }

    #[test]
    fn a_skip_says_when_to_come_back() {
        let at = DateTime::from_timestamp(1_700_000_300, 0).unwrap();
        let skipped = SyncOutcome::Skipped {
            trigger: SyncTrigger::StreamStart,
            reason: SkipReason::TooSoon,
            next_allowed_at: at,
        };
        assert!(skipped.is_skipped() && skipped.report().is_none());
        assert_eq!(skipped.trigger(), SyncTrigger::StreamStart);
        assert_eq!(
            serde_json::to_value(skipped).unwrap(),
            json!({"status": "skipped", "trigger": "stream-start", "reason": "too_soon",
                   "next_allowed_at": "2023-11-14T22:18:20Z"})
        );
    }
}
