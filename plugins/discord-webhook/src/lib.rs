//! Posts channel events to Discord through a webhook: "**JaneDoe** just
//! followed!", "🟢 The stream is live!".
//!
//! The streamer pastes the webhook URL into `plugin.toml`'s settings and
//! picks the events (a sensible default list otherwise) and, if they like,
//! the text per kind. Posts never ping anyone (`allowed_mentions` is empty)
//! and names from chat cannot break Discord's formatting. Gifted subs are
//! left out: the gift event already announces them.

use std::cell::RefCell;
use std::rc::Rc;

use stagehand_plugin_sdk::prelude::*;
use stagehand_plugin_sdk::serde_json::{self, Map, Value, json};
use stagehand_plugin_sdk::text::{lookup, message, render, tier_name, who};

/// The plugin.
pub struct DiscordWebhook;

thread_local! {
    /// The settings parsed by `init`, kept for every event of this instance.
    static CONFIG: RefCell<Option<Rc<Config>>> = const { RefCell::new(None) };
}

impl Plugin for DiscordWebhook {
    fn describe() -> Info {
        Info::new("discord-webhook", env!("CARGO_PKG_VERSION"))
            .kinds(["*"])
            .roles([Role::Actions])
    }

    fn init(settings: String) -> Result<(), String> {
        let value = if settings.trim().is_empty() {
            Value::Object(Map::new())
        } else {
            serde_json::from_str(&settings).map_err(|e| format!("settings are not JSON: {e}"))?
        };
        let config = Config::parse(&value)?;
        for kind in config.unused_templates() {
            host::warn(&format!(
                "templates.\"{kind}\" is not used: {kind} is not in `events`"
            ));
        }
        CONFIG.with(|c| *c.borrow_mut() = Some(Rc::new(config)));
        Ok(())
    }

    fn on_event(event: Event) -> Result<Vec<Action>, String> {
        let config = config()?;
        Ok(config
            .post(&event)
            .map(Action::Webhook)
            .into_iter()
            .collect())
    }
}

stagehand_plugin_sdk::export!(DiscordWebhook);

/// The events posted when settings name none: what a community channel
/// wants to hear about, not every chat line.
pub const DEFAULT_EVENTS: [&str; 7] = [
    "channel.follow",
    "channel.subscribe",
    "channel.subscription.message",
    "channel.subscription.gift",
    "channel.cheer",
    "channel.raid",
    "stream.online",
];

/// Discord refuses longer messages.
pub const MAX_CONTENT_CHARS: usize = 2000;

/// The webhook URL prefixes Discord hands out; the manifest's `webhooks`
/// permission names exactly these hosts.
const URL_PREFIXES: [&str; 2] = [
    "https://discord.com/api/webhooks/",
    "https://discordapp.com/api/webhooks/",
];

/// Parsed settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    webhook_url: String,
    /// The name posts appear under (None: the webhook's own).
    username: Option<String>,
    avatar_url: Option<String>,
    /// Kinds to post.
    events: Vec<String>,
    /// Kind → template text, overriding [`default_template`].
    templates: Map<String, Value>,
}

impl Config {
    /// Checks the settings; every error says which setting and how to fix it.
    pub fn parse(settings: &Value) -> Result<Config, String> {
        let Some(table) = settings.as_object() else {
            return Err("settings must be a table".into());
        };
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
            None => Map::new(),
            Some(Value::Object(map)) => {
                if let Some((kind, _)) = map.iter().find(|(_, t)| !t.is_string()) {
                    return Err(format!("templates.\"{kind}\" must be text"));
                }
                map.clone()
            }
            Some(_) => return Err("templates must be a table of kind = \"text\"".into()),
        };
        Ok(Config {
            webhook_url,
            username,
            avatar_url,
            events,
            templates,
        })
    }

    /// Template kinds that no listed event uses: probably a mistake.
    pub fn unused_templates(&self) -> Vec<String> {
        self.templates
            .keys()
            .filter(|k| !self.events.contains(k))
            .cloned()
            .collect()
    }

    /// The webhook call for `event`, if it is one to post.
    pub fn post(&self, event: &Event) -> Option<WebhookRequest> {
        if !self.events.contains(&event.kind) || is_gifted_sub(event) {
            return None;
        }
        let template = self
            .templates
            .get(&event.kind)
            .and_then(Value::as_str)
            .unwrap_or_else(|| default_template(&event.kind));
        let vars = Vars::new(event);
        let content = limit(&tidy(&render(template, |name| {
            vars.get(name).map(|v| escape(&v))
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

/// The text of a kind when settings give none.
pub fn default_template(kind: &str) -> &'static str {
    match kind {
        "channel.follow" => "👥 **{username}** just followed!",
        "channel.subscribe" => "⭐ **{username}** subscribed with {tier_name}!",
        "channel.subscription.message" => {
            "🔁 **{username}** resubscribed for {cumulative_months} months! {message}"
        }
        "channel.subscription.gift" => {
            "🎁 **{username}** gifted {total} {tier_name} subs to the community!"
        }
        "channel.cheer" => "🎉 **{username}** cheered {bits} bits! {message}",
        "channel.raid" => "🚀 **{username}** is raiding with {viewers} viewers!",
        "stream.online" => "🟢 The stream is live!",
        "stream.offline" => "⚫ The stream is over. Thanks for watching!",
        "channel.channel_points_custom_reward_redemption.add" => {
            "🎯 **{username}** redeemed {reward.title}"
        }
        "channel.clip.created" => "🎬 **{creator_username}** clipped {clip_title}: {clip_url}",
        _ => "📣 {kind}: **{username}**",
    }
}

/// A `channel.subscribe` that is part of a gift: the gift event covers it.
pub fn is_gifted_sub(event: &Event) -> bool {
    event.kind == "channel.subscribe"
        && match event.details_json().get("is_gift") {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s.trim().eq_ignore_ascii_case("true"),
            _ => false,
        }
}

/// The configuration `init` parsed, else the host's settings parsed once.
fn config() -> Result<Rc<Config>, String> {
    if let Some(config) = CONFIG.with(|c| c.borrow().clone()) {
        return Ok(config);
    }
    let config = Rc::new(Config::parse(&host::settings())?);
    CONFIG.with(|c| *c.borrow_mut() = Some(config.clone()));
    Ok(config)
}

/// The variables of one event: its details by dotted path, plus
/// `{username}` (anonymous gifts and cheers spelled out, the raider for
/// raids), `{tier_name}` ("Tier 1"), `{message}` (text even when EventSub
/// sends an object) and `{kind}`.
struct Vars {
    details: Value,
    username: String,
    kind: String,
}

impl Vars {
    fn new(event: &Event) -> Vars {
        let details = event.details_json();
        let username = who(event, &details);
        Vars {
            details,
            username,
            kind: event.kind.clone(),
        }
    }

    fn get(&self, name: &str) -> Option<String> {
        match name {
            "username" => Some(self.username.clone()),
            "kind" => Some(self.kind.clone()),
            "tier_name" => lookup(&self.details, "tier").map(|t| tier_name(&t)),
            "message" => message(&self.details),
            path => lookup(&self.details, path),
        }
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

/// At most [`MAX_CONTENT_CHARS`] characters, ending in "…" when cut.
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
    use stagehand_plugin_sdk::testing;

    const URL: &str = "https://discord.com/api/webhooks/123456789012345678/abcDEF-ghi_JKL";

    fn setup(settings: Value) {
        testing::reset();
        DiscordWebhook::init(settings.to_string()).expect("settings load");
    }

    /// The webhook bodies posted for one event.
    fn posts(kind: &str, details: Value) -> Vec<(String, Value)> {
        DiscordWebhook::on_event(testing::event(kind, details))
            .expect("no error")
            .into_iter()
            .map(|a| match a {
                Action::Webhook(w) => (w.url, serde_json::from_str(&w.body).expect("JSON body")),
                other => panic!("unexpected action {other:?}"),
            })
            .collect()
    }

    fn content(kind: &str, details: Value) -> String {
        let list = posts(kind, details);
        assert_eq!(list.len(), 1, "one post for {kind}");
        list[0].1["content"].as_str().expect("content").to_owned()
    }

    #[test]
    fn default_events_are_posted_with_readable_text() {
        setup(json!({"webhook_url": URL}));
        let cases = [
            (
                "channel.follow",
                json!({"username": "JaneDoe"}),
                "👥 **JaneDoe** just followed!",
            ),
            (
                "channel.subscribe",
                json!({"username": "Bob", "tier": "1000", "is_gift": false}),
                "⭐ **Bob** subscribed with Tier 1!",
            ),
            (
                "channel.subscription.message",
                json!({"username": "Bob", "tier": "1000", "cumulative_months": 12, "message": "still here"}),
                "🔁 **Bob** resubscribed for 12 months! still here",
            ),
            (
                "channel.subscription.gift",
                json!({"username": "Alice", "tier": "1000", "total": 5, "is_anonymous": false}),
                "🎁 **Alice** gifted 5 Tier 1 subs to the community!",
            ),
            (
                "channel.cheer",
                json!({"user_name": "Bob", "bits": 100, "message": ""}),
                "🎉 **Bob** cheered 100 bits!",
            ),
            (
                "channel.raid",
                json!({"from_broadcaster_user_name": "Raider", "viewers": 42}),
                "🚀 **Raider** is raiding with 42 viewers!",
            ),
            (
                "stream.online",
                json!({"type": "live"}),
                "🟢 The stream is live!",
            ),
        ];
        for (kind, details, expected) in cases {
            assert_eq!(content(kind, details), expected, "{kind}");
        }
    }

    #[test]
    fn the_body_is_discord_json_that_pings_nobody() {
        setup(
            json!({"webhook_url": URL, "username": "Stagehand", "avatar_url": "https://example.com/a.png"}),
        );
        let list = posts("channel.follow", json!({"username": "JaneDoe"}));
        let (url, body) = &list[0];
        assert_eq!(url, URL);
        assert_eq!(body["username"], "Stagehand");
        assert_eq!(body["avatar_url"], "https://example.com/a.png");
        assert_eq!(body["allowed_mentions"], json!({"parse": []}));

        setup(json!({"webhook_url": URL}));
        let (_, body) = &posts("channel.follow", json!({"username": "JaneDoe"}))[0];
        assert!(body.get("username").is_none());
        assert!(body.get("avatar_url").is_none());
        assert_eq!(body["allowed_mentions"], json!({"parse": []}));
    }

    #[test]
    fn gifted_subs_are_left_to_the_gift_event() {
        setup(json!({"webhook_url": URL}));
        assert!(
            posts(
                "channel.subscribe",
                json!({"username": "lucky", "is_gift": true})
            )
            .is_empty()
        );
        assert!(
            posts(
                "channel.subscribe",
                json!({"username": "lucky", "is_gift": "true"})
            )
            .is_empty()
        );
        assert_eq!(
            posts(
                "channel.subscribe",
                json!({"username": "Bob", "is_gift": false})
            )
            .len(),
            1
        );
        let gift = json!({"username": "", "tier": "2000", "total": 3, "is_anonymous": true});
        assert_eq!(
            content("channel.subscription.gift", gift),
            "🎁 **An anonymous gifter** gifted 3 Tier 2 subs to the community!"
        );
    }

    #[test]
    fn only_listed_events_are_posted() {
        setup(json!({"webhook_url": URL}));
        for kind in [
            "channel.ban",
            "channel.chat.message",
            "stream.offline",
            "channel.unfollow",
        ] {
            assert!(posts(kind, json!({"username": "x"})).is_empty(), "{kind}");
        }
        setup(json!({"webhook_url": URL, "events": ["stream.online", "channel.ban"]}));
        assert!(posts("channel.follow", json!({"username": "x"})).is_empty());
        assert_eq!(
            content("stream.online", json!({})),
            "🟢 The stream is live!"
        );
        assert_eq!(
            content("channel.ban", json!({"username": "troll"})),
            "📣 channel.ban: **troll**"
        );
        setup(json!({"webhook_url": URL, "events": []}));
        assert!(posts("stream.online", json!({})).is_empty());
    }

    #[test]
    fn templates_replace_the_text_per_kind() {
        setup(json!({"webhook_url": URL, "templates": {
            "stream.online": "🟢 {broadcaster_user_name} is live! https://twitch.tv/{broadcaster_user_login}",
            "channel.cheer": "{username} sent {bits} bits {{wow}} {nothing}",
        }}));
        assert_eq!(
            content(
                "stream.online",
                json!({"broadcaster_user_name": "Streamer", "broadcaster_user_login": "streamer"})
            ),
            "🟢 Streamer is live! https://twitch.tv/streamer"
        );
        assert_eq!(
            content("channel.cheer", json!({"username": "Bob", "bits": 5})),
            "Bob sent 5 bits {wow}"
        );
    }

    #[test]
    fn names_and_messages_cannot_format_or_ping() {
        setup(json!({"webhook_url": URL}));
        let text = content("channel.follow", json!({"username": "__cool_guy__"}));
        assert_eq!(text, "👥 **\\_\\_cool\\_guy\\_\\_** just followed!");
        let text = content(
            "channel.subscription.message",
            json!({"username": "Bob", "cumulative_months": 2, "message": "@everyone <@123> **bold**\nline"}),
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
        setup(json!({"webhook_url": URL}));
        let long = "a".repeat(5000);
        let text = content(
            "channel.cheer",
            json!({"username": "Bob", "bits": 1, "message": long}),
        );
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
        setup(json!({"webhook_url": URL, "templates": {"channel.follow": "{nothing}  "}}));
        assert!(posts("channel.follow", json!({"username": "x"})).is_empty());
    }

    #[test]
    fn odd_details_never_panic() {
        let kinds: Vec<&str> = DEFAULT_EVENTS.into_iter().chain(["custom.kind"]).collect();
        setup(json!({"webhook_url": URL, "events": kinds}));
        for kind in kinds {
            for details in [
                "{}",
                "null",
                "not json",
                "[1]",
                r#"{"username": {}, "bits": [], "total": null}"#,
            ] {
                let mut e = testing::event(kind, json!({}));
                e.details = details.into();
                let actions = DiscordWebhook::on_event(e).expect("no error");
                assert_eq!(actions.len(), 1, "{kind} {details}");
            }
        }
        assert_eq!(
            content("channel.follow", json!({})),
            "👥 **Someone** just followed!"
        );
        assert_eq!(
            content("channel.subscription.gift", json!({})),
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
            let err = DiscordWebhook::init(settings.to_string()).expect_err(&settings.to_string());
            assert!(err.contains(expected), "{settings}: {err}");
        }
        assert!(
            DiscordWebhook::init(json!({}).to_string())
                .unwrap_err()
                .contains("paste your Discord webhook URL")
        );
        for good in [
            URL,
            "https://discordapp.com/api/webhooks/1/token",
            "https://discord.com/api/webhooks/1/token?thread_id=99",
            " https://discord.com/api/webhooks/1/token/ ",
        ] {
            DiscordWebhook::init(json!({"webhook_url": good}).to_string()).expect(good);
        }
    }

    #[test]
    fn other_bad_settings_say_what_to_fix() {
        let bad = [
            (json!([]), "settings must be a table"),
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
            let err = DiscordWebhook::init(settings.to_string()).expect_err(&settings.to_string());
            assert!(err.contains(expected), "{settings}: {err}");
        }
        assert!(
            DiscordWebhook::init("{oops".into())
                .unwrap_err()
                .contains("not JSON")
        );
    }

    #[test]
    fn a_template_for_an_unlisted_event_is_warned_about() {
        setup(
            json!({"webhook_url": URL, "events": ["stream.online"], "templates": {"channel.follow": "x"}}),
        );
        let logs = testing::logs();
        assert_eq!(logs.len(), 1);
        assert_eq!(logs[0].0, Level::Warn);
        assert!(logs[0].1.contains("channel.follow"));
    }

    #[test]
    fn without_init_the_host_settings_are_used() {
        testing::reset();
        testing::set_settings(json!({"webhook_url": URL, "events": ["stream.online"]}));
        assert_eq!(
            content("stream.online", json!({})),
            "🟢 The stream is live!"
        );
        std::thread::spawn(|| {
            let err =
                DiscordWebhook::on_event(testing::event("stream.online", json!({}))).unwrap_err();
            assert!(err.contains("webhook_url is missing"), "{err}");
        })
        .join()
        .unwrap();
    }

    #[test]
    fn templates_render_like_the_docs_say() {
        let vars = |name: &str| match name {
            "username" => Some("Bob".to_owned()),
            "reward.title" => Some("Hydrate".to_owned()),
            _ => None,
        };
        assert_eq!(
            render("{username} redeemed {reward.title}", vars),
            "Bob redeemed Hydrate"
        );
        assert_eq!(render("{missing}|{{x}}|{ x }|{", vars), "|{x}|{ x }|{");
        assert_eq!(tier_name("3000"), "Tier 3");
    }

    #[test]
    fn it_sees_every_kind_as_an_actions_plugin() {
        let info = DiscordWebhook::describe();
        assert_eq!(info.name, "discord-webhook");
        assert_eq!(info.kinds, vec!["*"]);
        assert!(matches!(info.roles.as_slice(), [Role::Actions]));
    }
}

#[cfg(test)]
mod manifest_tests {
    //! plugin.toml must have the shape the host parses, match the crate,
    //! allow exactly Discord's hosts, and make the streamer paste a URL.

    use super::*;
    use stagehand_plugin_sdk::testing;

    const MANIFEST: &str = include_str!("../plugin.toml");

    fn manifest() -> toml::Table {
        toml::from_str(MANIFEST).expect("plugin.toml is TOML")
    }

    #[test]
    fn the_shipped_settings_ask_for_the_url_and_load_once_it_is_pasted() {
        let settings = manifest()["settings"].clone();
        let mut settings: Value = serde_json::to_value(settings).expect("settings are JSON");
        testing::reset();
        let err = DiscordWebhook::init(settings.to_string()).unwrap_err();
        assert!(err.contains("paste your Discord webhook URL"), "{err}");
        settings["webhook_url"] = json!("https://discord.com/api/webhooks/1/token");
        DiscordWebhook::init(settings.to_string()).expect("loads once pasted");
    }
}
