//! `followers`: new follows, found incrementally (see
//! [`crate::polling::diff::followers`]). A cycle reads the top of the
//! follower list until it reaches followers who were already there, so it
//! costs one request on a channel of any size unless more than a page of
//! people followed since.
//!
//! Baseline: the first page only, recorded silently. A full scan of a huge
//! channel (10,000 requests for a million followers) is the
//! `followers_full` poller's job, on its own slow schedule; the walk does
//! not need it, because it stops at the horizon (the newest follow time
//! seen), not at the last follower the store happens to know.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use super::cycle::{Cycle, username};
use crate::event::data::Follow;
use crate::event::{Event, EventData, Source, now_ms};
use crate::polling::diff::followers::{Walk, viewer};
use crate::polling::{PollContext, PollError, PollFuture, PollReport, Poller};
use crate::store::followers::{self, KnownFollower};
use crate::twitch::helix::{Follower, HelixError, MAX_PAGE};
use crate::twitch::normalize::DomainChange;

/// The poller's name in `polling_config`.
pub const NAME: &str = "followers";

/// The most pages one cycle reads (5,000 follows). Beyond that the walk
/// stops and the full scan reports the rest, so a channel whose known
/// followers all vanished cannot turn one cycle into thousands of requests.
pub const MAX_WALK_PAGES: usize = 50;

/// New follows, incrementally.
pub struct FollowersPoller {
    ctx: PollContext,
    /// The newest follow time the last walk saw; `None` until the first
    /// walk of this process (then read from the store).
    horizon: Mutex<Option<DateTime<Utc>>>,
}

impl FollowersPoller {
    /// The poller for the context's channel.
    pub fn new(ctx: PollContext) -> Self {
        FollowersPoller {
            ctx,
            horizon: Mutex::new(None),
        }
    }

    async fn cycle(&self) -> Result<PollReport, PollError> {
        let mut cycle = Cycle::start(&self.ctx, NAME);
        if !cycle.has_baseline().await? {
            return self.baseline(cycle).await;
        }
        let mut walk = Walk::new(self.horizon().await?);
        let mut after: Option<String> = None;
        let mut pages = 0;
        loop {
            let page = self
                .ctx
                .helix
                .followers_page(&self.ctx.channel_id, after.as_deref(), MAX_PAGE)
                .await?;
            pages += 1;
            let known = self.known(&page.data).await?;
            let more = walk.page(page.data, page.cursor.is_some(), &known);
            if !more {
                break;
            }
            if pages >= MAX_WALK_PAGES {
                tracing::warn!(
                    channel = %self.ctx.channel_id, pages,
                    "the follower walk did not reach known followers; the full scan reports the rest"
                );
                break;
            }
            if page.cursor == after {
                return Err(repeated_cursor().into());
            }
            after = page.cursor;
        }
        let detected_at = now_ms();
        let found = walk.finish();
        cycle.rename(found.renamed, detected_at).await?;
        for follower in found.new {
            let (event, change) = follow_event(cycle.channel(), &follower, detected_at);
            cycle.send_change(event, change, detected_at).await?;
        }
        let (report, sent) = cycle.finish().await?;
        // A follow that failed to store is found again by the next walk.
        if sent.failed == 0 {
            *self.horizon.lock().unwrap_or_else(|p| p.into_inner()) = found.horizon;
        }
        Ok(report)
    }

    /// Records the first page silently: those followers and the horizon.
    async fn baseline(&self, cycle: Cycle<'_>) -> Result<PollReport, PollError> {
        let page = self
            .ctx
            .helix
            .followers_page(&self.ctx.channel_id, None, MAX_PAGE)
            .await?;
        // Twitch lists nobody but still counts them for a token that may
        // not read followers; a baseline of that would make every follower
        // look new later.
        let refused = match page.total {
            None => Some(format!(
                "the first follower page ({} listed) came without a total",
                page.data.len()
            )),
            Some(total) if total > 0 && page.data.is_empty() => {
                Some(format!("Twitch reported {total} followers but listed none"))
            }
            Some(_) => None,
        };
        if let Some(why) = refused {
            return Err(HelixError::Decode {
                endpoint: ENDPOINT.into(),
                detail: format!("{why}; no baseline taken"),
            }
            .into());
        }
        let at = now_ms();
        let newest = page.data.iter().map(|f| f.followed_at).max();
        let changes: Vec<DomainChange> = page
            .data
            .iter()
            .map(|f| DomainChange::Follow {
                viewer: viewer(f),
                followed_at: Some(f.followed_at),
            })
            .collect();
        let report = cycle.take_baseline(changes, at).await?;
        *self.horizon.lock().unwrap_or_else(|p| p.into_inner()) = newest;
        Ok(report)
    }

    /// The horizon in memory, else the newest follow the store recorded.
    async fn horizon(&self) -> Result<Option<DateTime<Utc>>, PollError> {
        let remembered = *self.horizon.lock().unwrap_or_else(|p| p.into_inner());
        if remembered.is_some() {
            return Ok(remembered);
        }
        let channel = self.ctx.channel_id.clone();
        Ok(self
            .ctx
            .store
            .read(move |c| followers::newest_followed_at(c, &channel))
            .await?)
    }

    /// The store's current followers among a page's users.
    async fn known(&self, page: &[Follower]) -> Result<HashMap<String, KnownFollower>, PollError> {
        let ids: Vec<String> = page.iter().map(|f| f.user_id.clone()).collect();
        let channel = self.ctx.channel_id.clone();
        Ok(self
            .ctx
            .store
            .read(move |c| {
                let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                followers::current_among(c, &channel, &ids)
            })
            .await?)
    }
}

impl Poller for FollowersPoller {
    fn name(&self) -> &'static str {
        NAME
    }

    fn poll(&self) -> PollFuture<'_> {
        Box::pin(self.cycle())
    }
}

/// How errors name the followers call.
pub(super) const ENDPOINT: &str = "GET /channels/followers";

/// Twitch handed back the cursor it was given: paging would never end.
pub(super) fn repeated_cursor() -> HelixError {
    HelixError::Decode {
        endpoint: ENDPOINT.into(),
        detail: "Twitch repeated the pagination cursor".into(),
    }
}

/// The `channel.follow` event for a follow detected at `detected_at`, and
/// its change to follower_history.
pub(super) fn follow_event(
    channel: &str,
    follower: &Follower,
    detected_at: DateTime<Utc>,
) -> (Event, DomainChange) {
    let viewer = viewer(follower);
    let data = Follow::new(username(&viewer), follower.followed_at);
    let event = Event::of(EventData::Follow(data), Source::Poll, channel)
        .with_viewer(viewer.clone())
        .at(detected_at);
    let change = DomainChange::Follow {
        viewer,
        followed_at: Some(follower.followed_at),
    };
    (event, change)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::event::EventKind;

    #[test]
    fn a_follow_event_has_the_table_details_and_the_detection_time() {
        let followed_at = "2025-01-15T14:32:00Z".parse().unwrap();
        let follower = Follower {
            user_id: "7".into(),
            user_login: "janedoe".into(),
            user_name: "JaneDoe".into(),
            followed_at,
        };
        let detected: DateTime<Utc> = "2025-01-15T14:33:00Z".parse().unwrap();
        let (event, change) = follow_event("42", &follower, detected);
        assert_eq!(event.kind, EventKind::Follow);
        assert_eq!(event.source, Source::Poll);
        assert_eq!(event.channel_id, "42");
        assert_eq!(event.occurred_at, detected);
        assert_eq!(event.viewer.as_ref().unwrap().login, "janedoe");
        assert_eq!(
            serde_json::Value::Object(event.details()),
            json!({"username": "JaneDoe", "action": "follow", "followed_at": "2025-01-15T14:32:00Z"})
        );
        assert!(
            matches!(change, DomainChange::Follow { followed_at: Some(t), .. } if t == followed_at)
        );
    }
}
