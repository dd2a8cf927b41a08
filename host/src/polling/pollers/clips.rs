//! `clips`: clips made since the last poll. Clips have no EventSub event,
//! so this poller is their only source; the clip ids already announced are
//! kept in `seen_clips`, and the hook marking a clip seen decides whether
//! its event is news.

use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::Connection;

use super::cycle::Cycle;
use crate::event::data::ClipCreated;
use crate::event::{Event, EventData, Source, now_ms};
use crate::pipeline::StoreHook;
use crate::polling::diff::clips::{MAX_LOOK_BACK, new_clips, window_start};
use crate::polling::{PollContext, PollError, PollFuture, PollReport, Poller};
use crate::store::clips;
use crate::twitch::helix::Clip;

/// The poller's name in `polling_config`.
pub const NAME: &str = "clips";

/// Seen clips are kept this long: a day longer than any window reaches
/// back.
const KEEP_SEEN: TimeDelta = TimeDelta::days(1);

/// New clips.
pub struct ClipsPoller {
    ctx: PollContext,
}

impl ClipsPoller {
    /// The poller for the context's channel.
    pub fn new(ctx: PollContext) -> Self {
        ClipsPoller { ctx }
    }

    async fn cycle(&self) -> Result<PollReport, PollError> {
        let mut cycle = Cycle::start(&self.ctx, NAME);
        let baseline = !cycle.has_baseline().await?;
        let channel = self.ctx.channel_id.clone();
        let newest = self
            .ctx
            .store
            .read(move |c| clips::newest(c, &channel))
            .await?;
        let since = window_start(newest, now_ms());
        let listed = self
            .ctx
            .helix
            .clips(&self.ctx.channel_id, Some(since))
            .await?;
        let detected_at = now_ms();
        let channel = self.ctx.channel_id.clone();
        // Helix rounds `started_at` down to the second: look a little wider.
        let seen = self
            .ctx
            .store
            .read(move |c| clips::seen_since(c, &channel, since - TimeDelta::minutes(1)))
            .await?;
        let new: Vec<Clip> = new_clips(&seen, &listed).into_iter().cloned().collect();
        let prune_before = detected_at - MAX_LOOK_BACK - KEEP_SEEN;
        if baseline {
            return cycle
                .take_baseline_with(detected_at, move |c, channel| {
                    for clip in &new {
                        clips::mark_seen(c, channel, &clip.id, clip.created_at)?;
                    }
                    clips::prune(c, channel, prune_before)?;
                    Ok(())
                })
                .await;
        }
        let found = !new.is_empty();
        for clip in &new {
            let event = clip_event(cycle.channel(), clip, detected_at);
            let hook = seen_hook(cycle.channel().to_owned(), clip);
            cycle.send(event, hook).await?;
        }
        let report = cycle.finish().await?.0;
        if found {
            let channel = self.ctx.channel_id.clone();
            self.ctx
                .store
                .write(move |c| clips::prune(c, &channel, prune_before))
                .await?;
        }
        Ok(report)
    }
}

impl Poller for ClipsPoller {
    fn name(&self) -> &'static str {
        NAME
    }

    fn poll(&self) -> PollFuture<'_> {
        Box::pin(self.cycle())
    }
}

/// Marks the clip seen; the event is news only if it was not.
fn seen_hook(channel: String, clip: &Clip) -> StoreHook {
    let (id, created_at) = (clip.id.clone(), clip.created_at);
    std::sync::Arc::new(move |c: &Connection| clips::mark_seen(c, &channel, &id, created_at))
}

/// The `channel.clip.created` event (clip_title, clip_url,
/// creator_username, view_count). It names no viewer: Helix gives the
/// creator's id and display name but not their login, and a guessed login
/// would rename a known viewer.
fn clip_event(channel: &str, clip: &Clip, detected_at: DateTime<Utc>) -> Event {
    let data = ClipCreated {
        clip_title: clip.title.clone(),
        clip_url: clip.url.clone(),
        creator_username: clip.creator_name.clone(),
        view_count: clip.view_count,
    };
    Event::of(EventData::ClipCreated(data), Source::Poll, channel).at(detected_at)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::event::EventKind;

    #[test]
    fn a_clip_event_has_the_table_details() {
        let clip: Clip = serde_json::from_value(json!({
            "id": "FunnySlug", "url": "https://clips.twitch.tv/FunnySlug", "title": "wow",
            "creator_id": "5", "creator_name": "Clipper", "view_count": 12,
            "created_at": "2025-03-01T12:00:00Z"
        }))
        .unwrap();
        let at = now_ms();
        let event = clip_event("1", &clip, at);
        assert_eq!(event.kind, EventKind::ClipCreated);
        assert_eq!(event.source, Source::Poll);
        assert_eq!(event.viewer, None);
        assert_eq!(event.occurred_at, at);
        assert_eq!(
            serde_json::Value::Object(event.details()),
            json!({"clip_title": "wow", "clip_url": "https://clips.twitch.tv/FunnySlug",
                   "creator_username": "Clipper", "view_count": 12})
        );
    }
}
