//! `bans`: bans, timeouts (with duration and expiry), unbans and timeouts
//! that ended (see [`crate::polling::diff::bans`] for which is which).

use chrono::{DateTime, Utc};

use super::cycle::{Cycle, username};
use crate::event::data::{Ban, Named};
use crate::event::{Event, EventData, Source, Viewer, now_ms};
use crate::polling::diff::bans::{BanChange, CurrentBan, KnownBan, diff};
use crate::polling::{PollContext, PollError, PollFuture, PollReport, Poller};
use crate::store::{bans, viewers};
use crate::twitch::helix::BannedUser;
use crate::twitch::normalize::DomainChange;

/// The poller's name in `polling_config`.
pub const NAME: &str = "bans";

/// Ban and timeout changes.
pub struct BansPoller {
    ctx: PollContext,
}

impl BansPoller {
    /// The poller for the context's channel.
    pub fn new(ctx: PollContext) -> Self {
        BansPoller { ctx }
    }

    async fn cycle(&self) -> Result<PollReport, PollError> {
        let mut cycle = Cycle::start(&self.ctx, NAME);
        let baseline = !cycle.has_baseline().await?;
        let listed = self.ctx.helix.banned(&self.ctx.channel_id).await?;
        let detected_at = now_ms();
        let current: Vec<CurrentBan> = listed.iter().map(listed_ban).collect();
        let known = self.known().await?;
        let diff = diff(&known, &current, detected_at);
        if baseline {
            let renames = diff.renamed.into_iter().filter_map(|viewer| {
                let ban = current.iter().find(|b| b.viewer.id == viewer.id)?;
                Some(ban_change(CurrentBan {
                    viewer,
                    ..ban.clone()
                }))
            });
            let changes: Vec<DomainChange> = diff
                .changes
                .into_iter()
                .map(|change| ban_event(&self.ctx.channel_id, change, detected_at).1)
                .chain(renames)
                .collect();
            return cycle.take_baseline(changes, detected_at).await;
        }
        cycle.rename(diff.renamed, detected_at).await?;
        for change in diff.changes {
            let (event, change) = ban_event(cycle.channel(), change, detected_at);
            cycle.send_change(event, change, detected_at).await?;
        }
        Ok(cycle.finish().await?.0)
    }

    /// The bans the store knows, with each viewer's names.
    async fn known(&self) -> Result<Vec<KnownBan>, PollError> {
        let channel = self.ctx.channel_id.clone();
        Ok(self
            .ctx
            .store
            .read(move |c| {
                let mut known = Vec::new();
                for ban in bans::active(c, &channel)? {
                    let viewer = match viewers::by_twitch_id(c, &ban.twitch_id)? {
                        Some(row) => row.to_viewer(),
                        None => Viewer::new(&ban.twitch_id, &ban.login, &ban.login),
                    };
                    known.push(KnownBan {
                        viewer,
                        expires_at: ban.expires_at,
                    });
                }
                Ok(known)
            })
            .await?)
    }
}

impl Poller for BansPoller {
    fn name(&self) -> &'static str {
        NAME
    }

    fn poll(&self) -> PollFuture<'_> {
        Box::pin(self.cycle())
    }
}

/// A ban as Helix lists it, in the diff's terms.
pub(crate) fn listed_ban(b: &BannedUser) -> CurrentBan {
    CurrentBan {
        viewer: Viewer::new(&b.user_id, &b.user_login, &b.user_name),
        created_at: b.created_at,
        expires_at: b.expires_at,
        reason: b.reason.clone(),
        moderator: (!b.moderator_id.is_empty())
            .then(|| Viewer::new(&b.moderator_id, &b.moderator_login, &b.moderator_name)),
    }
}

fn ban_change(ban: CurrentBan) -> DomainChange {
    DomainChange::Banned {
        viewer: ban.viewer,
        banned_at: ban.created_at,
        expires_at: ban.expires_at,
        reason: Some(ban.reason),
        moderator_login: ban.moderator.map(|m| m.login),
    }
}

/// The event for one ban change, and its change to viewer_bans:
/// `channel.ban` (username, moderator_username, moderator_id, reason,
/// is_permanent, and for a timeout duration_seconds and expires_at),
/// `channel.unban` or `channel.timeout.end` (username).
pub(crate) fn ban_event(
    channel: &str,
    change: BanChange,
    detected_at: DateTime<Utc>,
) -> (Event, DomainChange) {
    let (viewer, data, change) = match change {
        BanChange::Banned(ban) => {
            let data = EventData::Ban(Ban {
                username: username(&ban.viewer),
                moderator_username: ban.moderator.as_ref().map(username),
                moderator_id: ban.moderator.as_ref().map(|m| m.id.clone()),
                reason: Some(ban.reason.clone()),
                is_permanent: ban.expires_at.is_none(),
                duration_seconds: ban.duration_seconds(),
                expires_at: ban.expires_at,
            });
            (ban.viewer.clone(), data, ban_change(ban))
        }
        BanChange::Unbanned(viewer) => {
            let data = EventData::Unban(Named::new(username(&viewer)));
            let change = DomainChange::Unbanned {
                viewer: viewer.clone(),
            };
            (viewer, data, change)
        }
        BanChange::TimeoutEnded { viewer, expires_at } => {
            let data = EventData::TimeoutEnd(Named::new(username(&viewer)));
            let change = DomainChange::TimeoutEnded {
                viewer: viewer.clone(),
                expires_at,
            };
            (viewer, data, change)
        }
    };
    let event = Event::of(data, Source::Poll, channel)
        .with_viewer(viewer)
        .at(detected_at);
    (event, change)
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use serde_json::json;

    use super::*;
    use crate::event::EventKind;

    fn details(event: &Event) -> serde_json::Value {
        serde_json::Value::Object(event.details())
    }

    #[test]
    fn ban_timeout_unban_and_timeout_end_events_have_the_table_details() {
        let at: DateTime<Utc> = "2025-03-01T12:00:00Z".parse().unwrap();
        let troll = Viewer::new("9", "troll", "Troll");
        let ban = CurrentBan {
            viewer: troll.clone(),
            created_at: Some(at - TimeDelta::minutes(1)),
            expires_at: None,
            reason: "spam".into(),
            moderator: Some(Viewer::new("2", "mod", "Mod")),
        };
        let (event, change) = ban_event("1", BanChange::Banned(ban.clone()), at);
        assert_eq!(event.kind, EventKind::Ban);
        assert_eq!(
            details(&event),
            json!({"username": "Troll", "moderator_username": "Mod", "moderator_id": "2",
                   "reason": "spam", "is_permanent": true})
        );
        assert!(matches!(
            change,
            DomainChange::Banned {
                expires_at: None,
                ..
            }
        ));

        let timeout = CurrentBan {
            expires_at: Some(at + TimeDelta::minutes(9)),
            ..ban
        };
        let (event, _) = ban_event("1", BanChange::Banned(timeout), at);
        assert_eq!(
            details(&event),
            json!({"username": "Troll", "moderator_username": "Mod", "moderator_id": "2",
                   "reason": "spam", "is_permanent": false, "duration_seconds": 600,
                   "expires_at": "2025-03-01T12:09:00Z"})
        );

        let (event, change) = ban_event("1", BanChange::Unbanned(troll.clone()), at);
        assert_eq!(event.kind, EventKind::Unban);
        assert_eq!(details(&event), json!({"username": "Troll"}));
        assert!(matches!(change, DomainChange::Unbanned { .. }));

        let ended = BanChange::TimeoutEnded {
            viewer: troll,
            expires_at: at,
        };
        let (event, change) = ban_event("1", ended, at);
        assert_eq!(event.kind, EventKind::TimeoutEnd);
        assert_eq!(details(&event), json!({"username": "Troll"}));
        assert!(
            matches!(change, DomainChange::TimeoutEnded { expires_at, .. } if expires_at == at)
        );
        assert_eq!(event.source, Source::Poll);
    }
}
