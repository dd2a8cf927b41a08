//! Components built for a frozen contract (0.1, 0.2), seen through the
//! newest one (0.3). Their records have the same shapes under other
//! generated types, so most of this is a field-by-field copy. What differs:
//!
//! - 0.1 events carry the JSON form of the data (`details`) instead of
//!   typed data, and 0.1 components do not say which roles they implement.
//! - 0.2 has no `donation` or `discord` data: those kinds reach a 0.2
//!   component as `other`, their JSON form as text, as any kind it does not
//!   model would.
//! - Neither has the `external` source. Such events reach them as
//!   `eventsub`: the closest meaning (pushed to Stagehand as it happened,
//!   like an EventSub notification, and real rather than a test; plugins
//!   often skip `test` events, so that would silently drop donations).

use super::wit;
use crate::event::{Event, Source};

/// The record conversions that are the same copy in every frozen version:
/// roles, displays, alerts both ways and actions.
macro_rules! same_records {
    ($($old:tt)+) => {
        use $($old)+ as old;

        fn role(r: old::Role) -> wit::Role {
            match r {
                old::Role::Formatter => wit::Role::Formatter,
                old::Role::Actions => wit::Role::Actions,
                old::Role::Renderer => wit::Role::Renderer,
            }
        }

        /// A formatter's display.
        pub fn display(d: old::Display) -> wit::Display {
            wit::Display {
                label: d.label,
                icon: d.icon,
                color: d.color,
                text: d.text,
            }
        }

        /// An alert from the component (an action's, or a restyled one).
        pub fn alert(a: old::Alert) -> wit::Alert {
            wit::Alert {
                overlay: a.overlay,
                title: a.title,
                message: a.message,
                image_url: a.image_url,
                sound_url: a.sound_url,
                video_url: a.video_url,
                tts: a.tts,
                duration_ms: a.duration_ms,
                html: a.html,
                css: a.css,
            }
        }

        /// An alert for the component to restyle.
        pub fn alert_to(a: &wit::Alert) -> old::Alert {
            old::Alert {
                overlay: a.overlay.clone(),
                title: a.title.clone(),
                message: a.message.clone(),
                image_url: a.image_url.clone(),
                sound_url: a.sound_url.clone(),
                video_url: a.video_url.clone(),
                tts: a.tts.clone(),
                duration_ms: a.duration_ms,
                html: a.html.clone(),
                css: a.css.clone(),
            }
        }

        /// An action the component decided on.
        pub fn action(a: old::Action) -> wit::Action {
            match a {
                old::Action::ShowAlert(a) => wit::Action::ShowAlert(alert(a)),
                old::Action::Speak(t) => wit::Action::Speak(t),
                old::Action::SendChat(t) => wit::Action::SendChat(t),
                old::Action::MuteTts(m) => wit::Action::MuteTts(wit::TtsMute {
                    login: m.login,
                    minutes: m.minutes,
                }),
                old::Action::UnmuteTts(l) => wit::Action::UnmuteTts(l),
                old::Action::CooldownTts(c) => wit::Action::CooldownTts(wit::TtsCooldown {
                    login: c.login,
                    gap_seconds: c.gap_seconds,
                    minutes: c.minutes,
                }),
                old::Action::ClearTts(l) => wit::Action::ClearTts(l),
                old::Action::Webhook(w) => wit::Action::Webhook(wit::WebhookRequest {
                    url: w.url,
                    body: w.body,
                }),
            }
        }

        /// The source as this version names it: `external` did not exist.
        fn source(s: Source) -> old::Source {
            match s {
                Source::Eventsub | Source::External => old::Source::Eventsub,
                Source::Poll => old::Source::Poll,
                Source::Chat => old::Source::Chat,
                Source::Test => old::Source::Test,
            }
        }
    };
}

/// The first contract: events as JSON `details`.
pub mod v0_1 {
    use super::*;
    same_records!(crate::plugins::runtime::bindings::v0_1::stagehand::plugin::types);

    /// 0.1 components do not say what they implement: every declared role
    /// counts as implemented, so the host has nothing to warn about.
    pub fn info(i: old::Info) -> wit::Info {
        let roles: Vec<wit::Role> = i.roles.into_iter().map(role).collect();
        wit::Info {
            name: i.name,
            version: i.version,
            kinds: i.kinds,
            implements: roles.clone(),
            roles,
        }
    }

    /// An event as 0.1 had it: the data in JSON form, and the viewer only
    /// when the event has one (0.1 never made one up from the data).
    pub fn event(e: &Event) -> old::Event {
        old::Event {
            id: e.id.clone(),
            kind: e.kind.as_str().to_owned(),
            source: source(e.source),
            channel_id: e.channel_id.clone(),
            viewer: e.viewer.as_ref().map(|v| old::Viewer {
                id: v.id.clone(),
                login: v.login.clone(),
                display_name: v.display_name.clone(),
            }),
            occurred_at_ms: e.occurred_at.timestamp_millis().max(0) as u64,
            details: serde_json::to_string(&e.data.to_details()).unwrap_or_else(|_| "{}".into()),
        }
    }
}

/// The second contract: typed data, without the kinds 0.3 added.
pub mod v0_2 {
    use super::*;
    same_records!(crate::plugins::runtime::bindings::v0_2::stagehand::plugin::types);

    fn viewer(v: wit::Viewer) -> old::Viewer {
        old::Viewer {
            id: v.id,
            login: v.login,
            display_name: v.display_name,
        }
    }

    pub fn info(i: old::Info) -> wit::Info {
        wit::Info {
            name: i.name,
            version: i.version,
            kinds: i.kinds,
            roles: i.roles.into_iter().map(role).collect(),
            implements: i.implements.into_iter().map(role).collect(),
        }
    }

    /// An event as 0.2 has it: typed data where 0.2 has a record for the
    /// kind, `other` with the JSON form where it does not.
    pub fn event(e: &Event) -> old::Event {
        let newest = crate::plugins::convert::event_to_wit(e);
        old::Event {
            id: newest.id,
            kind: newest.kind,
            source: source(e.source),
            channel_id: newest.channel_id,
            viewer: newest.viewer.map(viewer),
            occurred_at_ms: newest.occurred_at_ms,
            data: data(newest.data, e),
        }
    }

    fn data(d: wit::EventData, e: &Event) -> old::EventData {
        use old::EventData as Old;
        use wit::EventData as New;
        match d {
            New::Follow(f) => Old::Follow(old::Follow {
                followed_at_ms: f.followed_at_ms,
            }),
            New::Unfollow => Old::Unfollow,
            New::Ban(b) => Old::Ban(old::Ban {
                permanent: b.permanent,
                duration_seconds: b.duration_seconds,
                expires_at_ms: b.expires_at_ms,
                reason: b.reason,
                moderator_name: b.moderator_name,
                moderator_id: b.moderator_id,
            }),
            New::Unban => Old::Unban,
            New::TimeoutEnd => Old::TimeoutEnd,
            New::VipAdd => Old::VipAdd,
            New::VipRemove => Old::VipRemove,
            New::ModeratorAdd => Old::ModeratorAdd,
            New::ModeratorRemove => Old::ModeratorRemove,
            New::Subscribe(s) => Old::Subscribe(old::Subscribe {
                tier: s.tier,
                is_gift: s.is_gift,
            }),
            New::Resub(r) => Old::Resub(old::Resub {
                tier: r.tier,
                cumulative_months: r.cumulative_months,
                message: r.message,
            }),
            New::SubscriptionEnd(s) => Old::SubscriptionEnd(old::SubscriptionEnd { tier: s.tier }),
            New::Gift(g) => Old::Gift(old::Gift {
                tier: g.tier,
                total: g.total,
                anonymous: g.anonymous,
            }),
            New::Cheer(c) => Old::Cheer(old::Cheer {
                bits: c.bits,
                message: c.message,
                anonymous: c.anonymous,
            }),
            New::Raid(r) => Old::Raid(old::Raid { viewers: r.viewers }),
            New::Redemption(r) => Old::Redemption(old::Redemption {
                reward: old::Reward {
                    id: r.reward.id,
                    title: r.reward.title,
                    cost: r.reward.cost,
                    prompt: r.reward.prompt,
                },
                user_input: r.user_input,
                status: r.status,
            }),
            New::ChatMessage(c) => Old::ChatMessage(old::ChatMessage {
                text: c.text,
                badges: c
                    .badges
                    .into_iter()
                    .map(|b| old::Badge {
                        set_id: b.set_id,
                        id: b.id,
                        info: b.info,
                    })
                    .collect(),
            }),
            New::StreamOnline(s) => Old::StreamOnline(old::StreamOnline {
                broadcaster_name: s.broadcaster_name,
                stream_type: s.stream_type,
                started_at_ms: s.started_at_ms,
            }),
            New::StreamOffline(s) => Old::StreamOffline(old::StreamOffline {
                broadcaster_name: s.broadcaster_name,
            }),
            New::Clip(c) => Old::Clip(old::Clip {
                title: c.title,
                url: c.url,
                creator_name: c.creator_name,
                view_count: c.view_count,
            }),
            // Kinds 0.2 does not model: their JSON form, as for any kind
            // the host does not model (the same text `other` carries).
            New::Donation(_) | New::Discord(_) => Old::Other(
                serde_json::to_string(&e.data.to_details()).unwrap_or_else(|_| "{}".into()),
            ),
            New::Other(json) => Old::Other(json),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::data::sample;
    use crate::event::{EventData, EventKind};
    use crate::plugins::runtime::bindings::v0_1::stagehand::plugin::types as v1;
    use crate::plugins::runtime::bindings::v0_2::stagehand::plugin::types as v2;
    use serde_json::Value;

    fn external(kind: EventKind) -> Event {
        Event::of(sample(&kind), Source::External, "1")
    }

    #[test]
    fn a_donation_reaches_a_0_2_component_as_its_json_form() {
        let event = external(EventKind::Donation);
        let old = v0_2::event(&event);
        assert_eq!(old.kind, "donation");
        let v2::EventData::Other(json) = &old.data else {
            panic!("a donation is other before 0.3")
        };
        let json: Value = serde_json::from_str(json).unwrap();
        assert_eq!(json, Value::Object(event.details()));
        assert_eq!(json["amount"], "5.00");
        assert_eq!(json["username"], "JaneDoe");
    }

    #[test]
    fn every_discord_kind_reaches_a_0_2_component_as_its_json_form() {
        for kind in EventKind::KNOWN
            .iter()
            .filter(|k| k.as_str().starts_with("discord."))
        {
            let event = external(kind.clone());
            let v2::EventData::Other(json) = v0_2::event(&event).data else {
                panic!("{kind}")
            };
            let json: Value = serde_json::from_str(&json).unwrap();
            assert_eq!(json, Value::Object(event.details()), "{kind}");
            assert!(json["data"].is_object(), "{kind}");
        }
    }

    #[test]
    fn the_external_source_is_eventsub_before_0_3() {
        let event = external(EventKind::Donation);
        assert!(matches!(v0_2::event(&event).source, v2::Source::Eventsub));
        assert!(matches!(v0_1::event(&event).source, v1::Source::Eventsub));
        let test = Event::of(sample(&EventKind::Follow), Source::Test, "1");
        assert!(matches!(v0_2::event(&test).source, v2::Source::Test));
        assert!(matches!(v0_1::event(&test).source, v1::Source::Test));
    }

    #[test]
    fn kinds_0_2_models_stay_typed() {
        let event = Event::of(sample(&EventKind::Cheer), Source::Eventsub, "1");
        let old = v0_2::event(&event);
        let v2::EventData::Cheer(cheer) = old.data else {
            panic!("a cheer stays typed in 0.2")
        };
        assert_eq!(cheer.bits, 500);
        assert_eq!(old.viewer.unwrap().display_name, "JaneDoe");
        let chat = Event::of(sample(&EventKind::ChatMessage), Source::Chat, "1");
        let v2::EventData::ChatMessage(c) = v0_2::event(&chat).data else {
            panic!()
        };
        assert_eq!(c.badges[0].set_id, "subscriber");
        let other = Event::new(
            EventKind::from("channel.hype_train.begin"),
            Source::Eventsub,
            "1",
        )
        .with_data(EventData::Other(
            serde_json::json!({"level": 2}).as_object().unwrap().clone(),
        ));
        let v2::EventData::Other(json) = v0_2::event(&other).data else {
            panic!()
        };
        assert_eq!(json, r#"{"level":2}"#);
    }

    #[test]
    fn a_0_1_component_gets_a_donation_as_details() {
        let event = external(EventKind::Donation);
        let old = v0_1::event(&event);
        let details: Value = serde_json::from_str(&old.details).unwrap();
        assert_eq!(details["currency"], "USD");
        // The giver is not a Twitch user: no viewer is made up from the name.
        assert!(old.viewer.is_none());
    }
}
