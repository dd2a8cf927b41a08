//! Components built for the frozen 0.1 contract, seen through the newest
//! one: their records have the same shapes under other generated types,
//! and their events carry the JSON form of the data (`details`) instead of
//! typed data. Everything here is a field-by-field copy.

use super::bindings::v0_1::stagehand::plugin::types as v1;
use super::wit;
use crate::event::{Event, Source};

/// 0.1 components do not say what they implement: every declared role
/// counts as implemented, so the host has nothing to warn about.
pub fn info(i: v1::Info) -> wit::Info {
    let roles: Vec<wit::Role> = i.roles.into_iter().map(role).collect();
    wit::Info {
        name: i.name,
        version: i.version,
        kinds: i.kinds,
        implements: roles.clone(),
        roles,
    }
}

fn role(r: v1::Role) -> wit::Role {
    match r {
        v1::Role::Formatter => wit::Role::Formatter,
        v1::Role::Actions => wit::Role::Actions,
        v1::Role::Renderer => wit::Role::Renderer,
    }
}

pub fn display(d: v1::Display) -> wit::Display {
    wit::Display {
        label: d.label,
        icon: d.icon,
        color: d.color,
        text: d.text,
    }
}

pub fn alert(a: v1::Alert) -> wit::Alert {
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

pub fn alert_to_v0_1(a: &wit::Alert) -> v1::Alert {
    v1::Alert {
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

pub fn action(a: v1::Action) -> wit::Action {
    match a {
        v1::Action::ShowAlert(a) => wit::Action::ShowAlert(alert(a)),
        v1::Action::Speak(t) => wit::Action::Speak(t),
        v1::Action::SendChat(t) => wit::Action::SendChat(t),
        v1::Action::MuteTts(m) => wit::Action::MuteTts(wit::TtsMute {
            login: m.login,
            minutes: m.minutes,
        }),
        v1::Action::UnmuteTts(l) => wit::Action::UnmuteTts(l),
        v1::Action::CooldownTts(c) => wit::Action::CooldownTts(wit::TtsCooldown {
            login: c.login,
            gap_seconds: c.gap_seconds,
            minutes: c.minutes,
        }),
        v1::Action::ClearTts(l) => wit::Action::ClearTts(l),
        v1::Action::Webhook(w) => wit::Action::Webhook(wit::WebhookRequest {
            url: w.url,
            body: w.body,
        }),
    }
}

/// An event as 0.1 had it: the data in JSON form.
pub fn event(e: &Event) -> v1::Event {
    v1::Event {
        id: e.id.clone(),
        kind: e.kind.as_str().to_owned(),
        source: match e.source {
            Source::Eventsub => v1::Source::Eventsub,
            Source::Poll => v1::Source::Poll,
            Source::Chat => v1::Source::Chat,
            Source::Test => v1::Source::Test,
        },
        channel_id: e.channel_id.clone(),
        viewer: e.viewer.as_ref().map(|v| v1::Viewer {
            id: v.id.clone(),
            login: v.login.clone(),
            display_name: v.display_name.clone(),
        }),
        occurred_at_ms: e.occurred_at.timestamp_millis().max(0) as u64,
        details: serde_json::to_string(&e.data.to_details()).unwrap_or_else(|_| "{}".into()),
    }
}
