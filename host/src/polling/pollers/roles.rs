//! `vips` and `moderators`: roles granted and revoked, one poller type for
//! both (they differ in the Helix list, the event kinds and the role).

use chrono::{DateTime, Utc};

use super::cycle::{Cycle, username};
use crate::event::data::Named;
use crate::event::{Event, EventData, Source, Viewer, now_ms};
use crate::polling::diff::roles::diff;
use crate::polling::{PollContext, PollError, PollFuture, PollReport, Poller};
use crate::store::roles::{self, Role};
use crate::twitch::normalize::DomainChange;

/// VIPs or moderators.
pub struct RolePoller {
    ctx: PollContext,
    role: Role,
}

impl RolePoller {
    /// The `vips` poller.
    pub fn vips(ctx: PollContext) -> Self {
        RolePoller {
            ctx,
            role: Role::Vip,
        }
    }

    /// The `moderators` poller.
    pub fn moderators(ctx: PollContext) -> Self {
        RolePoller {
            ctx,
            role: Role::Moderator,
        }
    }

    async fn cycle(&self) -> Result<PollReport, PollError> {
        let mut cycle = Cycle::start(&self.ctx, self.name());
        let baseline = !cycle.has_baseline().await?;
        let listed = match self.role {
            Role::Vip => self.ctx.helix.vips(&self.ctx.channel_id).await?,
            _ => self.ctx.helix.moderators(&self.ctx.channel_id).await?,
        };
        let detected_at = now_ms();
        let current: Vec<Viewer> = listed
            .iter()
            .map(|u| Viewer::new(&u.user_id, &u.user_login, &u.user_name))
            .collect();
        let (channel, role) = (self.ctx.channel_id.clone(), self.role);
        let known: Vec<Viewer> = self
            .ctx
            .store
            .read(move |c| roles::active(c, &channel, role))
            .await?
            .iter()
            .map(|row| row.to_viewer())
            .collect();
        let diff = diff(&known, &current);
        if baseline {
            let changes: Vec<DomainChange> = diff
                .added
                .into_iter()
                .chain(diff.renamed)
                .map(|viewer| DomainChange::RoleGranted { viewer, role })
                .chain(
                    diff.removed
                        .into_iter()
                        .map(|viewer| DomainChange::RoleRevoked { viewer, role }),
                )
                .collect();
            return cycle.take_baseline(changes, detected_at).await;
        }
        cycle.rename(diff.renamed, detected_at).await?;
        for viewer in diff.added {
            let (event, change) = role_event(cycle.channel(), role, viewer, true, detected_at);
            cycle.send_change(event, change, detected_at).await?;
        }
        for viewer in diff.removed {
            let (event, change) = role_event(cycle.channel(), role, viewer, false, detected_at);
            cycle.send_change(event, change, detected_at).await?;
        }
        Ok(cycle.finish().await?.0)
    }
}

impl Poller for RolePoller {
    fn name(&self) -> &'static str {
        match self.role {
            Role::Vip => "vips",
            _ => "moderators",
        }
    }

    fn poll(&self) -> PollFuture<'_> {
        Box::pin(self.cycle())
    }
}

/// The `channel.vip.add/remove` or `channel.moderator.add/remove` event
/// for `viewer`, and its change to viewer_roles.
pub(crate) fn role_event(
    channel: &str,
    role: Role,
    viewer: Viewer,
    granted: bool,
    detected_at: DateTime<Utc>,
) -> (Event, DomainChange) {
    let named = Named::new(username(&viewer));
    let data = match (role, granted) {
        (Role::Vip, true) => EventData::VipAdd(named),
        (Role::Vip, false) => EventData::VipRemove(named),
        (_, true) => EventData::ModeratorAdd(named),
        (_, false) => EventData::ModeratorRemove(named),
    };
    let event = Event::of(data, Source::Poll, channel)
        .with_viewer(viewer.clone())
        .at(detected_at);
    let change = if granted {
        DomainChange::RoleGranted { viewer, role }
    } else {
        DomainChange::RoleRevoked { viewer, role }
    };
    (event, change)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn role_events_have_the_table_details() {
        let at = now_ms();
        let viewer = Viewer::new("5", "helper", "Helper");
        let cases = [
            (Role::Vip, true, "channel.vip.add", "granted", "vip"),
            (Role::Vip, false, "channel.vip.remove", "revoked", "vip"),
            (
                Role::Moderator,
                true,
                "channel.moderator.add",
                "granted",
                "moderator",
            ),
            (
                Role::Moderator,
                false,
                "channel.moderator.remove",
                "revoked",
                "moderator",
            ),
        ];
        for (role, granted, kind, action, role_type) in cases {
            let (event, change) = role_event("1", role, viewer.clone(), granted, at);
            assert_eq!(event.kind.as_str(), kind);
            assert_eq!(event.source, Source::Poll);
            assert_eq!(
                serde_json::Value::Object(event.details()),
                json!({"username": "Helper", "action": action, "role_type": role_type})
            );
            assert_eq!(
                matches!(change, DomainChange::RoleGranted { .. }),
                granted,
                "{kind}"
            );
        }
    }
}
