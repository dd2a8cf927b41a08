//! Posts channel events to Discord through a webhook: "**JaneDoe** just
//! followed!", "🟢 The stream is live!".
//!
//! The streamer pastes the webhook URL into `plugin.toml`'s settings and
//! picks the events (a sensible default list otherwise) and, if they like,
//! the text per kind. Posts never ping anyone (`allowed_mentions` is empty)
//! and names from chat cannot break Discord's formatting. Gifted subs are
//! left out: the gift event already announces them.

use std::collections::BTreeMap;

use stagehand_plugin_sdk::prelude::*;
use stagehand_plugin_sdk::serde_json::{Value, json};
use stagehand_plugin_sdk::text::{render, tier_name};

/// The plugin: its settings, checked once when it is built, decide every
/// post; nothing else is kept between events.
pub struct DiscordWebhook {
    webhook_url: String,
    /// The name posts appear under (None: the webhook's own).
    username: Option<String>,
    avatar_url: Option<String>,
    /// Kinds to post.
    events: Vec<String>,
    /// Kind → template text, overriding [`default_template`].
    templates: BTreeMap<String, String>,
}

impl Plugin for DiscordWebhook {
    /// Checks the settings; every error says which setting and how to fix it.
    fn new(settings: Settings) -> Result<Self, String> {
        let table = settings.as_map();
        const KNOWN: [&str; 5] = [
            "webhook_url",
            "username",
            "avatar_url",
            "events",
            "templates",
        ];
        if let Some(other) = table.keys().find(|k| !KNOWN.contains(&k.as_str())) {
            return Err(format!(
                "unknown setting `{other}` (known: {})",
                KNOWN.join(", ")
            ));
        }
        let webhook_url = webhook_url(table.get("webhook_url"))?;
        let username = match table.get("username") {
            None => None,
            Some(Value::String(name)) if (1..=80).contains(&name.trim().chars().count()) => {
                Some(name.trim().to_owned())
            }
            Some(_) => return Err("username must be text of 1 to 80 characters".into()),
        };
        let avatar_url = match table.get("avatar_url") {
            None => None,
            Some(Value::String(url)) if url.starts_with("https://") => Some(url.clone()),
            Some(_) => return Err("avatar_url must be an https:// URL".into()),
        };
        let events = match table.get("events") {
            None => DEFAULT_EVENTS.iter().map(|k| k.to_string()).collect(),
            Some(Value::Array(list)) => list
                .iter()
                .map(|k| match k.as_str() {
                    Some(kind) if !kind.trim().is_empty() => Ok(kind.trim().to_owned()),
                    _ => Err(format!(
                        "events must be a list of event kinds like \"channel.follow\", not {k}"
                    )),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err("events must be a list like [\"channel.follow\"]".into()),
        };
        let templates = match table.get("templates") {
            None => BTreeMap::new(),
            Some(Value::Object(map)) => map
                .iter()
                .map(|(kind, text)| match text {
                    Value::String(text) => Ok((kind.clone(), text.clone())),
                    _ => Err(format!("templates.\"{kind}\" must be text")),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err("templates must be a table of kind = \"text\"".into()),
        };
        let plugin = DiscordWebhook {
            webhook_url,
            username,
            avatar_url,
            events,
            templates,
        };
        for kind in plugin.unused_templates() {
            host::warn(&format!(
                "templates.\"{kind}\" is not used: {kind} is not in `events`"
            ));
        }
        Ok(plugin)
    }

    /// Every kind: which ones are posted is a setting, read after this.
    fn describe() -> Info {
        Info::new().kinds([kinds::ALL])
    }
}

impl Actions for DiscordWebhook {
    /// One webhook call for an event to post, none otherwise.
    fn on_event(&mut self, event: &Event) -> Result<Vec<Action>, String> {
        Ok(self.post(event).map(Action::Webhook).into_iter().collect())
    }
}

stagehand_plugin_sdk::export!(DiscordWebhook);

/// The events posted when settings name none: what a community channel
/// wants to hear about, not every chat line.
pub const DEFAULT_EVENTS: [&str; 7] = [
    kinds::FOLLOW,
    kinds::SUBSCRIBE,
    kinds::RESUB,
    kinds::GIFT,
    kinds::CHEER,
    kinds::RAID,
    kinds::STREAM_ONLINE,
];

/// Discord refuses longer messages.
pub const MAX_CONTENT_CHARS: usize = 2000;

/// The webhook URL prefixes Discord hands out; the manifest's `webhooks`
/// permission names exactly these hosts.
const URL_PREFIXES: [&str; 2] = [
    "https://discord.com/api/webhooks/",
    "https://discordapp.com/api/webhooks/",
];

impl DiscordWebhook {
    /// Template kinds that no listed event uses: probably a mistake.
    fn unused_templates(&self) -> Vec<&str> {
        self.templates
            .keys()
            .filter(|k| !self.events.contains(k))
            .map(String::as_str)
            .collect()
    }

    /// The webhook call for `event`, if it is one to post.
    fn post(&self, event: &Event) -> Option<WebhookRequest> {
        if !self.events.contains(&event.kind) || is_gifted_sub(event) {
            return None;
        }
        let template = self
            .templates
            .get(&event.kind)
            .map(String::as_str)
            .unwrap_or_else(|| default_template(&event.kind));
        let content = limit(&tidy(&render(template, |name| {
            variable(event, name).map(|v| escape(&v))
        })));
        if content.is_empty() {
            return None;
        }
        Some(WebhookRequest {
            url: self.webhook_url.clone(),
            body: self.body(content).to_string(),
        })
    }

    /// Discord's execute-webhook JSON: the text, who posts it, and no pings.
    fn body(&self, content: String) -> Value {
        let mut body = json!({
            "content": content,
            "allowed_mentions": {"parse": []},
        });
        if let Some(name) = &self.username {
            body["username"] = json!(name);
        }
        if let Some(url) = &self.avatar_url {
            body["avatar_url"] = json!(url);
        }
        body
    }
}

/// The required `webhook_url`: a Discord webhook, `…/api/webhooks/<id>/<token>`.
fn webhook_url(value: Option<&Value>) -> Result<String, String> {
    const HOW: &str = "paste your Discord webhook URL (Server Settings → Integrations → \
                       Webhooks → Copy Webhook URL) into webhook_url in [settings] of plugin.toml";
    let url = match value {
        None => return Err(format!("webhook_url is missing: {HOW}")),
        Some(Value::String(url)) if url.trim().is_empty() => {
            return Err(format!("webhook_url is empty: {HOW}"));
        }
        Some(Value::String(url)) => url.trim().to_owned(),
        Some(_) => return Err(format!("webhook_url must be text: {HOW}")),
    };
    let rest = URL_PREFIXES
        .iter()
        .find_map(|prefix| url.strip_prefix(prefix))
        .ok_or_else(|| {
            format!("webhook_url must start with https://discord.com/api/webhooks/ (or https://discordapp.com/api/webhooks/), not \"{url}\"")
        })?;
    let path = rest.split('?').next().unwrap_or_default();
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let well_formed = matches!(parts.as_slice(), [id, token]
        if !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()) && !token.is_empty())
        && !url.chars().any(char::is_whitespace);
    if well_formed {
        Ok(url)
    } else {
        Err(format!(
            "webhook_url \"{url}\" is not a whole webhook URL (…/api/webhooks/<id>/<token>): copy it again from Discord"
        ))
    }
}

/// The text of a kind when settings give none, so listing a kind in
/// `events` is enough to get a readable post.
pub fn default_template(kind: &str) -> &'static str {
    match kind {
        kinds::FOLLOW => "👥 **{username}** just followed!",
        kinds::SUBSCRIBE => "⭐ **{username}** subscribed with {tier_name}!",
        kinds::RESUB => "🔁 **{username}** resubscribed for {cumulative_months} months! {message}",
        kinds::GIFT => "🎁 **{username}** gifted {total} {tier_name} subs to the community!",
        kinds::CHEER => "🎉 **{username}** cheered {bits} bits! {message}",
        kinds::RAID => "🚀 **{username}** is raiding with {viewers} viewers!",
        kinds::STREAM_ONLINE => "🟢 The stream is live!",
        kinds::STREAM_OFFLINE => "⚫ The stream is over. Thanks for watching!",
        kinds::REDEMPTION => "🎯 **{username}** redeemed {reward.title}",
        kinds::CLIP_CREATED => "🎬 **{creator_username}** clipped {clip_title}: {clip_url}",
        _ => "📣 {kind}: **{username}**",
    }
}

/// A sub that is part of a gift: the gift event already announces it, so
/// posting both would double every gift.
pub fn is_gifted_sub(event: &Event) -> bool {
    matches!(&event.data, EventData::Subscribe(sub) if sub.is_gift)
}

/// A template variable of `event`: its fields by JSON name (see
/// `Event::field`: `{username}`, `{bits}`, `{reward.title}`, `{kind}`, ...)
/// plus `{tier_name}`, the tier as people say it ("Tier 1").
fn variable(event: &Event, name: &str) -> Option<String> {
    match name {
        "tier_name" => event.field("tier").map(|t| tier_name(&t)),
        _ => event.field(name),
    }
}

/// A value made safe for Discord: one line, markdown and mention characters
/// escaped, so "__init__" stays a name and "<@123>" stays text. A bare URL
/// is left whole so it still links.
pub fn escape(value: &str) -> String {
    let one_line: String = value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let is_url = (one_line.starts_with("https://") || one_line.starts_with("http://"))
        && !one_line.contains(char::is_whitespace);
    if is_url {
        return one_line;
    }
    let mut out = String::with_capacity(one_line.len());
    for c in one_line.chars() {
        if matches!(
            c,
            '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '<' | '#' | '[' | ']' | '@'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Runs of spaces left by empty variables become one; ends are trimmed.
fn tidy(text: &str) -> String {
    text.lines()
        .map(|line| {
            line.split(' ')
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}

/// At most [`MAX_CONTENT_CHARS`] characters, ending in "…" when cut, so
/// Discord takes a long message instead of refusing it.
pub fn limit(text: &str) -> String {
    if text.chars().count() <= MAX_CONTENT_CHARS {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(MAX_CONTENT_CHARS - 1).collect();
    // Do not leave a dangling escape backslash before the ellipsis.
    if cut.ends_with('\\') && !cut.ends_with("\\\\") {
        cut.pop();
    }
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use stagehand_plugin_sdk::serde_json;
    use stagehand_plugin_sdk::testing;
    use stagehand_plugin_sdk::{Ban, Gift, StreamOffline, StreamOnline, Subscribe};

    const URL: &str = "https://discord.com/api/webhooks/123456789012345678/abcDEF-ghi_JKL";

    /// What the host's `configure` does with the settings text.
    fn configure(settings: &str) -> Result<DiscordWebhook, String> {
        DiscordWebhook::new(Settings::parse(settings)?)
    }

    /// The refusal of `settings`.
    fn refusal(settings: &Value) -> String {
        match configure(&settings.to_string()) {
            Ok(_) => panic!("{settings} was accepted"),
            Err(e) => e,
        }
    }

    /// A plugin built from `settings` on a clean fake host.
    fn plugin(settings: Value) -> DiscordWebhook {
        testing::reset();
        configure(&settings.to_string()).expect("settings load")
    }

    /// The webhook calls made for one event.
    fn posts(p: &mut DiscordWebhook, event: &Event) -> Vec<(String, Value)> {
        p.on_event(event)
            .expect("no error")
            .into_iter()
            .map(|a| match a {
                Action::Webhook(w) => (w.url, serde_json::from_str(&w.body).expect("JSON body")),
                other => panic!("unexpected action {other:?}"),
            })
            .collect()
    }

    /// The text of the one post made for `event`.
    fn content(p: &mut DiscordWebhook, event: &Event) -> String {
        let list = posts(p, event);
        assert_eq!(list.len(), 1, "one post for {}", event.kind);
        list[0].1["content"].as_str().expect("content").to_owned()
    }

    fn online(name: &str) -> Event {
        let data = EventData::StreamOnline(StreamOnline {
            broadcaster_name: name.into(),
            stream_type: "live".into(),
            started_at_ms: None,
        });
        testing::event(kinds::STREAM_ONLINE, None, data)
    }

    fn sub(name: &str, tier: u32, is_gift: bool) -> Event {
        let data = EventData::Subscribe(Subscribe { tier, is_gift });
        testing::event(kinds::SUBSCRIBE, Some(testing::viewer("7", name)), data)
    }

    #[test]
    fn default_events_are_posted_with_readable_text() {
        let mut p = plugin(json!({"webhook_url": URL}));
        let cases = [
            (testing::follow("JaneDoe"), "👥 **JaneDoe** just followed!"),
            (
                testing::subscribe("Bob", 1000),
                "⭐ **Bob** subscribed with Tier 1!",
            ),
            (
                sub("Carol", 3000, false),
                "⭐ **Carol** subscribed with Tier 3!",
            ),
            (
                testing::resub("Bob", 12, "still here"),
                "🔁 **Bob** resubscribed for 12 months! still here",
            ),
            (
                testing::gift(Some("Alice"), 5),
                "🎁 **Alice** gifted 5 Tier 1 subs to the community!",
            ),
            (
                testing::cheer("Bob", 100, ""),
                "🎉 **Bob** cheered 100 bits!",
            ),
            (
                testing::raid("Raider", 42),
                "🚀 **Raider** is raiding with 42 viewers!",
            ),
            (online("Streamer"), "🟢 The stream is live!"),
        ];
        for (event, expected) in cases {
            assert_eq!(content(&mut p, &event), expected, "{}", event.kind);
        }
    }

    #[test]
    fn the_body_is_discord_json_that_pings_nobody() {
        let mut p = plugin(
            json!({"webhook_url": URL, "username": "Stagehand", "avatar_url": "https://example.com/a.png"}),
        );
        let list = posts(&mut p, &testing::follow("JaneDoe"));
        let (url, body) = &list[0];
        assert_eq!(url, URL);
        assert_eq!(body["username"], "Stagehand");
        assert_eq!(body["avatar_url"], "https://example.com/a.png");
        assert_eq!(body["allowed_mentions"], json!({"parse": []}));

        let mut p = plugin(json!({"webhook_url": URL}));
        let (_, body) = &posts(&mut p, &testing::follow("JaneDoe"))[0];
        assert!(body.get("username").is_none());
        assert!(body.get("avatar_url").is_none());
        assert_eq!(body["allowed_mentions"], json!({"parse": []}));
    }

    #[test]
    fn gifted_subs_are_left_to_the_gift_event() {
        let mut p = plugin(json!({"webhook_url": URL}));
        assert!(posts(&mut p, &sub("lucky", 1000, true)).is_empty());
        assert_eq!(posts(&mut p, &sub("Bob", 1000, false)).len(), 1);
        let data = EventData::Gift(Gift {
            tier: 2000,
            total: 3,
            anonymous: true,
        });
        let gift = testing::event(kinds::GIFT, None, data);
        assert_eq!(
            content(&mut p, &gift),
            "🎁 **An anonymous gifter** gifted 3 Tier 2 subs to the community!"
        );
        // The typed flag decides; other kinds never count as gifted subs.
        assert!(is_gifted_sub(&sub("lucky", 1000, true)));
        assert!(!is_gifted_sub(&testing::gift(Some("Gus"), 1)));
        assert!(!is_gifted_sub(&testing::other(
            "custom.kind",
            json!({"is_gift": true})
        )));
    }

    #[test]
    fn names_come_from_the_typed_event() {
        let mut p = plugin(json!({"webhook_url": URL, "events": [
            kinds::RAID, kinds::CHEER, kinds::REDEMPTION, kinds::CLIP_CREATED,
            kinds::STREAM_OFFLINE,
        ]}));
        // The raider is the event's viewer.
        assert_eq!(
            content(&mut p, &testing::raid("BigChannel", 7)),
            "🚀 **BigChannel** is raiding with 7 viewers!"
        );
        assert_eq!(
            content(&mut p, &testing::cheer("", 50, "gg")),
            "🎉 **Anonymous** cheered 50 bits! gg"
        );
        assert_eq!(
            content(
                &mut p,
                &testing::redemption("Ann", "Hydrate", 100, "water pls")
            ),
            "🎯 **Ann** redeemed Hydrate"
        );
        let clip = testing::event(
            kinds::CLIP_CREATED,
            None,
            EventData::Clip(stagehand_plugin_sdk::Clip {
                title: "Big_play".into(),
                url: "https://clips.twitch.tv/Some_Clip-abc".into(),
                creator_name: "Editor".into(),
                view_count: 3,
            }),
        );
        assert_eq!(
            content(&mut p, &clip),
            "🎬 **Editor** clipped Big\\_play: https://clips.twitch.tv/Some_Clip-abc"
        );
        let offline = testing::event(
            kinds::STREAM_OFFLINE,
            None,
            EventData::StreamOffline(StreamOffline {
                broadcaster_name: "Streamer".into(),
            }),
        );
        assert_eq!(
            content(&mut p, &offline),
            "⚫ The stream is over. Thanks for watching!"
        );
    }

    #[test]
    fn only_listed_events_are_posted() {
        let ban = testing::event(
            kinds::BAN,
            Some(testing::viewer("9", "troll")),
            EventData::Ban(Ban {
                permanent: true,
                duration_seconds: None,
                expires_at_ms: None,
                reason: None,
                moderator_name: None,
                moderator_id: None,
            }),
        );
        let offline = testing::event(
            kinds::STREAM_OFFLINE,
            None,
            EventData::StreamOffline(StreamOffline {
                broadcaster_name: "x".into(),
            }),
        );
        let unfollow = testing::event(
            kinds::UNFOLLOW,
            Some(testing::viewer("9", "x")),
            EventData::Unfollow,
        );
        let mut p = plugin(json!({"webhook_url": URL}));
        for event in [&ban, &testing::chat("x", "hi", &[]), &offline, &unfollow] {
            assert!(posts(&mut p, event).is_empty(), "{}", event.kind);
        }
        let mut p = plugin(json!({"webhook_url": URL, "events": ["stream.online", "channel.ban"]}));
        assert!(posts(&mut p, &testing::follow("x")).is_empty());
        assert_eq!(content(&mut p, &online("x")), "🟢 The stream is live!");
        assert_eq!(content(&mut p, &ban), "📣 channel.ban: **troll**");
        let mut p = plugin(json!({"webhook_url": URL, "events": []}));
        assert!(posts(&mut p, &online("x")).is_empty());
    }

    #[test]
    fn templates_replace_the_text_per_kind() {
        let mut p = plugin(json!({"webhook_url": URL, "templates": {
            "stream.online": "🟢 {username} is live ({type})! https://twitch.tv/streamer",
            "channel.cheer": "{username} sent {bits} bits {{wow}} {nothing}",
            "channel.follow": "{missing}|{{x}}|{ x }|{",
            "channel.subscription.gift": "{total}x {tier} = {tier_name}",
        }}));
        assert_eq!(
            content(&mut p, &online("Streamer")),
            "🟢 Streamer is live (live)! https://twitch.tv/streamer"
        );
        assert_eq!(
            content(&mut p, &testing::cheer("Bob", 5, "")),
            "Bob sent 5 bits {wow}"
        );
        assert_eq!(content(&mut p, &testing::follow("x")), "|{x}|{ x }|{");
        assert_eq!(
            content(&mut p, &testing::gift(Some("G"), 2)),
            "2x 1000 = Tier 1"
        );
    }

    #[test]
    fn unmodelled_kinds_use_their_json_fields() {
        let mut p = plugin(json!({"webhook_url": URL,
            "events": ["channel.hype_train.begin"],
            "templates": {"channel.hype_train.begin": "🚂 Hype train level {level} by {top.0.user}!"},
        }));
        let event = testing::other(
            "channel.hype_train.begin",
            json!({"level": 3, "top": [{"user": "big_fan"}]}),
        );
        assert_eq!(
            content(&mut p, &event),
            "🚂 Hype train level 3 by big\\_fan!"
        );
    }

    #[test]
    fn names_and_messages_cannot_format_or_ping() {
        let mut p = plugin(json!({"webhook_url": URL}));
        let text = content(&mut p, &testing::follow("__cool_guy__"));
        assert_eq!(text, "👥 **\\_\\_cool\\_guy\\_\\_** just followed!");
        let text = content(
            &mut p,
            &testing::resub("Bob", 2, "@everyone <@123> **bold**\nline"),
        );
        assert!(
            text.ends_with("\\@everyone \\<\\@123\\> \\*\\*bold\\*\\* line"),
            "{text}"
        );
        assert_eq!(
            escape("https://clips.twitch.tv/Some_Clip-abc"),
            "https://clips.twitch.tv/Some_Clip-abc"
        );
        assert_eq!(escape("look https://x.y/_a_"), "look https://x.y/\\_a\\_");
        assert_eq!(escape("a\\b"), "a\\\\b");
    }

    #[test]
    fn long_posts_are_cut_to_discords_limit() {
        let mut p = plugin(json!({"webhook_url": URL}));
        let long = "a".repeat(5000);
        let text = content(&mut p, &testing::cheer("Bob", 1, &long));
        assert_eq!(text.chars().count(), MAX_CONTENT_CHARS);
        assert!(text.ends_with('…'));
        assert_eq!(limit("short"), "short");
        let escapes = "\\_".repeat(1500);
        let cut = limit(&escapes);
        assert!(
            cut.chars().count() <= MAX_CONTENT_CHARS && !cut.trim_end_matches('…').ends_with("_\\")
        );
    }

    #[test]
    fn an_empty_post_is_not_sent() {
        let mut p =
            plugin(json!({"webhook_url": URL, "templates": {"channel.follow": "{nothing}  "}}));
        assert!(posts(&mut p, &testing::follow("x")).is_empty());
    }

    #[test]
    fn odd_events_never_panic() {
        let kinds: Vec<&str> = DEFAULT_EVENTS.into_iter().chain(["custom.kind"]).collect();
        let mut p = plugin(json!({"webhook_url": URL, "events": kinds}));
        for kind in kinds {
            for data in [
                "{}",
                "null",
                "not json",
                "[1]",
                r#"{"username": {}, "bits": [], "total": null}"#,
            ] {
                let e = testing::event(kind, None, EventData::Other(data.into()));
                let actions = p.on_event(&e).expect("no error");
                assert_eq!(actions.len(), 1, "{kind} {data}");
            }
        }
        assert_eq!(
            content(&mut p, &testing::follow(" ")),
            "👥 **Someone** just followed!"
        );
        assert_eq!(
            content(&mut p, &testing::other(kinds::GIFT, json!({}))),
            "🎁 **Someone** gifted subs to the community!"
        );
    }

    #[test]
    fn the_webhook_url_must_be_a_discord_webhook() {
        let bad = [
            (json!({}), "webhook_url is missing"),
            (json!({"webhook_url": ""}), "webhook_url is empty"),
            (json!({"webhook_url": 5}), "webhook_url must be text"),
            (
                json!({"webhook_url": "http://discord.com/api/webhooks/1/x"}),
                "must start with https://discord.com",
            ),
            (
                json!({"webhook_url": "https://evil.example/api/webhooks/1/x"}),
                "must start with",
            ),
            (
                json!({"webhook_url": "https://discord.com.evil.example/api/webhooks/1/x"}),
                "must start with",
            ),
            (
                json!({"webhook_url": "https://discord.com/api/webhooks/"}),
                "not a whole webhook URL",
            ),
            (
                json!({"webhook_url": "https://discord.com/api/webhooks/123"}),
                "not a whole webhook URL",
            ),
            (
                json!({"webhook_url": "https://discord.com/api/webhooks/abc/token"}),
                "not a whole webhook URL",
            ),
            (
                json!({"webhook_url": "https://discord.com/api/webhooks/1/tok en"}),
                "not a whole webhook URL",
            ),
            (
                json!({"webhook_url": "https://discord.com/api/webhooks/1/t/extra"}),
                "not a whole webhook URL",
            ),
        ];
        for (settings, expected) in bad {
            let err = refusal(&settings);
            assert!(err.contains(expected), "{settings}: {err}");
        }
        assert!(refusal(&json!({})).contains("paste your Discord webhook URL"));
        for good in [
            URL,
            "https://discordapp.com/api/webhooks/1/token",
            "https://discord.com/api/webhooks/1/token?thread_id=99",
            " https://discord.com/api/webhooks/1/token/ ",
        ] {
            let p = plugin(json!({"webhook_url": good}));
            assert_eq!(p.webhook_url, good.trim());
        }
    }

    #[test]
    fn other_bad_settings_say_what_to_fix() {
        let bad = [
            (json!([]), "settings must be a JSON object"),
            (
                json!({"webhook_url": URL, "webhook": URL}),
                "unknown setting `webhook`",
            ),
            (
                json!({"webhook_url": URL, "username": ""}),
                "username must be text of 1 to 80",
            ),
            (
                json!({"webhook_url": URL, "username": "x".repeat(81)}),
                "username must be text of 1 to 80",
            ),
            (
                json!({"webhook_url": URL, "avatar_url": "ftp://x"}),
                "avatar_url must be an https",
            ),
            (
                json!({"webhook_url": URL, "events": "channel.follow"}),
                "events must be a list",
            ),
            (
                json!({"webhook_url": URL, "events": [5]}),
                "events must be a list of event kinds",
            ),
            (
                json!({"webhook_url": URL, "templates": []}),
                "templates must be a table",
            ),
            (
                json!({"webhook_url": URL, "templates": {"channel.follow": 5}}),
                "templates.\"channel.follow\" must be text",
            ),
        ];
        for (settings, expected) in bad {
            let err = refusal(&settings);
            assert!(err.contains(expected), "{settings}: {err}");
        }
        let err = configure("{oops").err().expect("not JSON is refused");
        assert!(err.contains("not valid JSON"), "{err}");
    }

    #[test]
    fn a_template_for_an_unlisted_event_is_warned_about() {
        plugin(
            json!({"webhook_url": URL, "events": ["stream.online"], "templates": {"channel.follow": "x"}}),
        );
        let logs = testing::logs();
        assert_eq!(logs.len(), 1);
        assert_eq!(logs[0].0, Level::Warn);
        assert!(logs[0].1.contains("channel.follow"));
    }

    #[test]
    fn it_asks_for_every_kind() {
        let info = DiscordWebhook::describe();
        assert_eq!(info.kinds, vec![kinds::ALL]);
        // Left empty, the SDK fills in the roles implemented: Actions.
        assert!(info.roles.is_empty());
    }
}

#[cfg(test)]
mod manifest_tests {
    //! plugin.toml must have the shape the host parses, match the crate,
    //! allow exactly Discord's hosts, and make the streamer paste a URL.

    use super::*;
    use stagehand_plugin_sdk::serde_json;
    use stagehand_plugin_sdk::testing;

    const MANIFEST: &str = include_str!("../plugin.toml");

    fn manifest() -> toml::Table {
        toml::from_str(MANIFEST).expect("plugin.toml is TOML")
    }

    #[test]
    fn the_manifest_matches_the_crate_and_allows_only_discord() {
        let m = manifest();
        assert_eq!(m["name"].as_str(), Some(env!("CARGO_PKG_NAME")));
        assert_eq!(m["version"].as_str(), Some(env!("CARGO_PKG_VERSION")));
        let hosts: Vec<&str> = m["permissions"]["webhooks"]
            .as_array()
            .expect("webhooks list")
            .iter()
            .filter_map(|h| h.as_str())
            .collect();
        let prefixes_hosts: Vec<&str> = URL_PREFIXES
            .iter()
            .map(|p| p["https://".len()..].split('/').next().unwrap())
            .collect();
        assert_eq!(hosts, prefixes_hosts);
    }

    #[test]
    fn the_shipped_settings_ask_for_the_url_and_load_once_it_is_pasted() {
        let settings = manifest()["settings"].clone();
        let mut settings: Value = serde_json::to_value(settings).expect("settings are JSON");
        testing::reset();
        let err = match DiscordWebhook::new(Settings::parse(&settings.to_string()).unwrap()) {
            Ok(_) => panic!("loaded without a URL"),
            Err(e) => e,
        };
        assert!(err.contains("paste your Discord webhook URL"), "{err}");
        settings["webhook_url"] = json!("https://discord.com/api/webhooks/1/token");
        DiscordWebhook::new(Settings::parse(&settings.to_string()).unwrap())
            .map(drop)
            .expect("loads once pasted");
    }
}
