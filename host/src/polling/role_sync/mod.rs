//! The role sync service: brings the channel's subscribers, VIPs and
//! moderators in the store up to date with Twitch, so access checks
//! ([`crate::store::access`]) answer from the database instead of asking
//! Helix per chat message.
//!
//! The three lists are fetched in parallel. Each type is then applied on
//! its own and atomically: everyone Twitch lists gets it, everyone else
//! loses it (`revoked_at` / `end_date` set, the rows kept as history). A
//! type whose fetch or write failed changes nothing, so an outage or a
//! missing scope never revokes everyone, and the other types still apply
//! (partial success). Bans play no part: a banned VIP stays a VIP.
//!
//! Start-up, the periodic timer, `POST /api/roles/sync`, a completed login
//! and `stream.online` call [`RoleSync::sync`] with their [`SyncTrigger`];
//! each trigger runs at most once per [`MIN_INTERVAL`], and every log line
//! carries the trigger in a `trigger` field.

mod gate;
mod outcome;
#[cfg(test)]
mod tests;
mod trigger;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::event::Viewer;
use crate::store::roles::{self, Role};
use crate::store::subscriptions::{self, SubscriptionTerms};
use crate::store::{Store, viewers};
use crate::twitch::helix::{HelixClient, HelixError, Subscriber, UserRef};
use gate::Gate;
use outcome::{RoleType, TypeFailure};

pub use gate::SkipReason;
pub use outcome::{SyncOutcome, SyncReport, TypeReport};
pub use trigger::{SyncTrigger, UnknownTrigger};

/// How often the same trigger may run (at most once per 5 minutes), to
/// spare the Helix rate limit.
pub const MIN_INTERVAL: Duration = Duration::from_secs(5 * 60);

/// Syncs one channel's roles from Helix into the store. Cheap to clone;
/// clones share the per-trigger throttle, so every caller in the app sees
/// the same windows.
#[derive(Clone)]
pub struct RoleSync {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    helix: HelixClient,
    channel_id: String,
    gate: Gate,
    /// Held while a sync fetches and applies, so syncs of different
    /// triggers run one after another and an older fetch never lands after
    /// a newer one.
    running: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for RoleSync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoleSync")
            .field("channel_id", &self.inner.channel_id)
            .field("min_interval", &self.inner.gate.window())
            .finish_non_exhaustive()
    }
}

impl RoleSync {
    /// A service for the channel of `channel_id` (the broadcaster's user
    /// id, whose token `helix` uses), with the 5-minute [`MIN_INTERVAL`].
    pub fn new(store: Store, helix: HelixClient, channel_id: String) -> Self {
        Self::build(store, helix, channel_id, MIN_INTERVAL)
    }

    /// The same service with another per-trigger window (tests shorten it).
    /// Call it before cloning: the returned service starts with no runs
    /// recorded and does not share its throttle with `self`.
    pub fn with_min_interval(self, window: Duration) -> Self {
        let inner = &self.inner;
        Self::build(
            inner.store.clone(),
            inner.helix.clone(),
            inner.channel_id.clone(),
            window,
        )
    }

    fn build(store: Store, helix: HelixClient, channel_id: String, window: Duration) -> Self {
        RoleSync {
            inner: Arc::new(Inner {
                store,
                helix,
                channel_id,
                gate: Gate::new(window),
                running: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// The broadcaster's user id this service syncs.
    pub fn channel_id(&self) -> &str {
        &self.inner.channel_id
    }

    /// How long a trigger waits between runs.
    pub fn min_interval(&self) -> Duration {
        self.inner.gate.window()
    }

    /// Fetches subscribers, VIPs and moderators in parallel and applies each
    /// type atomically and independently. Never fails as a whole: a type
    /// that could not be fetched or saved is reported in the result and
    /// left as it was. Returns [`SyncOutcome::Skipped`] without any Helix
    /// request when `trigger` started a sync less than
    /// [`RoleSync::min_interval`] ago or its sync is still running.
    pub async fn sync(&self, trigger: SyncTrigger) -> SyncOutcome {
        let _ticket = match self.inner.gate.admit(trigger, Instant::now()) {
            Ok(ticket) => ticket,
            Err(refused) => {
                let now = Utc::now();
                let next_allowed_at = chrono::Duration::from_std(refused.wait)
                    .ok()
                    .and_then(|wait| now.checked_add_signed(wait))
                    .unwrap_or(DateTime::<Utc>::MAX_UTC);
                tracing::info!(
                    trigger = trigger.as_str(),
                    reason = refused.reason.as_str(),
                    %next_allowed_at,
                    "role sync skipped: this trigger may run once per {:?} and not while running",
                    self.min_interval()
                );
                return SyncOutcome::Skipped {
                    trigger,
                    reason: refused.reason,
                    next_allowed_at,
                };
            }
        };
        let _running = self.inner.running.lock().await;
        let started_at = Utc::now();
        let clock = Instant::now();
        let channel_id = self.channel_id();
        tracing::info!(trigger = trigger.as_str(), channel_id, "role sync starting");

        let helix = &self.inner.helix;
        let (subs, vips, mods) = tokio::join!(
            helix.subscriptions(channel_id),
            helix.vips(channel_id),
            helix.moderators(channel_id),
        );
        let at = Utc::now();
        let (subs, vips, mods) = tokio::join!(
            self.apply_subscribers(subs, at),
            self.apply_role(Role::Vip, vips, at),
            self.apply_role(Role::Moderator, mods, at),
        );
        let reports = [
            self.report(trigger, RoleType::Subscribers, subs),
            self.report(trigger, RoleType::Vips, vips),
            self.report(trigger, RoleType::Moderators, mods),
        ];
        let duration_ms = u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX);
        let report = SyncReport::new(
            trigger,
            channel_id.to_owned(),
            started_at,
            duration_ms,
            reports,
        );
        if report.success {
            tracing::info!(
                trigger = trigger.as_str(),
                duration_ms,
                subs = report.sub_count,
                vips = report.vip_count,
                mods = report.mod_count,
                "role sync complete"
            );
        } else {
            tracing::warn!(
                trigger = trigger.as_str(),
                duration_ms,
                subs = report.sub_count,
                vips = report.vip_count,
                mods = report.mod_count,
                failed = report.errors.len(),
                "role sync partly failed; the failed types were left as they were"
            );
        }
        SyncOutcome::Completed(Box::new(report))
    }

    /// Makes the fetched subscribers the channel's active subscriptions.
    async fn apply_subscribers(
        &self,
        fetched: Result<Vec<Subscriber>, HelixError>,
        at: DateTime<Utc>,
    ) -> Result<TypeReport, TypeFailure> {
        let subscribers = fetched.map_err(TypeFailure::Fetch)?;
        let channel_id = self.inner.channel_id.clone();
        let change = self
            .inner
            .store
            .write(move |c| {
                let present = subscribers
                    .iter()
                    .map(|s| {
                        let viewer = viewer(&s.user_id, &s.user_login, &s.user_name);
                        let terms = SubscriptionTerms {
                            tier: s.tier.clone(),
                            is_gift: s.is_gift,
                            // Helix does not say; the months we know stay.
                            cumulative_months: None,
                        };
                        Ok((viewers::get_or_create(c, &viewer, at)?, terms))
                    })
                    .collect::<Result<Vec<_>, crate::store::StoreError>>()?;
                subscriptions::replace_all(c, &channel_id, &present, at)
            })
            .await
            .map_err(TypeFailure::Save)?;
        Ok(TypeReport::from_subscriptions(&change))
    }

    /// Makes the fetched users exactly the holders of `role`.
    async fn apply_role(
        &self,
        role: Role,
        fetched: Result<Vec<UserRef>, HelixError>,
        at: DateTime<Utc>,
    ) -> Result<TypeReport, TypeFailure> {
        let present: Vec<Viewer> = fetched
            .map_err(TypeFailure::Fetch)?
            .iter()
            .map(|u| viewer(&u.user_id, &u.user_login, &u.user_name))
            .collect();
        let channel_id = self.inner.channel_id.clone();
        let change = self
            .inner
            .store
            .write(move |c| roles::replace_all(c, &channel_id, role, &present, at))
            .await
            .map_err(TypeFailure::Save)?;
        Ok(TypeReport::from_roles(&change))
    }

    /// Logs one type's result (tagged with the trigger) and turns a failure
    /// into its report.
    fn report(
        &self,
        trigger: SyncTrigger,
        kind: RoleType,
        result: Result<TypeReport, TypeFailure>,
    ) -> TypeReport {
        match result {
            Ok(report) => {
                tracing::info!(
                    trigger = trigger.as_str(),
                    role = kind.key(),
                    count = report.count,
                    granted = report.granted,
                    updated = report.updated,
                    revoked = report.revoked,
                    unchanged = report.unchanged,
                    "{} synced",
                    kind.label()
                );
                report
            }
            Err(failure) => {
                tracing::warn!(
                    trigger = trigger.as_str(),
                    role = kind.key(),
                    missing_scope = failure.missing_scope(),
                    error = %failure,
                    "{} not synced",
                    kind.label()
                );
                TypeReport::failed(&failure)
            }
        }
    }
}

/// The viewer Helix describes; a missing display name falls back to the
/// login.
fn viewer(id: &str, login: &str, name: &str) -> Viewer {
    let display = if name.is_empty() { login } else { name };
    Viewer::new(id, login, display)
}
