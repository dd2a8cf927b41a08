//! `followers_full`: the slow full scan. Unfollows have no EventSub event
//! and don't show at the top of the follower list, so only reading every
//! page finds them (a page per 100 followers); it runs on its own, slower
//! schedule (`polling_config` row `followers_full`). It also reports
//! follows the incremental walk missed (while the host was down, say).
//!
//! Every page must arrive before anything is compared: a page failing
//! mid-pagination fails the cycle with nothing applied, so a partial list
//! never reads as mass unfollows. For the same reason a list much shorter
//! than the `total` Twitch reports with it is refused (Twitch lists nobody
//! but still counts them for a token that may not read followers).

use chrono::{DateTime, Utc};

use super::cycle::{Cycle, username};
use super::followers::{ENDPOINT, follow_event, repeated_cursor};
use crate::event::data::Named;
use crate::event::{Event, EventData, Source, now_ms};
use crate::polling::diff::follower_set::{self, FollowerSet};
use crate::polling::{PollContext, PollError, PollFuture, PollReport, Poller};
use crate::store::followers;
use crate::twitch::helix::{Follower, HelixError, MAX_PAGE};
use crate::twitch::normalize::DomainChange;

/// The poller's name in `polling_config`.
pub const NAME: &str = "followers_full";

/// The most followers room is made for up front; a larger list grows.
const MAX_PREALLOCATED: usize = 2_000_000;

/// Unfollows and missed follows, from a full scan.
pub struct FollowersFullPoller {
    ctx: PollContext,
}

impl FollowersFullPoller {
    /// The poller for the context's channel.
    pub fn new(ctx: PollContext) -> Self {
        FollowersFullPoller { ctx }
    }

    async fn cycle(&self) -> Result<PollReport, PollError> {
        let mut cycle = Cycle::start(&self.ctx, NAME);
        let baseline = !cycle.has_baseline().await?;
        let channel = self.ctx.channel_id.clone();
        // How far up the list the store has seen, before the scan starts.
        let horizon = self
            .ctx
            .store
            .read(move |c| followers::newest_followed_at(c, &channel))
            .await?;
        let current = self.scan().await?;
        let detected_at = now_ms();
        let known = self.known().await?;
        let diff = follower_set::full(&known, &current);
        if baseline {
            let changes = silent_changes(&known, &current, &diff, horizon);
            return cycle.take_baseline(changes, detected_at).await;
        }
        let renamed = diff.renamed.iter().map(|&i| current.viewer(i)).collect();
        cycle.rename(renamed, detected_at).await?;
        for &i in &diff.unfollowed {
            let (event, change) = unfollow_event(cycle.channel(), &known, i, detected_at);
            cycle.send_change(event, change, detected_at).await?;
        }
        let mut followed = diff.followed;
        followed.sort_by_key(|&i| current.followed_at(i));
        for i in followed {
            let (event, change) =
                follow_event(cycle.channel(), &follower(&current, i), detected_at);
            cycle.send_change(event, change, detected_at).await?;
        }
        Ok(cycle.finish().await?.0)
    }

    /// Every follower Helix lists, or an error: all pages or nothing.
    async fn scan(&self) -> Result<FollowerSet, PollError> {
        let first = self
            .ctx
            .helix
            .followers_page(&self.ctx.channel_id, None, MAX_PAGE)
            .await?;
        // Room for the reported total, within reason: `total` is Twitch's
        // word, not a size to trust blindly.
        let expected = first
            .total
            .map_or(0, |t| usize::try_from(t).unwrap_or(usize::MAX))
            .min(MAX_PREALLOCATED);
        let mut set = FollowerSet::with_capacity(expected);
        let mut page = first;
        let mut total = page.total;
        loop {
            total = page.total.or(total);
            for f in &page.data {
                set.push(&f.user_id, &f.user_login, &f.user_name, Some(f.followed_at));
            }
            let Some(cursor) = page.cursor.filter(|_| !page.data.is_empty()) else {
                break;
            };
            let next = self
                .ctx
                .helix
                .followers_page(&self.ctx.channel_id, Some(&cursor), MAX_PAGE)
                .await?;
            if next.cursor.as_deref() == Some(cursor.as_str()) {
                return Err(repeated_cursor().into());
            }
            page = next;
        }
        check_complete(set.len(), total)?;
        Ok(set)
    }

    /// Every follower the store knows, compactly.
    async fn known(&self) -> Result<FollowerSet, PollError> {
        let channel = self.ctx.channel_id.clone();
        Ok(self
            .ctx
            .store
            .read(move |c| {
                let mut set = FollowerSet::default();
                followers::for_each_current(c, &channel, |id, login, name, at| {
                    set.push(id, login, name, at);
                })?;
                Ok(set)
            })
            .await?)
    }
}

impl Poller for FollowersFullPoller {
    fn name(&self) -> &'static str {
        NAME
    }

    fn poll(&self) -> PollFuture<'_> {
        Box::pin(self.cycle())
    }
}

/// Refuses a list that cannot be complete: no `total` at all, or fewer
/// followers than it by more than the churn a long scan sees (1%, at least
/// 10).
fn check_complete(listed: usize, total: Option<u64>) -> Result<(), HelixError> {
    let Some(total) = total else {
        return Err(HelixError::Decode {
            endpoint: ENDPOINT.into(),
            detail: format!(
                "the follower list ({listed} listed) came without a total; not diffing a list that may be partial"
            ),
        });
    };
    let total = usize::try_from(total).unwrap_or(usize::MAX);
    let slack = (total / 100).max(10);
    if listed.saturating_add(slack) < total {
        return Err(HelixError::Decode {
            endpoint: ENDPOINT.into(),
            detail: format!(
                "Twitch reported {total} followers but listed {listed}; not diffing a partial list"
            ),
        });
    }
    Ok(())
}

/// What the first full scan records silently: the state as listed, except
/// follows newer than anything the store had seen before the scan, which
/// the incremental walk reports (they are above its horizon). Drawn
/// lazily: a million-follower baseline never holds a million changes.
fn silent_changes<'a>(
    known: &'a FollowerSet,
    current: &'a FollowerSet,
    diff: &'a follower_set::FullDiff,
    horizon: Option<DateTime<Utc>>,
) -> impl Iterator<Item = DomainChange> + Send + 'a {
    let old_enough = move |i: usize| match (horizon, current.followed_at(i)) {
        (Some(h), Some(at)) => at.timestamp() <= h.timestamp(),
        _ => horizon.is_none(),
    };
    let follows = diff
        .followed
        .iter()
        .filter(move |&&i| old_enough(i))
        .map(|&i| DomainChange::Follow {
            viewer: current.viewer(i),
            followed_at: current.followed_at(i),
        });
    let unfollows = diff.unfollowed.iter().map(|&i| DomainChange::Unfollowed {
        viewer: known.viewer(i),
    });
    // A rename is applied by any change naming the viewer; a follow of
    // someone already following with that time changes nothing else.
    let renames = diff.renamed.iter().map(|&i| DomainChange::Follow {
        viewer: current.viewer(i),
        followed_at: current.followed_at(i),
    });
    follows.chain(unfollows).chain(renames)
}

fn follower(set: &FollowerSet, i: usize) -> Follower {
    Follower {
        user_id: set.id(i).to_owned(),
        user_login: set.login(i).to_owned(),
        user_name: set.display_name(i).to_owned(),
        followed_at: set.followed_at(i).unwrap_or_default(),
    }
}

/// The `channel.unfollow` event for known follower `i`, and its change.
fn unfollow_event(
    channel: &str,
    known: &FollowerSet,
    i: usize,
    detected_at: DateTime<Utc>,
) -> (Event, DomainChange) {
    let viewer = known.viewer(i);
    let data = EventData::Unfollow(Named::new(username(&viewer)));
    let event = Event::of(data, Source::Poll, channel)
        .with_viewer(viewer.clone())
        .at(detected_at);
    (event, DomainChange::Unfollowed { viewer })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;
    use crate::event::EventKind;

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap() + chrono::TimeDelta::seconds(secs)
    }

    #[test]
    fn a_list_without_a_total_or_far_shorter_than_it_is_refused() {
        assert!(check_complete(0, Some(0)).is_ok());
        assert!(check_complete(990, Some(1_000)).is_ok());
        assert!(
            check_complete(0, Some(5)).is_ok(),
            "within the minimum slack"
        );
        assert!(check_complete(0, Some(250)).is_err());
        assert!(check_complete(98_000, Some(100_000)).is_err());
        assert!(check_complete(3, None).is_err());
    }

    #[test]
    fn an_unfollow_event_has_the_table_details() {
        let mut known = FollowerSet::default();
        known.push("7", "janedoe", "JaneDoe", Some(t(0)));
        let (event, change) = unfollow_event("42", &known, 0, t(60));
        assert_eq!(event.kind, EventKind::Unfollow);
        assert_eq!(event.source, Source::Poll);
        assert_eq!(event.occurred_at, t(60));
        assert_eq!(
            serde_json::Value::Object(event.details()),
            json!({"username": "JaneDoe", "action": "unfollow"})
        );
        assert!(matches!(change, DomainChange::Unfollowed { viewer } if viewer.id == "7"));
    }

    #[test]
    fn the_silent_baseline_leaves_follows_above_the_horizon_to_the_walk() {
        let known = FollowerSet::default();
        let mut current = FollowerSet::default();
        current.push("1", "new", "New", Some(t(100)));
        current.push("2", "old", "Old", Some(t(10)));
        let diff = follower_set::full(&known, &current);
        let recorded = |horizon| {
            silent_changes(&known, &current, &diff, horizon)
                .map(|c| match c {
                    DomainChange::Follow { viewer, .. } => viewer.id,
                    other => panic!("unexpected {other:?}"),
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(recorded(Some(t(50))), ["2"]);
        assert_eq!(recorded(None), ["1", "2"], "nothing seen yet: record all");
    }
}
