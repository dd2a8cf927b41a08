//! The dashboard's view of events: a label, an icon, a color and one line
//! of text ("JaneDoe followed", "Alice gifted 5 Tier 1 subs") for every kind
//! in the ARCHITECTURE.md table, and a generic line for kinds it does not
//! know, so no event ever shows up blank.
//!
//! Formatting is a pure function of the event ([`display`]); odd or missing
//! details fall back to "Someone" and friends, never to a panic.

use stagehand_plugin_sdk::prelude::*;
use stagehand_plugin_sdk::serde_json::Value;
pub use stagehand_plugin_sdk::text::tier_name;

/// The plugin: a formatter for every kind ("*").
pub struct EventFormatter;

impl Plugin for EventFormatter {
    fn describe() -> Info {
        Info::new("event-formatter", env!("CARGO_PKG_VERSION"))
            .kinds(["*"])
            .roles([Role::Formatter])
    }

    fn format(event: Event) -> Option<Display> {
        Some(display(&event))
    }
}

stagehand_plugin_sdk::export!(EventFormatter);

/// Who an event is about when the details do not say.
const SOMEONE: &str = "Someone";

/// The display of any event; pure, so every kind is tested without a host.
pub fn display(event: &Event) -> Display {
    let d = Fields::of(event);
    let who = d.who().unwrap_or_else(|| SOMEONE.into());
    let (label, icon, color, text) = match event.kind.as_str() {
        "channel.follow" => ("Follow", "👥", "#0066cc", format!("{who} followed")),
        "channel.unfollow" => ("Unfollow", "👤", "#999999", format!("{who} unfollowed")),
        "channel.ban" => return ban(&d, &who),
        "channel.unban" => {
            let by = d
                .moderator()
                .map(|m| format!(" by {m}"))
                .unwrap_or_default();
            ("Unban", "✅", "#2e8b57", format!("{who} was unbanned{by}"))
        }
        "channel.timeout.end" => (
            "Timeout ended",
            "⌛",
            "#2e8b57",
            format!("{who}'s timeout ended"),
        ),
        "channel.vip.add" => ("VIP added", "💎", "#e005b9", format!("{who} is now a VIP")),
        "channel.vip.remove" => (
            "VIP removed",
            "💎",
            "#999999",
            format!("{who} is no longer a VIP"),
        ),
        "channel.moderator.add" => (
            "Mod added",
            "🛡️",
            "#00ad03",
            format!("{who} is now a moderator"),
        ),
        "channel.moderator.remove" => (
            "Mod removed",
            "🛡️",
            "#999999",
            format!("{who} is no longer a moderator"),
        ),
        "channel.subscribe" => {
            let tier = d.tier();
            if d.flag("is_gift") == Some(true) {
                let tier = tier.map(|t| format!(" ({t})")).unwrap_or_default();
                let text = format!("{who} received a gifted sub{tier}");
                ("Gift sub", "🎁", "#9146ff", text)
            } else {
                let tier = tier.map(|t| format!(" ({t})")).unwrap_or_default();
                (
                    "Subscribe",
                    "⭐",
                    "#9146ff",
                    format!("{who} subscribed{tier}"),
                )
            }
        }
        "channel.subscription.message" => {
            let months = d.num("cumulative_months").filter(|m| *m >= 1.0);
            let parts: Vec<String> = d
                .tier()
                .into_iter()
                .chain(months.map(|m| plural(m, "month", "months")))
                .collect();
            let parts = if parts.is_empty() {
                String::new()
            } else {
                format!(" ({})", parts.join(", "))
            };
            let message = d.message().map(|m| format!(": {m}")).unwrap_or_default();
            let text = format!("{who} resubscribed{parts}{message}");
            ("Resub", "🔁", "#9146ff", text)
        }
        "channel.subscription.end" => {
            let tier = d.tier().map(|t| format!("{t} ")).unwrap_or_default();
            (
                "Sub ended",
                "💤",
                "#999999",
                format!("{who}'s {tier}sub ended"),
            )
        }
        "channel.subscription.gift" => {
            let gifter = if d.flag("is_anonymous") == Some(true) {
                "An anonymous gifter".to_owned()
            } else {
                who
            };
            let total = d.num("total").filter(|t| *t >= 1.0);
            let count = total.map(|t| format!("{} ", number(t))).unwrap_or_default();
            let tier = d.tier().map(|t| format!("{t} ")).unwrap_or_default();
            let noun = if total == Some(1.0) { "sub" } else { "subs" };
            let text = format!("{gifter} gifted {count}{tier}{noun}");
            ("Gift subs", "🎁", "#e91e63", text)
        }
        "channel.cheer" => {
            let cheerer = if d.flag("is_anonymous") == Some(true) {
                "An anonymous cheerer".to_owned()
            } else {
                who
            };
            let bits = d
                .num("bits")
                .map(|b| format!(" {}", plural(b, "bit", "bits")))
                .unwrap_or_default();
            let message = d.message().map(|m| format!(": {m}")).unwrap_or_default();
            let text = format!("{cheerer} cheered{bits}{message}");
            ("Cheer", "🎉", "#ff8c00", text)
        }
        "channel.raid" => {
            let raider = d
                .first_text(&["from_broadcaster_user_name", "from_broadcaster_user_login"])
                .unwrap_or(who);
            let viewers = d
                .num("viewers")
                .map(|v| format!(" with {}", plural(v, "viewer", "viewers")))
                .unwrap_or_default();
            ("Raid", "🚀", "#6441a5", format!("{raider} raided{viewers}"))
        }
        "channel.channel_points_custom_reward_redemption.add" => {
            let reward = d.text("reward.title").unwrap_or_else(|| "a reward".into());
            let input = d
                .text("user_input")
                .map(|i| format!(": {i}"))
                .unwrap_or_default();
            let text = format!("{who} redeemed {reward}{input}");
            ("Redemption", "🎯", "#00a3a3", text)
        }
        "channel.chat.message" => {
            let text = match d.first_text(&["text", "message.text"]) {
                Some(t) => format!("{who}: {t}"),
                None => format!("{who} sent a message"),
            };
            ("Chat", "💬", "#808080", text)
        }
        "stream.online" => {
            let text = match d.broadcaster() {
                Some(b) => format!("{b} went live"),
                None => "The stream went live".into(),
            };
            ("Stream online", "🟢", "#00b050", text)
        }
        "stream.offline" => {
            let text = match d.broadcaster() {
                Some(b) => format!("{b} went offline"),
                None => "The stream went offline".into(),
            };
            ("Stream offline", "⚫", "#666666", text)
        }
        "channel.clip.created" => {
            let creator = d
                .first_text(&["creator_username", "creator_name"])
                .unwrap_or(who);
            let text = match d.text("clip_title") {
                Some(title) => format!("{creator} clipped \"{title}\""),
                None => format!("{creator} created a clip"),
            };
            ("Clip", "🎬", "#1e90ff", text)
        }
        other => return unknown(other, d.who()),
    };
    Display::new(label, icon, color, text)
}

/// `channel.ban` is a permanent ban or, with `is_permanent` false, a timeout.
fn ban(d: &Fields, who: &str) -> Display {
    let duration = d.num("duration_seconds");
    // Without the flag, a duration is what tells a timeout from a ban.
    let permanent = d.flag("is_permanent").unwrap_or(duration.is_none());
    let by = d
        .moderator()
        .map(|m| format!(" by {m}"))
        .unwrap_or_default();
    let reason = d
        .text("reason")
        .map(|r| format!(": {r}"))
        .unwrap_or_default();
    if permanent {
        let text = format!("{who} was banned{by}{reason}");
        Display::new("Ban", "🚫", "#cc0000", text)
    } else {
        let length = duration
            .filter(|s| *s >= 1.0)
            .map(|s| format!(" for {}", human_duration(s as u64)))
            .unwrap_or_default();
        let text = format!("{who} was timed out{length}{by}{reason}");
        Display::new("Timeout", "⏱️", "#e67e22", text)
    }
}

/// A kind this plugin does not know: a label derived from its name.
fn unknown(kind: &str, who: Option<String>) -> Display {
    let label = label_from_kind(kind);
    let text = match who {
        Some(name) => format!("{label} ({name})"),
        None => label.clone(),
    };
    Display::new(label, "❔", "#888888", text)
}

/// "channel.hype_train.begin" → "Hype train begin": readable enough for a
/// kind nobody taught the formatter.
pub fn label_from_kind(kind: &str) -> String {
    let name = kind.strip_prefix("channel.").unwrap_or(kind);
    let words: Vec<&str> = name
        .split(['.', '_', '-'])
        .filter(|w| !w.is_empty())
        .collect();
    let joined = words.join(" ").to_lowercase();
    let mut chars = joined.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => "Event".into(),
    }
}

/// Seconds as the two largest units, as a mod would say it: 600 → "10m",
/// 5400 → "1h 30m".
pub fn human_duration(seconds: u64) -> String {
    const UNITS: [(u64, &str); 4] = [(86_400, "d"), (3_600, "h"), (60, "m"), (1, "s")];
    let mut rest = seconds;
    let mut parts = Vec::new();
    for (size, unit) in UNITS {
        let n = rest / size;
        rest %= size;
        if n > 0 {
            parts.push(format!("{n}{unit}"));
        }
        if parts.len() == 2 {
            break;
        }
    }
    if parts.is_empty() {
        "0s".into()
    } else {
        parts.join(" ")
    }
}

/// A count with its noun: "1 bit", "100 bits".
fn plural(n: f64, one: &str, many: &str) -> String {
    let noun = if n == 1.0 { one } else { many };
    format!("{} {noun}", number(n))
}

/// Numbers as people write them: 12.0 → "12", 1.5 → "1.5".
fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{n:.0}")
    } else {
        format!("{n}")
    }
}

/// The event's details, read leniently: every accessor answers `None` for
/// a missing, null, empty or oddly typed field.
struct Fields {
    json: Value,
    viewer_name: Option<String>,
}

impl Fields {
    fn of(event: &Event) -> Self {
        Fields {
            json: event.details_json(),
            viewer_name: event
                .viewer
                .as_ref()
                .map(|v| one_line(&v.display_name))
                .filter(|n| !n.is_empty()),
        }
    }

    /// A field by dotted path ("reward.title").
    fn get(&self, path: &str) -> Option<&Value> {
        path.split('.').try_fold(&self.json, |v, key| v.get(key))
    }

    /// A field as one line of text (numbers and booleans printed).
    fn text(&self, path: &str) -> Option<String> {
        let text = match self.get(path)? {
            Value::String(s) => one_line(s),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return None,
        };
        Some(text).filter(|t| !t.is_empty())
    }

    /// The first of `paths` that has text.
    fn first_text(&self, paths: &[&str]) -> Option<String> {
        paths.iter().find_map(|p| self.text(p))
    }

    /// A field as a number (numbers, or strings holding one).
    fn num(&self, path: &str) -> Option<f64> {
        let n = match self.get(path)? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }?;
        n.is_finite().then_some(n)
    }

    /// A field as a boolean (true/false, or the strings "true"/"false").
    fn flag(&self, path: &str) -> Option<bool> {
        match self.get(path)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// The viewer's name: the table's `username`, EventSub's `user_name`
    /// or `user_login`, or the chatter, else the event's viewer.
    fn who(&self) -> Option<String> {
        self.first_text(&["username", "user_name", "user_login", "chatter_user_name"])
            .or_else(|| self.viewer_name.clone())
    }

    fn moderator(&self) -> Option<String> {
        self.first_text(&[
            "moderator_username",
            "moderator_user_name",
            "moderator_user_login",
        ])
    }

    fn broadcaster(&self) -> Option<String> {
        self.first_text(&["broadcaster_user_name", "broadcaster_user_login"])
    }

    fn tier(&self) -> Option<String> {
        self.text("tier").map(|t| tier_name(&t))
    }

    /// A resub or cheer message: text in the table, `{text}` in EventSub.
    fn message(&self) -> Option<String> {
        self.first_text(&["message", "message.text"])
    }
}

/// Newlines and other control characters as spaces, trimmed: a display is
/// one line.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use stagehand_plugin_sdk::serde_json::json;
    use stagehand_plugin_sdk::testing;

    /// Every kind of the ARCHITECTURE.md table.
    const KINDS: [&str; 20] = [
        "channel.follow",
        "channel.unfollow",
        "channel.ban",
        "channel.unban",
        "channel.timeout.end",
        "channel.vip.add",
        "channel.vip.remove",
        "channel.moderator.add",
        "channel.moderator.remove",
        "channel.subscribe",
        "channel.subscription.message",
        "channel.subscription.end",
        "channel.subscription.gift",
        "channel.cheer",
        "channel.raid",
        "channel.channel_points_custom_reward_redemption.add",
        "channel.chat.message",
        "stream.online",
        "stream.offline",
        "channel.clip.created",
    ];

    fn show(kind: &str, details: Value) -> Display {
        EventFormatter::format(testing::event(kind, details)).expect("always formats")
    }

    #[test]
    fn every_kind_has_its_label_icon_color_and_text() {
        let cases = [
            (
                "channel.follow",
                json!({"username": "JaneDoe", "action": "follow", "followed_at": "2025-01-15T14:32:00Z"}),
                ("Follow", "👥", "#0066cc", "JaneDoe followed"),
            ),
            (
                "channel.unfollow",
                json!({"username": "JaneDoe", "action": "unfollow"}),
                ("Unfollow", "👤", "#999999", "JaneDoe unfollowed"),
            ),
            (
                "channel.ban",
                json!({"username": "troll", "moderator_username": "ModName", "moderator_id": "9", "reason": "spam", "is_permanent": true}),
                ("Ban", "🚫", "#cc0000", "troll was banned by ModName: spam"),
            ),
            (
                "channel.ban",
                json!({"username": "troll", "moderator_username": "ModName", "reason": "reason", "is_permanent": false, "duration_seconds": 600, "expires_at": "2025-01-15T14:42:00Z"}),
                (
                    "Timeout",
                    "⏱️",
                    "#e67e22",
                    "troll was timed out for 10m by ModName: reason",
                ),
            ),
            (
                "channel.unban",
                json!({"username": "troll"}),
                ("Unban", "✅", "#2e8b57", "troll was unbanned"),
            ),
            (
                "channel.timeout.end",
                json!({"username": "troll"}),
                ("Timeout ended", "⌛", "#2e8b57", "troll's timeout ended"),
            ),
            (
                "channel.vip.add",
                json!({"username": "Bob", "action": "granted", "role_type": "vip"}),
                ("VIP added", "💎", "#e005b9", "Bob is now a VIP"),
            ),
            (
                "channel.vip.remove",
                json!({"username": "Bob", "action": "revoked", "role_type": "vip"}),
                ("VIP removed", "💎", "#999999", "Bob is no longer a VIP"),
            ),
            (
                "channel.moderator.add",
                json!({"username": "Bob", "action": "granted", "role_type": "moderator"}),
                ("Mod added", "🛡️", "#00ad03", "Bob is now a moderator"),
            ),
            (
                "channel.moderator.remove",
                json!({"username": "Bob", "action": "revoked", "role_type": "moderator"}),
                (
                    "Mod removed",
                    "🛡️",
                    "#999999",
                    "Bob is no longer a moderator",
                ),
            ),
            (
                "channel.subscribe",
                json!({"username": "Bob", "tier": "1000", "is_gift": false}),
                ("Subscribe", "⭐", "#9146ff", "Bob subscribed (Tier 1)"),
            ),
            (
                "channel.subscribe",
                json!({"username": "Bob", "tier": "2000", "is_gift": true}),
                (
                    "Gift sub",
                    "🎁",
                    "#9146ff",
                    "Bob received a gifted sub (Tier 2)",
                ),
            ),
            (
                "channel.subscription.message",
                json!({"username": "Bob", "tier": "1000", "cumulative_months": 12, "message": "message"}),
                (
                    "Resub",
                    "🔁",
                    "#9146ff",
                    "Bob resubscribed (Tier 1, 12 months): message",
                ),
            ),
            (
                "channel.subscription.end",
                json!({"username": "Bob", "tier": "3000"}),
                ("Sub ended", "💤", "#999999", "Bob's Tier 3 sub ended"),
            ),
            (
                "channel.subscription.gift",
                json!({"username": "Alice", "tier": "1000", "total": 5, "is_anonymous": false}),
                ("Gift subs", "🎁", "#e91e63", "Alice gifted 5 Tier 1 subs"),
            ),
            (
                "channel.subscription.gift",
                json!({"username": "", "tier": "1000", "total": 3, "is_anonymous": true}),
                (
                    "Gift subs",
                    "🎁",
                    "#e91e63",
                    "An anonymous gifter gifted 3 Tier 1 subs",
                ),
            ),
            (
                "channel.cheer",
                json!({"user_name": "Bob", "bits": 100, "message": "Cheer100 gg", "is_anonymous": false}),
                (
                    "Cheer",
                    "🎉",
                    "#ff8c00",
                    "Bob cheered 100 bits: Cheer100 gg",
                ),
            ),
            (
                "channel.raid",
                json!({"from_broadcaster_user_name": "Streamer", "from_broadcaster_user_login": "streamer", "viewers": 42}),
                ("Raid", "🚀", "#6441a5", "Streamer raided with 42 viewers"),
            ),
            (
                "channel.channel_points_custom_reward_redemption.add",
                json!({"user_name": "Bob", "user_input": "drink water", "reward": {"title": "Hydrate", "cost": 500}}),
                (
                    "Redemption",
                    "🎯",
                    "#00a3a3",
                    "Bob redeemed Hydrate: drink water",
                ),
            ),
            (
                "channel.chat.message",
                json!({"username": "Bob", "text": "hello chat", "badges": []}),
                ("Chat", "💬", "#808080", "Bob: hello chat"),
            ),
            (
                "stream.online",
                json!({"broadcaster_user_name": "Streamer", "type": "live"}),
                ("Stream online", "🟢", "#00b050", "Streamer went live"),
            ),
            (
                "stream.offline",
                json!({}),
                ("Stream offline", "⚫", "#666666", "The stream went offline"),
            ),
            (
                "channel.clip.created",
                json!({"clip_title": "Big play", "clip_url": "https://clips.twitch.tv/x", "creator_username": "Bob", "view_count": 3}),
                ("Clip", "🎬", "#1e90ff", "Bob clipped \"Big play\""),
            ),
        ];
        for (kind, details, (label, icon, color, text)) in cases {
            let d = show(kind, details.clone());
            assert_eq!(
                (
                    d.label.as_str(),
                    d.icon.as_str(),
                    d.color.as_str(),
                    d.text.as_str()
                ),
                (label, icon, color, text),
                "{kind} {details}"
            );
        }
    }

    #[test]
    fn the_table_above_covers_every_kind() {
        // Each kind must format to something other than the generic display.
        for kind in KINDS {
            let d = show(kind, json!({"username": "Bob"}));
            assert_ne!(d.icon, "❔", "{kind} fell through to the generic display");
        }
    }

    #[test]
    fn missing_or_odd_details_never_panic_and_still_say_something() {
        let odd = [
            "{}".to_owned(),
            "null".to_owned(),
            "not json".to_owned(),
            "[1, 2]".to_owned(),
            json!({"username": null, "tier": null, "total": null, "bits": null}).to_string(),
            json!({"username": 42, "tier": [1], "total": "many", "bits": {"x": 1},
                   "cumulative_months": -3, "duration_seconds": -10, "is_permanent": "maybe",
                   "reward": "not an object", "viewers": 1e300, "message": {"text": 5}})
            .to_string(),
        ];
        for kind in KINDS.iter().copied().chain(["", "custom.thing"]) {
            for details in &odd {
                let mut e = testing::event(kind, json!({}));
                e.details = details.clone();
                let d = EventFormatter::format(e).expect("always formats");
                assert!(!d.label.is_empty(), "{kind} {details}");
                assert!(!d.text.is_empty(), "{kind} {details}");
                assert!(d.color.starts_with('#'), "{kind} {details}");
            }
        }
    }

    #[test]
    fn missing_names_fall_back_to_someone() {
        for kind in KINDS {
            let text = show(kind, json!({})).text;
            let names_nobody = ["stream.online", "stream.offline"].contains(&kind);
            assert_eq!(text.contains("Someone"), !names_nobody, "{kind}: {text}");
        }
        assert_eq!(
            show("channel.follow", json!({"username": ""})).text,
            "Someone followed"
        );
    }

    #[test]
    fn the_viewer_names_the_event_when_details_do_not() {
        let mut e = testing::event("channel.follow", json!({}));
        e.viewer = Some(testing::viewer("7", "ViewerName"));
        assert_eq!(
            EventFormatter::format(e).unwrap().text,
            "ViewerName followed"
        );
    }

    #[test]
    fn partial_details_leave_out_only_what_is_missing() {
        let cases = [
            (
                "channel.ban",
                json!({"username": "troll"}),
                "troll was banned",
            ),
            (
                "channel.ban",
                json!({"username": "troll", "duration_seconds": 90}),
                "troll was timed out for 1m 30s",
            ),
            (
                "channel.ban",
                json!({"username": "troll", "is_permanent": false}),
                "troll was timed out",
            ),
            (
                "channel.ban",
                json!({"user_name": "troll", "moderator_user_name": "Mod", "is_permanent": true}),
                "troll was banned by Mod",
            ),
            (
                "channel.unban",
                json!({"username": "troll", "moderator_username": "Mod"}),
                "troll was unbanned by Mod",
            ),
            (
                "channel.subscribe",
                json!({"username": "Bob"}),
                "Bob subscribed",
            ),
            (
                "channel.subscription.message",
                json!({"username": "Bob", "cumulative_months": 1, "message": ""}),
                "Bob resubscribed (1 month)",
            ),
            (
                "channel.subscription.message",
                json!({"username": "Bob", "tier": "3000", "message": {"text": "hi", "emotes": []}}),
                "Bob resubscribed (Tier 3): hi",
            ),
            (
                "channel.subscription.end",
                json!({"username": "Bob"}),
                "Bob's sub ended",
            ),
            (
                "channel.subscription.gift",
                json!({"username": "Alice", "tier": "1000", "total": 1}),
                "Alice gifted 1 Tier 1 sub",
            ),
            (
                "channel.subscription.gift",
                json!({"username": "Alice"}),
                "Alice gifted subs",
            ),
            (
                "channel.cheer",
                json!({"username": "Bob", "bits": "1"}),
                "Bob cheered 1 bit",
            ),
            (
                "channel.cheer",
                json!({"user_name": null, "is_anonymous": true, "bits": 500, "message": "hi\nthere"}),
                "An anonymous cheerer cheered 500 bits: hi there",
            ),
            (
                "channel.raid",
                json!({"viewers": 1}),
                "Someone raided with 1 viewer",
            ),
            (
                "channel.channel_points_custom_reward_redemption.add",
                json!({"user_name": "Bob", "user_input": ""}),
                "Bob redeemed a reward",
            ),
            (
                "channel.chat.message",
                json!({"chatter_user_name": "Bob", "message": {"text": "hi"}}),
                "Bob: hi",
            ),
            (
                "channel.chat.message",
                json!({"username": "Bob"}),
                "Bob sent a message",
            ),
            ("stream.online", json!({}), "The stream went live"),
            (
                "stream.offline",
                json!({"broadcaster_user_name": "Streamer"}),
                "Streamer went offline",
            ),
            ("channel.clip.created", json!({}), "Someone created a clip"),
        ];
        for (kind, details, text) in cases {
            assert_eq!(show(kind, details.clone()).text, text, "{kind} {details}");
        }
    }

    #[test]
    fn unknown_kinds_get_a_generic_display() {
        let d = show("channel.hype_train.begin", json!({}));
        assert_eq!(
            (d.label.as_str(), d.icon.as_str(), d.text.as_str()),
            ("Hype train begin", "❔", "Hype train begin")
        );
        let d = show("channel.shoutout.create", json!({"username": "Bob"}));
        assert_eq!(d.text, "Shoutout create (Bob)");
        assert_eq!(show("", json!({})).label, "Event");
        assert_eq!(show("...", json!({})).label, "Event");
    }

    #[test]
    fn labels_derive_from_kind_names() {
        assert_eq!(label_from_kind("channel.goal.progress"), "Goal progress");
        assert_eq!(label_from_kind("user.update"), "User update");
        assert_eq!(
            label_from_kind("channel.SHIELD_mode.begin"),
            "Shield mode begin"
        );
    }

    #[test]
    fn tiers_read_as_people_say_them() {
        assert_eq!(tier_name("1000"), "Tier 1");
        assert_eq!(tier_name("2000"), "Tier 2");
        assert_eq!(tier_name("3000"), "Tier 3");
        assert_eq!(tier_name("prime"), "Prime");
        assert_eq!(tier_name("custom"), "custom");
        assert_eq!(
            show("channel.subscribe", json!({"tier": 1000})).text,
            "Someone subscribed (Tier 1)"
        );
    }

    #[test]
    fn durations_read_as_mods_say_them() {
        let cases = [
            (0, "0s"),
            (45, "45s"),
            (60, "1m"),
            (90, "1m 30s"),
            (600, "10m"),
            (3_600, "1h"),
            (5_400, "1h 30m"),
            (3_661, "1h 1m"),
            (86_400, "1d"),
            (1_209_600, "14d"),
            (90_061, "1d 1h"),
        ];
        for (seconds, text) in cases {
            assert_eq!(human_duration(seconds), text, "{seconds}");
        }
    }

    #[test]
    fn it_formats_every_kind_and_only_formats() {
        let info = EventFormatter::describe();
        assert_eq!(info.name, "event-formatter");
        assert_eq!(info.kinds, vec!["*"]);
        assert!(matches!(info.roles.as_slice(), [Role::Formatter]));
        let e = testing::event("channel.follow", json!({"username": "Bob"}));
        assert!(EventFormatter::on_event(e).unwrap().is_empty());
    }
}
