//! Between the host's types and the contract's: events in, displays and
//! alerts out (as the JSON the API and the overlay speak).

use serde_json::{Value, json};

use super::runtime::wit;
use chrono::{DateTime, Utc};

use crate::event::{Event, EventData, Source};

/// The contract's view of an event: its typed data.
pub fn event_to_wit(event: &Event) -> wit::Event {
    wit::Event {
        id: event.id.clone(),
        kind: event.kind.as_str().to_owned(),
        source: match event.source {
            Source::Eventsub => wit::Source::Eventsub,
            Source::Poll => wit::Source::Poll,
            Source::Chat => wit::Source::Chat,
            Source::Test => wit::Source::Test,
            Source::External => wit::Source::External,
        },
        channel_id: event.channel_id.clone(),
        viewer: viewer_to_wit(event),
        occurred_at_ms: ms(&event.occurred_at),
        data: data_to_wit(&event.data),
    }
}

/// The event's viewer; an event that names its viewer only in its data (a
/// test event, an old stored row) gets one from that name, without an id.
/// A name from outside Twitch (a donation's giver, a Discord member, any
/// external event) is never made into a Twitch viewer: a plugin could mute
/// or greet a Twitch user of that name.
fn viewer_to_wit(event: &Event) -> Option<wit::Viewer> {
    if let Some(v) = &event.viewer {
        return Some(wit::Viewer {
            id: v.id.clone(),
            login: v.login.clone(),
            display_name: v.display_name.clone(),
        });
    }
    if event.source == Source::External || !event.data.is_from_twitch() {
        return None;
    }
    let name = event.data.username()?.trim();
    (!name.is_empty()).then(|| wit::Viewer {
        id: String::new(),
        login: name.to_lowercase().replace(' ', ""),
        display_name: name.to_owned(),
    })
}

fn ms(at: &DateTime<Utc>) -> u64 {
    at.timestamp_millis().max(0) as u64
}

/// Typed data as the contract has it (the viewer's name lives in the
/// event's viewer, so it is not repeated here).
pub fn data_to_wit(data: &EventData) -> wit::EventData {
    use wit::EventData as W;
    match data {
        EventData::Follow(f) => W::Follow(wit::Follow {
            followed_at_ms: f.followed_at.as_ref().map(ms),
        }),
        EventData::Unfollow(_) => W::Unfollow,
        EventData::Ban(b) => W::Ban(wit::Ban {
            permanent: b.is_permanent,
            duration_seconds: b.duration_seconds,
            expires_at_ms: b.expires_at.as_ref().map(ms),
            reason: b.reason.clone(),
            moderator_name: b.moderator_username.clone(),
            moderator_id: b.moderator_id.clone(),
        }),
        EventData::Unban(_) => W::Unban,
        EventData::TimeoutEnd(_) => W::TimeoutEnd,
        EventData::VipAdd(_) => W::VipAdd,
        EventData::VipRemove(_) => W::VipRemove,
        EventData::ModeratorAdd(_) => W::ModeratorAdd,
        EventData::ModeratorRemove(_) => W::ModeratorRemove,
        EventData::Subscribe(s) => W::Subscribe(wit::Subscribe {
            tier: s.tier.0,
            is_gift: s.is_gift,
        }),
        EventData::Resub(r) => W::Resub(wit::Resub {
            tier: r.tier.0,
            cumulative_months: r.cumulative_months,
            message: r.message.clone(),
        }),
        EventData::SubscriptionEnd(s) => {
            W::SubscriptionEnd(wit::SubscriptionEnd { tier: s.tier.0 })
        }
        EventData::Gift(g) => W::Gift(wit::Gift {
            tier: g.tier.0,
            total: g.total,
            anonymous: g.is_anonymous,
        }),
        EventData::Cheer(c) => W::Cheer(wit::Cheer {
            bits: c.bits,
            message: c.message.clone(),
            anonymous: c.is_anonymous,
        }),
        EventData::Raid(r) => W::Raid(wit::Raid { viewers: r.viewers }),
        EventData::Redemption(r) => W::Redemption(wit::Redemption {
            reward: wit::Reward {
                id: r.reward.id.clone(),
                title: r.reward.title.clone(),
                cost: r.reward.cost,
                prompt: r.reward.prompt.clone(),
            },
            user_input: r.user_input.clone(),
            status: r.status.clone(),
        }),
        EventData::ChatMessage(c) => W::ChatMessage(wit::ChatMessage {
            text: c.text.clone(),
            badges: c
                .badges
                .iter()
                .map(|b| wit::Badge {
                    set_id: b.set_id.clone(),
                    id: b.id.clone(),
                    info: b.info.clone(),
                })
                .collect(),
        }),
        EventData::StreamOnline(s) => W::StreamOnline(wit::StreamOnline {
            broadcaster_name: s.username.clone(),
            stream_type: s.stream_type.clone(),
            started_at_ms: s.started_at.as_ref().map(ms),
        }),
        EventData::StreamOffline(s) => W::StreamOffline(wit::StreamOffline {
            broadcaster_name: s.username.clone(),
        }),
        EventData::ClipCreated(c) => W::Clip(wit::Clip {
            title: c.clip_title.clone(),
            url: c.clip_url.clone(),
            creator_name: c.creator_username.clone(),
            view_count: c.view_count,
        }),
        EventData::Donation(d) => W::Donation(wit::Donation {
            username: d.username.clone(),
            amount: d.amount.clone(),
            currency: d.currency.clone(),
            message: d.message.clone(),
            is_public: d.is_public,
            source: d.source.clone(),
            donation_type: d.donation_type.clone(),
            tier_name: d.tier_name.clone(),
        }),
        EventData::DiscordMemberJoin(d)
        | EventData::DiscordMemberLeave(d)
        | EventData::DiscordTicketCreate(d)
        | EventData::DiscordTicketClose(d)
        | EventData::DiscordGiveawayCreate(d)
        | EventData::DiscordGiveawayEnd(d)
        | EventData::DiscordGiveawayEntry(d) => W::Discord(wit::Discord {
            guild_id: d.guild_id.clone(),
            user_id: d.user_id.clone(),
            username: d.username.clone(),
            giveaway_id: d.giveaway_id.clone(),
            prize: d.prize.clone(),
            winner_id: d.winner_id.clone(),
            ticket_id: d.ticket_id.clone(),
            data: serde_json::to_string(&d.data).unwrap_or_else(|_| "{}".into()),
        }),
        EventData::Other(map) => {
            W::Other(serde_json::to_string(map).unwrap_or_else(|_| "{}".into()))
        }
    }
}

/// A formatter's display as stored with the event.
pub fn display_to_json(d: &wit::Display) -> Value {
    json!({"label": d.label, "icon": d.icon, "color": d.color, "text": d.text})
}

/// An alert's fields as queued for an overlay.
pub fn alert_to_json(a: &wit::Alert) -> Value {
    json!({
        "title": a.title,
        "message": a.message,
        "image_url": a.image_url,
        "sound_url": a.sound_url,
        "video_url": a.video_url,
        "tts": a.tts,
        "duration_ms": a.duration_ms,
        "html": a.html,
        "css": a.css,
    })
}

/// The role names of `roles`, for the API.
pub fn role_name(role: wit::Role) -> &'static str {
    match role {
        wit::Role::Formatter => "formatter",
        wit::Role::Actions => "actions",
        wit::Role::Renderer => "renderer",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::data::Follow;

    #[test]
    fn a_viewer_named_only_in_the_data_reaches_plugins_without_an_id() {
        let data = EventData::Follow(Follow::new("Jane Doe", Utc::now()));
        let event = Event::of(data, Source::Test, "1");
        let viewer = event_to_wit(&event).viewer.unwrap();
        assert_eq!(viewer.display_name, "Jane Doe");
        assert_eq!(viewer.login, "janedoe");
        assert_eq!(viewer.id, "");
        let nobody = Event::of(
            EventData::Follow(Follow::new(" ", Utc::now())),
            Source::Test,
            "1",
        );
        assert!(event_to_wit(&nobody).viewer.is_none());
    }

    #[test]
    fn names_from_outside_twitch_are_not_made_into_viewers() {
        use crate::event::EventKind;
        use crate::event::data::sample;
        let donation = Event::of(sample(&EventKind::Donation), Source::Test, "1");
        let wit = event_to_wit(&donation);
        assert!(wit.viewer.is_none());
        let wit::EventData::Donation(d) = wit.data else {
            panic!("a donation is typed in 0.3")
        };
        assert_eq!(
            (d.username.as_str(), d.amount.as_str()),
            ("JaneDoe", "5.00")
        );
        let other = Event::new(EventKind::from("bot.custom"), Source::External, "1")
            .with_details(json!({"username": "Someone"}));
        assert!(event_to_wit(&other).viewer.is_none());
        assert!(matches!(event_to_wit(&other).source, wit::Source::External));
        let giveaway = Event::of(
            sample(&EventKind::DiscordGiveawayCreate),
            Source::External,
            "1",
        );
        let wit::EventData::Discord(d) = event_to_wit(&giveaway).data else {
            panic!()
        };
        assert_eq!(d.prize, "Steam key");
        let data: Value = serde_json::from_str(&d.data).unwrap();
        assert_eq!(data["giveawayId"], "g-42");
    }
}
