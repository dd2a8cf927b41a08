//! The dashboard's view of events: a label, an icon, a color and one line
//! of text ("JaneDoe followed", "Alice gifted 5 Tier 1 subs") for every kind
//! Stagehand models, and a generic line for kinds it does not, so no event
//! ever shows up blank.
//!
//! Formatting is a pure function of the event's typed data ([`display`]):
//! empty fields are left out of the line and a nameless event is about
//! "Someone", never a panic.

use stagehand_plugin_sdk::prelude::*;
use stagehand_plugin_sdk::text::tier_name;
use stagehand_plugin_sdk::{Ban, Discord, Donation, fields, serde_json};

/// The plugin: the formatter for every kind. It keeps no state, so the
/// host may call it for any event in any order.
pub struct EventFormatter;

impl Plugin for EventFormatter {
    fn new(_settings: Settings) -> Result<Self, String> {
        Ok(EventFormatter)
    }

    /// Every kind, including ones Stagehand does not model: an event without
    /// a display would show up blank on the dashboard.
    fn describe() -> Info {
        Info::new().kinds([kinds::ALL])
    }
}

impl Formatter for EventFormatter {
    fn format(&mut self, event: &Event) -> Option<Display> {
        Some(display(event))
    }
}

stagehand_plugin_sdk::export!(EventFormatter);

/// Who an event is about when nothing names anyone.
const SOMEONE: &str = "Someone";

/// The display of any event; pure, so every kind is tested without a host.
pub fn display(event: &Event) -> Display {
    let who = one_line(&event.who()).unwrap_or_else(|| SOMEONE.into());
    let (label, icon, color, text) = match &event.data {
        EventData::Follow(_) => ("Follow", "👥", "#0066cc", format!("{who} followed")),
        EventData::Unfollow => ("Unfollow", "👤", "#999999", format!("{who} unfollowed")),
        EventData::Ban(b) => return ban(b, &who),
        EventData::Unban => ("Unban", "✅", "#2e8b57", format!("{who} was unbanned")),
        EventData::TimeoutEnd => (
            "Timeout ended",
            "⌛",
            "#2e8b57",
            format!("{who}'s timeout ended"),
        ),
        EventData::VipAdd => ("VIP added", "💎", "#e005b9", format!("{who} is now a VIP")),
        EventData::VipRemove => (
            "VIP removed",
            "💎",
            "#999999",
            format!("{who} is no longer a VIP"),
        ),
        EventData::ModeratorAdd => (
            "Mod added",
            "🛡️",
            "#00ad03",
            format!("{who} is now a moderator"),
        ),
        EventData::ModeratorRemove => (
            "Mod removed",
            "🛡️",
            "#999999",
            format!("{who} is no longer a moderator"),
        ),
        EventData::Subscribe(sub) => {
            let tier = tier(sub.tier)
                .map(|t| format!(" ({t})"))
                .unwrap_or_default();
            if sub.is_gift {
                let text = format!("{who} received a gifted sub{tier}");
                ("Gift sub", "🎁", "#9146ff", text)
            } else {
                let text = format!("{who} subscribed{tier}");
                ("Subscribe", "⭐", "#9146ff", text)
            }
        }
        EventData::Resub(resub) => {
            let months = counted(resub.cumulative_months).map(|m| plural(m, "month", "months"));
            let parts: Vec<String> = tier(resub.tier).into_iter().chain(months).collect();
            let parts = if parts.is_empty() {
                String::new()
            } else {
                format!(" ({})", parts.join(", "))
            };
            let message = said(&resub.message);
            let text = format!("{who} resubscribed{parts}{message}");
            ("Resub", "🔁", "#9146ff", text)
        }
        EventData::SubscriptionEnd(end) => {
            let tier = tier(end.tier).map(|t| format!("{t} ")).unwrap_or_default();
            (
                "Sub ended",
                "💤",
                "#999999",
                format!("{who}'s {tier}sub ended"),
            )
        }
        EventData::Gift(gift) => {
            let gifter = if gift.anonymous {
                "An anonymous gifter".to_owned()
            } else {
                who
            };
            let count = counted(gift.total)
                .map(|t| format!("{t} "))
                .unwrap_or_default();
            let tier = tier(gift.tier).map(|t| format!("{t} ")).unwrap_or_default();
            let noun = if gift.total == 1 { "sub" } else { "subs" };
            let text = format!("{gifter} gifted {count}{tier}{noun}");
            ("Gift subs", "🎁", "#e91e63", text)
        }
        EventData::Cheer(cheer) => {
            let cheerer = if cheer.anonymous {
                "An anonymous cheerer".to_owned()
            } else {
                who
            };
            let bits = counted(cheer.bits)
                .map(|b| format!(" {}", plural(b, "bit", "bits")))
                .unwrap_or_default();
            let message = said(&cheer.message);
            let text = format!("{cheerer} cheered{bits}{message}");
            ("Cheer", "🎉", "#ff8c00", text)
        }
        EventData::Raid(raid) => {
            let viewers = counted(raid.viewers)
                .map(|v| format!(" with {}", plural(v, "viewer", "viewers")))
                .unwrap_or_default();
            ("Raid", "🚀", "#6441a5", format!("{who} raided{viewers}"))
        }
        EventData::Redemption(r) => {
            let reward = one_line(&r.reward.title).unwrap_or_else(|| "a reward".into());
            let input = said(&r.user_input);
            let text = format!("{who} redeemed {reward}{input}");
            ("Redemption", "🎯", "#00a3a3", text)
        }
        EventData::ChatMessage(chat) => {
            let text = match one_line(&chat.text) {
                Some(t) => format!("{who}: {t}"),
                None => format!("{who} sent a message"),
            };
            ("Chat", "💬", "#808080", text)
        }
        EventData::StreamOnline(s) => {
            let text = match one_line(&s.broadcaster_name) {
                Some(b) => format!("{b} went live"),
                None => "The stream went live".into(),
            };
            ("Stream online", "🟢", "#00b050", text)
        }
        EventData::StreamOffline(s) => {
            let text = match one_line(&s.broadcaster_name) {
                Some(b) => format!("{b} went offline"),
                None => "The stream went offline".into(),
            };
            ("Stream offline", "⚫", "#666666", text)
        }
        // `who` is the clip's creator.
        EventData::Clip(clip) => {
            let text = match one_line(&clip.title) {
                Some(title) => format!("{who} clipped \"{title}\""),
                None => format!("{who} created a clip"),
            };
            ("Clip", "🎬", "#1e90ff", text)
        }
        EventData::Donation(d) => return donation(d, &who),
        EventData::Discord(d) => return discord(&event.kind, d, &who),
        EventData::Other(_) => return unknown(&event.kind, named(event)),
    };
    Display::new(label, icon, color, text)
}

/// "JaneDoe donated 5.00 USD: message". A private donation's message is
/// left out: the dashboard's line may be on stream. A payment that is not a
/// plain donation says what it was ("(Shop Order)", "(Subscription: Gold)").
fn donation(d: &Donation, who: &str) -> Display {
    let amount = [d.amount.as_str(), d.currency.as_str()]
        .into_iter()
        .filter_map(one_line)
        .collect::<Vec<_>>()
        .join(" ");
    let amount = if amount.is_empty() {
        String::new()
    } else {
        format!(" {amount}")
    };
    let what = one_line(&d.donation_type).filter(|t| !t.eq_ignore_ascii_case("donation"));
    let kind = match (what, one_line(&d.tier_name)) {
        (Some(what), Some(tier)) => format!(" ({what}: {tier})"),
        (Some(what), None) => format!(" ({what})"),
        (None, Some(tier)) => format!(" ({tier})"),
        (None, None) => String::new(),
    };
    let message = if d.is_public {
        said(&d.message)
    } else {
        String::new()
    };
    let text = format!("{who} donated{amount}{kind}{message}");
    Display::new("Donation", "💰", "#1e9e5a", text)
}

/// Discord's colour, for every event from the streamer's Discord bot.
const DISCORD_COLOR: &str = "#5865f2";

/// The Discord kinds: the kind says what happened, the record who and what.
fn discord(kind: &str, d: &Discord, who: &str) -> Display {
    let prize = one_line(&d.prize);
    let ticket = one_line(&d.ticket_id)
        .map(|t| format!("ticket {t}"))
        .unwrap_or_else(|| "a ticket".into());
    let named = one_line(&d.username);
    let (label, icon, text) = match kind {
        kinds::DISCORD_MEMBER_JOIN => ("Discord join", "📥", format!("{who} joined the Discord")),
        kinds::DISCORD_MEMBER_LEAVE => ("Discord leave", "📤", format!("{who} left the Discord")),
        kinds::DISCORD_TICKET_CREATE => ("Ticket opened", "🎫", format!("{who} opened {ticket}")),
        kinds::DISCORD_TICKET_CLOSE => {
            let text = match named {
                Some(name) => format!("{name} closed {ticket}"),
                None => format!("{} was closed", capitalised(&ticket)),
            };
            ("Ticket closed", "🎫", text)
        }
        kinds::DISCORD_GIVEAWAY_CREATE => {
            let text = match prize {
                Some(prize) => format!("Giveaway started: {prize}"),
                None => "A giveaway started".into(),
            };
            ("Giveaway", "🎁", text)
        }
        kinds::DISCORD_GIVEAWAY_END => {
            // The bot names the winner by id; by name when it gives one.
            let winner = named.or_else(|| one_line(&d.winner_id));
            let text = match (winner, prize) {
                (Some(winner), Some(prize)) => format!("Giveaway ended: {winner} won {prize}"),
                (Some(winner), None) => format!("Giveaway ended: {winner} won"),
                (None, Some(prize)) => format!("The giveaway for {prize} ended"),
                (None, None) => "A giveaway ended".into(),
            };
            ("Giveaway ended", "🏆", text)
        }
        kinds::DISCORD_GIVEAWAY_ENTRY => {
            let text = match prize {
                Some(prize) => format!("{who} entered the giveaway for {prize}"),
                None => format!("{who} entered a giveaway"),
            };
            ("Giveaway entry", "🎟️", text)
        }
        // A Discord kind newer than this plugin: said generically.
        other => return unknown(other, named),
    };
    Display::new(label, icon, DISCORD_COLOR, text)
}

/// "ticket 7" → "Ticket 7".
fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `channel.ban` is a permanent ban or a timeout.
fn ban(ban: &Ban, who: &str) -> Display {
    let by = ban
        .moderator_name
        .as_deref()
        .and_then(one_line)
        .map(|m| format!(" by {m}"))
        .unwrap_or_default();
    let reason = ban.reason.as_deref().map(said).unwrap_or_default();
    if ban.permanent {
        let text = format!("{who} was banned{by}{reason}");
        Display::new("Ban", "🚫", "#cc0000", text)
    } else {
        let length = ban
            .duration_seconds
            .filter(|s| *s >= 1)
            .map(|s| format!(" for {}", human_duration(s)))
            .unwrap_or_default();
        let text = format!("{who} was timed out{length}{by}{reason}");
        Display::new("Timeout", "⏱️", "#e67e22", text)
    }
}

/// A kind this plugin does not know (or data that does not fit its kind):
/// a label derived from its name, and whom it names if anyone.
fn unknown(kind: &str, who: Option<String>) -> Display {
    let label = label_from_kind(kind);
    let text = match who {
        Some(name) => format!("{label} ({name})"),
        None => label.clone(),
    };
    Display::new(label, "❔", "#888888", text)
}

/// Whom an event of an unmodelled kind is about, if anyone: its
/// `username` field, else its viewer (the host sets it from Twitch's
/// `user_*` fields). Unlike [`Event::who`], `None` rather than "Someone",
/// so a generic line does not name a placeholder.
fn named(event: &Event) -> Option<String> {
    let field = match &event.data {
        EventData::Other(json) => serde_json::from_str(json)
            .ok()
            .and_then(|v| fields::lookup(&v, "username")),
        _ => None,
    };
    field.as_deref().and_then(one_line).or_else(|| {
        event
            .viewer
            .as_ref()
            .and_then(|v| one_line(&v.display_name))
    })
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

/// A count worth saying: zero is what an event stored without the field
/// reads as, so "cheered 0 bits" would be a guess; the line leaves it out.
fn counted(n: u32) -> Option<u32> {
    (n > 0).then_some(n)
}

/// A count with its noun: "1 bit", "100 bits".
fn plural(n: u32, one: &str, many: &str) -> String {
    let noun = if n == 1 { one } else { many };
    format!("{n} {noun}")
}

/// A tier as people say it ("Tier 1"); 0 means not told.
fn tier(tier: u32) -> Option<String> {
    (tier > 0).then(|| tier_name(&tier.to_string()))
}

/// What a viewer typed, as the line's ": …" ending; nothing when empty.
fn said(message: &str) -> String {
    one_line(message)
        .map(|m| format!(": {m}"))
        .unwrap_or_default()
}

/// Text as one line (newlines and other control characters as spaces,
/// trimmed), or `None` when nothing is left: a display is one line.
fn one_line(s: &str) -> Option<String> {
    let line = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned();
    (!line.is_empty()).then_some(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use stagehand_plugin_sdk::serde_json::json;
    use stagehand_plugin_sdk::{
        ChatMessage, Cheer, Clip, Follow, Gift, Raid, Redemption, Resub, Reward, StreamOffline,
        StreamOnline, Subscribe, SubscriptionEnd, testing,
    };

    /// A Discord kind's record with every field empty.
    fn empty_discord() -> EventData {
        EventData::Discord(Discord {
            guild_id: String::new(),
            user_id: String::new(),
            username: String::new(),
            giveaway_id: String::new(),
            prize: String::new(),
            winner_id: String::new(),
            ticket_id: String::new(),
            data: "{}".into(),
        })
    }

    /// The display, through the plugin as the host calls it.
    fn show(event: &Event) -> Display {
        testing::reset();
        let mut plugin = EventFormatter::new(Settings::default()).unwrap();
        plugin.format(event).expect("always formats")
    }

    /// An event of `kind` about the viewer `name`.
    fn about(kind: &str, name: &str, data: EventData) -> Event {
        testing::event(kind, Some(testing::viewer("7", name)), data)
    }

    fn ban_data(permanent: bool, duration: Option<u64>, moderator: Option<&str>) -> EventData {
        EventData::Ban(Ban {
            permanent,
            duration_seconds: duration,
            expires_at_ms: duration.map(|s| 1_700_000_000_000 + s * 1000),
            reason: None,
            moderator_name: moderator.map(Into::into),
            moderator_id: moderator.map(|_| "9".into()),
        })
    }

    /// The data of `kind` with every field empty or zero: what an event
    /// stored without its fields reads as.
    fn empty_data(kind: &str) -> EventData {
        match kind {
            kinds::FOLLOW => EventData::Follow(Follow {
                followed_at_ms: None,
            }),
            kinds::UNFOLLOW => EventData::Unfollow,
            kinds::BAN => ban_data(false, None, None),
            kinds::UNBAN => EventData::Unban,
            kinds::TIMEOUT_END => EventData::TimeoutEnd,
            kinds::VIP_ADD => EventData::VipAdd,
            kinds::VIP_REMOVE => EventData::VipRemove,
            kinds::MODERATOR_ADD => EventData::ModeratorAdd,
            kinds::MODERATOR_REMOVE => EventData::ModeratorRemove,
            kinds::SUBSCRIBE => EventData::Subscribe(Subscribe {
                tier: 0,
                is_gift: false,
            }),
            kinds::RESUB => EventData::Resub(Resub {
                tier: 0,
                cumulative_months: 0,
                message: String::new(),
            }),
            kinds::SUBSCRIPTION_END => EventData::SubscriptionEnd(SubscriptionEnd { tier: 0 }),
            kinds::GIFT => EventData::Gift(Gift {
                tier: 0,
                total: 0,
                anonymous: false,
            }),
            kinds::CHEER => EventData::Cheer(Cheer {
                bits: 0,
                message: String::new(),
                anonymous: false,
            }),
            kinds::RAID => EventData::Raid(Raid { viewers: 0 }),
            kinds::REDEMPTION => EventData::Redemption(Redemption {
                reward: Reward {
                    id: String::new(),
                    title: String::new(),
                    cost: 0,
                    prompt: String::new(),
                },
                user_input: String::new(),
                status: String::new(),
            }),
            kinds::CHAT_MESSAGE => EventData::ChatMessage(ChatMessage {
                text: String::new(),
                badges: Vec::new(),
            }),
            kinds::STREAM_ONLINE => EventData::StreamOnline(StreamOnline {
                broadcaster_name: String::new(),
                stream_type: String::new(),
                started_at_ms: None,
            }),
            kinds::STREAM_OFFLINE => EventData::StreamOffline(StreamOffline {
                broadcaster_name: String::new(),
            }),
            kinds::CLIP_CREATED => EventData::Clip(Clip {
                title: String::new(),
                url: String::new(),
                creator_name: String::new(),
                view_count: 0,
            }),
            kinds::DONATION => EventData::Donation(Donation {
                username: String::new(),
                amount: String::new(),
                currency: String::new(),
                message: String::new(),
                is_public: false,
                source: String::new(),
                donation_type: String::new(),
                tier_name: String::new(),
            }),
            kind if kind.starts_with("discord.") => empty_discord(),
            _ => EventData::Other("{}".into()),
        }
    }

    /// A `kind` event with empty data, about nobody.
    fn empty(kind: &str) -> Event {
        testing::event(kind, None, empty_data(kind))
    }

    fn stream_online(broadcaster: &str) -> EventData {
        EventData::StreamOnline(StreamOnline {
            broadcaster_name: broadcaster.into(),
            stream_type: "live".into(),
            started_at_ms: None,
        })
    }

    fn stream_offline(broadcaster: &str) -> EventData {
        EventData::StreamOffline(StreamOffline {
            broadcaster_name: broadcaster.into(),
        })
    }

    #[test]
    fn every_kind_has_its_label_icon_color_and_text() {
        let mut ban = ban_data(true, None, Some("ModName"));
        let mut timeout = ban_data(false, Some(600), Some("ModName"));
        for data in [&mut ban, &mut timeout] {
            if let EventData::Ban(b) = data {
                b.reason = Some(if b.permanent { "spam" } else { "reason" }.into());
            }
        }
        let gifted = EventData::Subscribe(Subscribe {
            tier: 2000,
            is_gift: true,
        });
        let clip = EventData::Clip(Clip {
            title: "Big play".into(),
            url: "https://clips.twitch.tv/x".into(),
            creator_name: "Bob".into(),
            view_count: 3,
        });
        let cases = [
            (
                testing::follow("JaneDoe"),
                ("Follow", "👥", "#0066cc", "JaneDoe followed"),
            ),
            (
                about(kinds::UNFOLLOW, "JaneDoe", EventData::Unfollow),
                ("Unfollow", "👤", "#999999", "JaneDoe unfollowed"),
            ),
            (
                about(kinds::BAN, "troll", ban),
                ("Ban", "🚫", "#cc0000", "troll was banned by ModName: spam"),
            ),
            (
                about(kinds::BAN, "troll", timeout),
                (
                    "Timeout",
                    "⏱️",
                    "#e67e22",
                    "troll was timed out for 10m by ModName: reason",
                ),
            ),
            (
                about(kinds::UNBAN, "troll", EventData::Unban),
                ("Unban", "✅", "#2e8b57", "troll was unbanned"),
            ),
            (
                about(kinds::TIMEOUT_END, "troll", EventData::TimeoutEnd),
                ("Timeout ended", "⌛", "#2e8b57", "troll's timeout ended"),
            ),
            (
                about(kinds::VIP_ADD, "Bob", EventData::VipAdd),
                ("VIP added", "💎", "#e005b9", "Bob is now a VIP"),
            ),
            (
                about(kinds::VIP_REMOVE, "Bob", EventData::VipRemove),
                ("VIP removed", "💎", "#999999", "Bob is no longer a VIP"),
            ),
            (
                about(kinds::MODERATOR_ADD, "Bob", EventData::ModeratorAdd),
                ("Mod added", "🛡️", "#00ad03", "Bob is now a moderator"),
            ),
            (
                about(kinds::MODERATOR_REMOVE, "Bob", EventData::ModeratorRemove),
                (
                    "Mod removed",
                    "🛡️",
                    "#999999",
                    "Bob is no longer a moderator",
                ),
            ),
            (
                testing::subscribe("Bob", 1000),
                ("Subscribe", "⭐", "#9146ff", "Bob subscribed (Tier 1)"),
            ),
            (
                about(kinds::SUBSCRIBE, "Bob", gifted),
                (
                    "Gift sub",
                    "🎁",
                    "#9146ff",
                    "Bob received a gifted sub (Tier 2)",
                ),
            ),
            (
                testing::resub("Bob", 12, "message"),
                (
                    "Resub",
                    "🔁",
                    "#9146ff",
                    "Bob resubscribed (Tier 1, 12 months): message",
                ),
            ),
            (
                about(
                    kinds::SUBSCRIPTION_END,
                    "Bob",
                    EventData::SubscriptionEnd(SubscriptionEnd { tier: 3000 }),
                ),
                ("Sub ended", "💤", "#999999", "Bob's Tier 3 sub ended"),
            ),
            (
                testing::gift(Some("Alice"), 5),
                ("Gift subs", "🎁", "#e91e63", "Alice gifted 5 Tier 1 subs"),
            ),
            (
                testing::gift(None, 3),
                (
                    "Gift subs",
                    "🎁",
                    "#e91e63",
                    "An anonymous gifter gifted 3 Tier 1 subs",
                ),
            ),
            (
                testing::cheer("Bob", 100, "Cheer100 gg"),
                (
                    "Cheer",
                    "🎉",
                    "#ff8c00",
                    "Bob cheered 100 bits: Cheer100 gg",
                ),
            ),
            (
                testing::raid("Streamer", 42),
                ("Raid", "🚀", "#6441a5", "Streamer raided with 42 viewers"),
            ),
            (
                testing::redemption("Bob", "Hydrate", 500, "drink water"),
                (
                    "Redemption",
                    "🎯",
                    "#00a3a3",
                    "Bob redeemed Hydrate: drink water",
                ),
            ),
            (
                testing::chat("Bob", "hello chat", &[]),
                ("Chat", "💬", "#808080", "Bob: hello chat"),
            ),
            (
                testing::event(kinds::STREAM_ONLINE, None, stream_online("Streamer")),
                ("Stream online", "🟢", "#00b050", "Streamer went live"),
            ),
            (
                testing::event(kinds::STREAM_OFFLINE, None, stream_offline("")),
                ("Stream offline", "⚫", "#666666", "The stream went offline"),
            ),
            (
                testing::event(kinds::CLIP_CREATED, None, clip),
                ("Clip", "🎬", "#1e90ff", "Bob clipped \"Big play\""),
            ),
            (
                testing::donation("JaneDoe", "5.00", "USD", "keep it up", true),
                (
                    "Donation",
                    "💰",
                    "#1e9e5a",
                    "JaneDoe donated 5.00 USD: keep it up",
                ),
            ),
            (
                testing::discord(kinds::DISCORD_MEMBER_JOIN, json!({"username": "Zed"})),
                (
                    "Discord join",
                    "📥",
                    DISCORD_COLOR,
                    "Zed joined the Discord",
                ),
            ),
            (
                testing::discord(kinds::DISCORD_MEMBER_LEAVE, json!({"username": "Zed"})),
                ("Discord leave", "📤", DISCORD_COLOR, "Zed left the Discord"),
            ),
            (
                testing::discord(
                    kinds::DISCORD_TICKET_CREATE,
                    json!({"username": "Zed", "ticketId": "17"}),
                ),
                ("Ticket opened", "🎫", DISCORD_COLOR, "Zed opened ticket 17"),
            ),
            (
                testing::discord(kinds::DISCORD_TICKET_CLOSE, json!({"ticketId": "17"})),
                ("Ticket closed", "🎫", DISCORD_COLOR, "Ticket 17 was closed"),
            ),
            (
                testing::discord(
                    kinds::DISCORD_GIVEAWAY_CREATE,
                    json!({"giveawayId": "g1", "prize": "Steam key"}),
                ),
                (
                    "Giveaway",
                    "🎁",
                    DISCORD_COLOR,
                    "Giveaway started: Steam key",
                ),
            ),
            (
                testing::discord(
                    kinds::DISCORD_GIVEAWAY_END,
                    json!({"giveawayId": "g1", "prize": "Steam key", "winnerId": "42", "username": "Zed"}),
                ),
                (
                    "Giveaway ended",
                    "🏆",
                    DISCORD_COLOR,
                    "Giveaway ended: Zed won Steam key",
                ),
            ),
            (
                testing::discord(
                    kinds::DISCORD_GIVEAWAY_ENTRY,
                    json!({"giveawayId": "g1", "prize": "Steam key", "username": "Zed"}),
                ),
                (
                    "Giveaway entry",
                    "🎟️",
                    DISCORD_COLOR,
                    "Zed entered the giveaway for Steam key",
                ),
            ),
        ];
        for kind in kinds::KNOWN {
            assert!(
                cases.iter().any(|(e, _)| e.kind == *kind),
                "{kind} is missing from the table"
            );
        }
        for (event, (label, icon, color, text)) in cases {
            let d = show(&event);
            assert_eq!(
                (
                    d.label.as_str(),
                    d.icon.as_str(),
                    d.color.as_str(),
                    d.text.as_str()
                ),
                (label, icon, color, text),
                "{}",
                event.kind
            );
        }
    }

    #[test]
    fn empty_data_never_panics_and_still_says_something() {
        for kind in kinds::KNOWN {
            let d = show(&empty(kind));
            assert_ne!(d.icon, "❔", "{kind} fell through to the generic display");
            assert!(!d.label.is_empty(), "{kind}");
            assert!(!d.text.is_empty(), "{kind}");
            assert!(d.color.starts_with('#'), "{kind}");
        }
    }

    #[test]
    fn odd_fields_of_unmodelled_kinds_never_panic() {
        let odd = [
            "{}".to_owned(),
            "null".to_owned(),
            "not json".to_owned(),
            "[1, 2]".to_owned(),
            json!({"username": null}).to_string(),
            json!({"username": {"x": 1}, "bits": [1]}).to_string(),
        ];
        for kind in ["", "custom.thing", kinds::CHEER] {
            for fields in &odd {
                let e = testing::event(kind, None, EventData::Other(fields.clone()));
                let d = show(&e);
                assert!(!d.label.is_empty(), "{kind} {fields}");
                assert!(!d.text.is_empty(), "{kind} {fields}");
                assert!(d.color.starts_with('#'), "{kind} {fields}");
            }
        }
    }

    #[test]
    fn missing_names_fall_back_to_someone() {
        for kind in kinds::KNOWN {
            let text = show(&empty(kind)).text;
            let names_nobody = [
                kinds::STREAM_ONLINE,
                kinds::STREAM_OFFLINE,
                kinds::DISCORD_TICKET_CLOSE,
                kinds::DISCORD_GIVEAWAY_CREATE,
                kinds::DISCORD_GIVEAWAY_END,
            ]
            .contains(kind);
            assert_eq!(text.contains("Someone"), !names_nobody, "{kind}: {text}");
        }
        assert_eq!(show(&testing::follow("")).text, "Someone followed");
        assert_eq!(show(&testing::follow(" \n ")).text, "Someone followed");
    }

    #[test]
    fn the_viewer_names_the_event() {
        assert_eq!(
            show(&testing::follow("ViewerName")).text,
            "ViewerName followed"
        );
        // A display is one line, whatever a name holds.
        assert_eq!(
            show(&testing::follow("Jane\nDoe")).text,
            "Jane Doe followed"
        );
    }

    #[test]
    fn partial_data_leaves_out_only_what_is_missing() {
        let cases = [
            (
                about(kinds::BAN, "troll", ban_data(true, None, None)),
                "troll was banned",
            ),
            (
                about(kinds::BAN, "troll", ban_data(false, Some(90), None)),
                "troll was timed out for 1m 30s",
            ),
            (
                about(kinds::BAN, "troll", ban_data(false, None, None)),
                "troll was timed out",
            ),
            (
                about(kinds::BAN, "troll", ban_data(false, Some(0), Some(" "))),
                "troll was timed out",
            ),
            (
                about(kinds::BAN, "troll", ban_data(true, None, Some("Mod"))),
                "troll was banned by Mod",
            ),
            (
                about(
                    kinds::SUBSCRIBE,
                    "Bob",
                    EventData::Subscribe(Subscribe {
                        tier: 0,
                        is_gift: false,
                    }),
                ),
                "Bob subscribed",
            ),
            (
                testing::resub("Bob", 1, ""),
                "Bob resubscribed (Tier 1, 1 month)",
            ),
            (
                testing::resub("Bob", 0, "hi"),
                "Bob resubscribed (Tier 1): hi",
            ),
            (
                about(
                    kinds::SUBSCRIPTION_END,
                    "Bob",
                    EventData::SubscriptionEnd(SubscriptionEnd { tier: 0 }),
                ),
                "Bob's sub ended",
            ),
            (testing::gift(Some("Alice"), 1), "Alice gifted 1 Tier 1 sub"),
            (testing::gift(Some("Alice"), 0), "Alice gifted Tier 1 subs"),
            (
                about(
                    kinds::GIFT,
                    "Alice",
                    EventData::Gift(Gift {
                        tier: 0,
                        total: 0,
                        anonymous: false,
                    }),
                ),
                "Alice gifted subs",
            ),
            (testing::cheer("Bob", 1, ""), "Bob cheered 1 bit"),
            (testing::cheer("Bob", 0, "  "), "Bob cheered"),
            (
                testing::cheer("", 500, "hi\nthere"),
                "An anonymous cheerer cheered 500 bits: hi there",
            ),
            (
                testing::event(kinds::RAID, None, EventData::Raid(Raid { viewers: 1 })),
                "Someone raided with 1 viewer",
            ),
            (testing::raid("Raider", 0), "Raider raided"),
            (
                testing::redemption("Bob", "", 0, ""),
                "Bob redeemed a reward",
            ),
            (
                testing::redemption("Bob", "Hydrate", 0, "  "),
                "Bob redeemed Hydrate",
            ),
            (testing::chat("Bob", "", &[]), "Bob sent a message"),
            (testing::chat("Bob", "hi\r\n", &[]), "Bob: hi"),
            (
                testing::event(kinds::STREAM_ONLINE, None, stream_online("")),
                "The stream went live",
            ),
            (
                testing::event(kinds::STREAM_OFFLINE, None, stream_offline("Streamer")),
                "Streamer went offline",
            ),
            (empty(kinds::CLIP_CREATED), "Someone created a clip"),
        ];
        for (event, text) in cases {
            assert_eq!(show(&event).text, text, "{}", event.kind);
        }
    }

    #[test]
    fn a_private_donation_is_shown_without_its_message() {
        let private = testing::donation("JaneDoe", "5.00", "USD", "for your eyes only", false);
        assert_eq!(show(&private).text, "JaneDoe donated 5.00 USD");
        let public = testing::donation("JaneDoe", "12", "EUR", "line\nbreak", true);
        assert_eq!(show(&public).text, "JaneDoe donated 12 EUR: line break");
    }

    #[test]
    fn a_payment_that_is_not_a_donation_says_what_it_was() {
        let mut e = testing::donation("Ann", "3.00", "USD", "", true);
        if let EventData::Donation(d) = &mut e.data {
            d.donation_type = "Subscription".into();
            d.tier_name = "Gold".into();
        }
        assert_eq!(show(&e).text, "Ann donated 3.00 USD (Subscription: Gold)");
        if let EventData::Donation(d) = &mut e.data {
            d.donation_type = "Shop Order".into();
            d.tier_name.clear();
        }
        assert_eq!(show(&e).text, "Ann donated 3.00 USD (Shop Order)");
        let nameless = testing::donation("", "1.00", "GBP", "", true);
        assert_eq!(show(&nameless).text, "Someone donated 1.00 GBP");
    }

    #[test]
    fn discord_events_with_partial_data_say_what_they_know() {
        let cases = [
            (
                testing::discord(kinds::DISCORD_GIVEAWAY_END, json!({"winnerId": "42"})),
                "Giveaway ended: 42 won",
            ),
            (
                testing::discord(kinds::DISCORD_GIVEAWAY_END, json!({"prize": "Mug"})),
                "The giveaway for Mug ended",
            ),
            (
                testing::discord(kinds::DISCORD_TICKET_CLOSE, json!({"username": "Mod"})),
                "Mod closed a ticket",
            ),
            (
                testing::discord(kinds::DISCORD_TICKET_CREATE, json!({})),
                "Someone opened a ticket",
            ),
            (
                testing::discord(kinds::DISCORD_GIVEAWAY_ENTRY, json!({"username": "Zed"})),
                "Zed entered a giveaway",
            ),
        ];
        for (event, text) in cases {
            assert_eq!(show(&event).text, text, "{}", event.kind);
        }
        // A Discord kind newer than this plugin still says something.
        let newer = testing::discord("discord.role.add", json!({"username": "Zed"}));
        assert_eq!(show(&newer).text, "Discord role add (Zed)");
    }

    #[test]
    fn unknown_kinds_get_a_generic_display() {
        let d = show(&testing::other("channel.hype_train.begin", json!({})));
        assert_eq!(
            (d.label.as_str(), d.icon.as_str(), d.text.as_str()),
            ("Hype train begin", "❔", "Hype train begin")
        );
        let named = testing::other("channel.shoutout.create", json!({"username": "Bob"}));
        assert_eq!(show(&named).text, "Shoutout create (Bob)");
        assert_eq!(show(&testing::other("", json!({}))).label, "Event");
        assert_eq!(show(&testing::other("...", json!({}))).label, "Event");
    }

    #[test]
    fn unknown_kinds_name_their_viewer() {
        // The host sets the viewer of an unmodelled EventSub kind from its
        // `user_*` fields; the generic line names them.
        let e = testing::event(
            "channel.shoutout.receive",
            Some(testing::viewer("5", "Carol")),
            EventData::Other(json!({"viewer_count": 7}).to_string()),
        );
        assert_eq!(show(&e).text, "Shoutout receive (Carol)");
        // A blank `username` does not hide the viewer.
        let mut e = testing::other("channel.goal.begin", json!({"username": " "}));
        e.viewer = Some(testing::viewer("5", "Carol"));
        assert_eq!(show(&e).text, "Goal begin (Carol)");
    }

    #[test]
    fn data_that_does_not_fit_its_kind_is_not_guessed_at() {
        // A stored event whose fields did not fit its kind arrives as
        // `Other`: it gets the generic display, not fields picked by name.
        let e = testing::other(kinds::CHEER, json!({"user_name": "Bob", "bits": "lots"}));
        let d = show(&e);
        assert_eq!((d.label.as_str(), d.icon.as_str()), ("Cheer", "❔"));
        assert_eq!(d.text, "Cheer");
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
        let sub = |tier| {
            let data = EventData::Subscribe(Subscribe {
                tier,
                is_gift: false,
            });
            show(&testing::event(kinds::SUBSCRIBE, None, data)).text
        };
        assert_eq!(sub(1000), "Someone subscribed (Tier 1)");
        assert_eq!(sub(2000), "Someone subscribed (Tier 2)");
        assert_eq!(sub(3000), "Someone subscribed (Tier 3)");
        assert_eq!(sub(1500), "Someone subscribed (1500)");
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
    fn it_asks_for_every_kind_and_only_formats() {
        let info = EventFormatter::describe();
        assert_eq!(info.kinds, vec![kinds::ALL]);
        // No roles named: the host calls the roles implemented, and
        // `Formatter` is the only one.
        assert!(info.roles.is_empty());
    }
}
