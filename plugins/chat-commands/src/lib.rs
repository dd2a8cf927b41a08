//! Moderator chat commands for viewer TTS rules:
//!
//! ```text
//! ~mutevoice @user [minutes]         mute their TTS (no minutes: until unmuted)
//! ~unmutevoice @user                 lift the mute
//! ~cooldownvoice @user gap minutes   at most one TTS message per gap, for minutes
//!                                    (gap in minutes, or seconds as "30s")
//! ~clearvoice @user                  remove every TTS rule of the viewer
//! ```
//!
//! Only moderators and the broadcaster may use them; anyone else is ignored
//! (and logged). A moderator who mistypes one gets a one-line usage reply in
//! chat instead of a rule. Parsing ([`parse`]) is pure and tested on its own.

use stagehand_plugin_sdk::ChatMessage;
use stagehand_plugin_sdk::prelude::*;

/// The plugin. It keeps no state: every rule lives in the host, which
/// applies it to later messages.
pub struct ChatCommands;

impl Plugin for ChatCommands {
    fn new(_settings: Settings) -> Result<Self, String> {
        Ok(ChatCommands)
    }

    /// Only chat messages: commands are typed in chat.
    fn describe() -> Info {
        Info::new().kinds([kinds::CHAT_MESSAGE])
    }
}

impl Actions for ChatCommands {
    fn on_event(&mut self, event: &Event) -> Result<Vec<Action>, String> {
        let EventData::ChatMessage(chat) = &event.data else {
            return Ok(Vec::new());
        };
        let parsed = parse(&chat.text);
        let Some(verb) = parsed.verb() else {
            return Ok(Vec::new()); // ordinary chat
        };
        let who = sender(event);
        if !may_command(event, chat) {
            host::info(&format!(
                "ignored {} from {}: only moderators and the broadcaster may use it",
                verb.word(),
                if who.is_empty() {
                    "an unknown chatter"
                } else {
                    &who
                }
            ));
            return Ok(Vec::new());
        }
        Ok(vec![match parsed {
            Parsed::Command(command) => command.action(),
            Parsed::Usage(verb) if who.is_empty() => {
                Action::SendChat(format!("usage: {}", verb.usage()))
            }
            Parsed::Usage(verb) => Action::SendChat(format!("@{who} usage: {}", verb.usage())),
            Parsed::Chat => return Ok(Vec::new()),
        }])
    }
}

stagehand_plugin_sdk::export!(ChatCommands);

/// Longest mute or cooldown, in minutes: the host's bound (30 days). A typo
/// like 999999 gets a usage reply instead of an error from the host.
pub const MAX_MINUTES: u32 = stagehand_plugin_sdk::limits::MAX_TTS_RULE_MINUTES;

/// Longest gap between one viewer's TTS messages: the host's bound (an hour).
pub const MAX_GAP_SECONDS: u32 = stagehand_plugin_sdk::limits::MAX_TTS_COOLDOWN_GAP_SECONDS;

/// Usage replies name the limits, so a moderator can fix the line at once.
pub const MUTE_USAGE: &str = "~mutevoice @user [minutes] (1-43200; none = until unmuted)";
/// Usage of `~unmutevoice`.
pub const UNMUTE_USAGE: &str = "~unmutevoice @user";
/// Usage of `~cooldownvoice`: the gap's unit is the easy thing to get wrong.
pub const COOLDOWN_USAGE: &str = "~cooldownvoice @user gap minutes (gap in minutes or seconds like 30s, max 1h; minutes 1-43200)";
/// Usage of `~clearvoice`.
pub const CLEAR_USAGE: &str = "~clearvoice @user";

/// A well-formed command: what the moderator asked for, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Mute a viewer's TTS.
    Mute {
        /// Lowercase, without `@`.
        login: String,
        /// None: until unmuted.
        minutes: Option<u32>,
    },
    /// Lift a mute.
    Unmute {
        /// Lowercase, without `@`.
        login: String,
    },
    /// Space out a viewer's TTS messages for a while.
    Cooldown {
        /// Lowercase, without `@`.
        login: String,
        /// Minimum gap between two of their messages.
        gap_seconds: u32,
        /// How long the cooldown lasts.
        minutes: u32,
    },
    /// Remove every TTS rule of a viewer.
    Clear {
        /// Lowercase, without `@`.
        login: String,
    },
}

/// The four commands, for usage replies and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// `~mutevoice`
    Mute,
    /// `~unmutevoice`
    Unmute,
    /// `~cooldownvoice`
    Cooldown,
    /// `~clearvoice`
    Clear,
}

impl Verb {
    /// The command word as typed in chat.
    pub fn word(self) -> &'static str {
        match self {
            Verb::Mute => "~mutevoice",
            Verb::Unmute => "~unmutevoice",
            Verb::Cooldown => "~cooldownvoice",
            Verb::Clear => "~clearvoice",
        }
    }

    /// How to use it, with its limits.
    pub fn usage(self) -> &'static str {
        match self {
            Verb::Mute => MUTE_USAGE,
            Verb::Unmute => UNMUTE_USAGE,
            Verb::Cooldown => COOLDOWN_USAGE,
            Verb::Clear => CLEAR_USAGE,
        }
    }

    fn from_word(word: &str) -> Option<Verb> {
        [Verb::Mute, Verb::Unmute, Verb::Cooldown, Verb::Clear]
            .into_iter()
            .find(|v| v.word().eq_ignore_ascii_case(word))
    }
}

/// What a chat line is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Not a command: ordinary chat.
    Chat,
    /// A command, ready to act on.
    Command(Command),
    /// A command word with bad arguments: reply with its usage.
    Usage(Verb),
}

impl Parsed {
    /// Which command it is, well formed or not; `None` for ordinary chat.
    pub fn verb(&self) -> Option<Verb> {
        match self {
            Parsed::Chat => None,
            Parsed::Usage(verb) => Some(*verb),
            Parsed::Command(command) => Some(match command {
                Command::Mute { .. } => Verb::Mute,
                Command::Unmute { .. } => Verb::Unmute,
                Command::Cooldown { .. } => Verb::Cooldown,
                Command::Clear { .. } => Verb::Clear,
            }),
        }
    }
}

impl Command {
    /// The host action carrying out the command.
    pub fn action(self) -> Action {
        match self {
            Command::Mute { login, minutes } => Action::MuteTts(TtsMute { login, minutes }),
            Command::Unmute { login } => Action::UnmuteTts(login),
            Command::Cooldown {
                login,
                gap_seconds,
                minutes,
            } => Action::CooldownTts(TtsCooldown {
                login,
                gap_seconds,
                minutes,
            }),
            Command::Clear { login } => Action::ClearTts(login),
        }
    }
}

/// Reads a chat line: the command word (any case) first, then its
/// arguments; words after the last argument (a reason) are ignored.
pub fn parse(text: &str) -> Parsed {
    let mut words = text.split_whitespace();
    let Some(first) = words.next() else {
        return Parsed::Chat;
    };
    let Some(verb) = Verb::from_word(first) else {
        return Parsed::Chat;
    };
    let args: Vec<&str> = words.collect();
    let arg = |i: usize| args.get(i).copied();
    let command = (|| {
        let login = login(arg(0)?)?;
        Some(match verb {
            Verb::Mute => Command::Mute {
                login,
                minutes: match arg(1) {
                    None => None,
                    Some(m) => Some(minutes(m)?),
                },
            },
            Verb::Unmute => Command::Unmute { login },
            Verb::Cooldown => Command::Cooldown {
                login,
                gap_seconds: gap_seconds(arg(1)?)?,
                minutes: minutes(arg(2)?)?,
            },
            Verb::Clear => Command::Clear { login },
        })
    })();
    command.map_or(Parsed::Usage(verb), Parsed::Command)
}

/// "@SomeUser" → "someuser"; `None` unless it is a Twitch login
/// (letters, digits, underscore; at most 25).
pub fn login(word: &str) -> Option<String> {
    let login = word.trim_start_matches('@').to_ascii_lowercase();
    let valid = (1..=25).contains(&login.len())
        && login
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    valid.then_some(login)
}

/// Whole minutes, 1 to [`MAX_MINUTES`] ("30" or "30m").
pub fn minutes(word: &str) -> Option<u32> {
    let digits = word.strip_suffix(['m', 'M']).unwrap_or(word);
    whole(digits)
        .filter(|m| (1..=u64::from(MAX_MINUTES)).contains(m))?
        .try_into()
        .ok()
}

/// A gap in seconds: minutes by default ("2", "2m"), seconds with an "s"
/// ("30s"); 1 second to [`MAX_GAP_SECONDS`].
pub fn gap_seconds(word: &str) -> Option<u32> {
    let seconds = if let Some(s) = word.strip_suffix(['s', 'S']) {
        whole(s)?
    } else {
        whole(word.strip_suffix(['m', 'M']).unwrap_or(word))?.checked_mul(60)?
    };
    if (1..=u64::from(MAX_GAP_SECONDS)).contains(&seconds) {
        u32::try_from(seconds).ok()
    } else {
        None
    }
}

/// Digits only (no sign, no decimals), as a number.
fn whole(text: &str) -> Option<u64> {
    if text.is_empty() || !text.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Whom to address a reply to: the chatter's login (empty when the event
/// names no chatter).
fn sender(event: &Event) -> String {
    event
        .viewer
        .as_ref()
        .map(|v| v.login.chars().filter(|c| !c.is_whitespace()).collect())
        .unwrap_or_default()
}

/// Moderators (and lead moderators) and the broadcaster: by chat badge, or
/// the chatter being the channel itself (a badge-less message from the
/// streamer's own account).
pub fn may_command(event: &Event, chat: &ChatMessage) -> bool {
    const ALLOWED: [&str; 3] = ["moderator", "lead_moderator", "broadcaster"];
    let by_badge = chat
        .badges
        .iter()
        .any(|b| ALLOWED.contains(&b.set_id.as_str()));
    let is_channel = event
        .viewer
        .as_ref()
        .is_some_and(|v| !v.id.is_empty() && v.id == event.channel_id);
    by_badge || is_channel
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_replies_name_the_hosts_bounds() {
        assert!(MUTE_USAGE.contains(&format!("1-{MAX_MINUTES}")));
        assert!(COOLDOWN_USAGE.contains(&format!("minutes 1-{MAX_MINUTES}")));
        assert_eq!(MAX_GAP_SECONDS, 3_600);
        assert!(COOLDOWN_USAGE.contains("max 1h"));
    }
    use stagehand_plugin_sdk::serde_json::json;
    use stagehand_plugin_sdk::testing;

    /// A chat message from `name` with badges of `badges` (set ids), as
    /// chat delivers it.
    fn chat(name: &str, badges: &[&str], text: &str) -> Event {
        let mut e = testing::chat(name, text, badges);
        e.source = Source::Chat;
        e
    }

    /// The actions for `event`, from a fresh plugin.
    fn act(event: &Event) -> Vec<Action> {
        let mut plugin = ChatCommands::new(Settings::default()).unwrap();
        plugin.on_event(event).unwrap()
    }

    fn from_mod(text: &str) -> Vec<Action> {
        testing::reset();
        act(&chat("ModName", &["moderator"], text))
    }

    fn mute(login: &str, minutes: Option<u32>) -> Action {
        Action::MuteTts(TtsMute {
            login: login.into(),
            minutes,
        })
    }

    fn reply(usage: &str) -> Vec<Action> {
        vec![Action::SendChat(format!("@modname usage: {usage}"))]
    }

    #[test]
    fn each_command_becomes_its_rule() {
        let cases = [
            ("~mutevoice @Troll 30", mute("troll", Some(30))),
            ("~mutevoice @troll", mute("troll", None)),
            ("~mutevoice troll 43200", mute("troll", Some(43_200))),
            ("~mutevoice @troll 15m", mute("troll", Some(15))),
            ("~unmutevoice @Troll", Action::UnmuteTts("troll".into())),
            (
                "~cooldownvoice @Troll 2 5",
                Action::CooldownTts(TtsCooldown {
                    login: "troll".into(),
                    gap_seconds: 120,
                    minutes: 5,
                }),
            ),
            (
                "~cooldownvoice @troll 30s 60",
                Action::CooldownTts(TtsCooldown {
                    login: "troll".into(),
                    gap_seconds: 30,
                    minutes: 60,
                }),
            ),
            (
                "~cooldownvoice troll 60m 1",
                Action::CooldownTts(TtsCooldown {
                    login: "troll".into(),
                    gap_seconds: 3_600,
                    minutes: 1,
                }),
            ),
            ("~clearvoice @Troll_99", Action::ClearTts("troll_99".into())),
        ];
        for (text, action) in cases {
            assert_eq!(from_mod(text), vec![action], "{text}");
        }
    }

    #[test]
    fn command_words_ignore_case_and_surrounding_space() {
        assert_eq!(
            from_mod("~MuteVoice @troll 5"),
            vec![mute("troll", Some(5))]
        );
        assert_eq!(
            from_mod("  ~MUTEVOICE   @troll   5  "),
            vec![mute("troll", Some(5))]
        );
        assert_eq!(
            from_mod("~ClearVoice @troll"),
            vec![Action::ClearTts("troll".into())]
        );
    }

    #[test]
    fn logins_are_lowercased_without_the_at() {
        assert_eq!(login("@SomeUser").as_deref(), Some("someuser"));
        assert_eq!(login("@@someuser").as_deref(), Some("someuser"));
        assert_eq!(login("plain_1").as_deref(), Some("plain_1"));
        assert_eq!(login("@"), None);
        assert_eq!(login("bad-name"), None);
        assert_eq!(login("ünicode"), None);
        assert_eq!(login(&"a".repeat(26)), None);
    }

    #[test]
    fn a_reason_after_the_arguments_is_ignored() {
        assert_eq!(
            from_mod("~mutevoice @troll 10 spamming tts"),
            vec![mute("troll", Some(10))]
        );
        assert_eq!(
            from_mod("~unmutevoice @troll sorry"),
            vec![Action::UnmuteTts("troll".into())]
        );
    }

    #[test]
    fn bad_input_gets_a_usage_reply_and_no_rule() {
        let cases = [
            ("~mutevoice", MUTE_USAGE),
            ("~mutevoice @", MUTE_USAGE),
            ("~mutevoice @troll 0", MUTE_USAGE),
            ("~mutevoice @troll -5", MUTE_USAGE),
            ("~mutevoice @troll abc", MUTE_USAGE),
            ("~mutevoice @troll 1.5", MUTE_USAGE),
            ("~mutevoice @troll +5", MUTE_USAGE),
            ("~mutevoice @troll 43201", MUTE_USAGE),
            ("~mutevoice @troll 99999999999999999999999", MUTE_USAGE),
            ("~mutevoice @tr-oll 5", MUTE_USAGE),
            ("~unmutevoice", UNMUTE_USAGE),
            ("~clearvoice", CLEAR_USAGE),
            ("~clearvoice @!!", CLEAR_USAGE),
            ("~cooldownvoice", COOLDOWN_USAGE),
            ("~cooldownvoice @troll", COOLDOWN_USAGE),
            ("~cooldownvoice @troll 2", COOLDOWN_USAGE),
            ("~cooldownvoice @troll 0 5", COOLDOWN_USAGE),
            ("~cooldownvoice @troll 2 0", COOLDOWN_USAGE),
            ("~cooldownvoice @troll 3601s 5", COOLDOWN_USAGE),
            ("~cooldownvoice @troll 61 5", COOLDOWN_USAGE),
            ("~cooldownvoice @troll -30s 5", COOLDOWN_USAGE),
            ("~cooldownvoice @troll 2 43201", COOLDOWN_USAGE),
            ("~cooldownvoice @troll x y", COOLDOWN_USAGE),
        ];
        for (text, usage) in cases {
            assert_eq!(from_mod(text), reply(usage), "{text}");
        }
    }

    #[test]
    fn durations_have_sane_limits() {
        assert_eq!(minutes("1"), Some(1));
        assert_eq!(minutes("43200"), Some(43_200));
        assert_eq!(minutes("43201"), None);
        assert_eq!(minutes("0"), None);
        assert_eq!(minutes(""), None);
        assert_eq!(minutes("m"), None);
        assert_eq!(gap_seconds("30s"), Some(30));
        assert_eq!(gap_seconds("30S"), Some(30));
        assert_eq!(gap_seconds("2"), Some(120));
        assert_eq!(gap_seconds("2m"), Some(120));
        assert_eq!(gap_seconds("3600s"), Some(3_600));
        assert_eq!(gap_seconds("60"), Some(3_600));
        assert_eq!(gap_seconds("3601s"), None);
        assert_eq!(gap_seconds("0s"), None);
        assert_eq!(gap_seconds("s"), None);
        assert_eq!(gap_seconds("18446744073709551615"), None);
    }

    #[test]
    fn only_moderators_and_the_broadcaster_may_use_them() {
        testing::reset();
        let allowed = [
            chat("Mod", &["subscriber", "moderator"], "~clearvoice @x"),
            chat("Lead", &["lead_moderator"], "~clearvoice @x"),
            chat("Streamer", &["broadcaster"], "~clearvoice @x"),
        ];
        for e in allowed {
            assert_eq!(act(&e).len(), 1);
        }
        // The broadcaster without a badge is still the channel.
        let mut own = chat("Streamer", &[], "~clearvoice @x");
        own.viewer = Some(testing::viewer(&own.channel_id.clone(), "Streamer"));
        assert_eq!(act(&own).len(), 1);
        assert!(testing::logs().is_empty());
    }

    #[test]
    fn anyone_else_gets_nothing_and_a_log_line() {
        testing::reset();
        let denied = [
            chat("Viewer", &[], "~mutevoice @streamer 60"),
            chat("Vip", &["vip", "subscriber"], "~clearvoice @x"),
            chat("Sneaky", &["moderatorish"], "~unmutevoice @x"),
            chat("Typo", &[], "~mutevoice"),
        ];
        for e in denied {
            assert!(act(&e).is_empty());
        }
        let logs = testing::logs();
        assert_eq!(logs.len(), 4);
        assert!(logs.iter().all(|(level, _)| *level == Level::Info));
        assert!(
            logs[0].1.contains("~mutevoice") && logs[0].1.contains("viewer"),
            "{:?}",
            logs[0]
        );
        assert!(logs[3].1.contains("~mutevoice"));
    }

    #[test]
    fn ordinary_chat_does_nothing_and_costs_nothing() {
        testing::reset();
        for text in [
            "hello",
            "",
            "   ",
            "~mutevoicex @a 5",
            "mutevoice @a 5",
            "!mutevoice @a",
            "gg ~mutevoice @a",
        ] {
            let e = chat("Viewer", &[], text);
            assert!(act(&e).is_empty(), "{text}");
        }
        assert!(testing::logs().is_empty());
    }

    #[test]
    fn only_the_badge_set_counts() {
        testing::reset();
        // A subscriber badge whose version happens to read "moderator" is
        // still a subscriber badge.
        let mut e = chat("Sub", &[], "~clearvoice @x");
        if let EventData::ChatMessage(c) = &mut e.data {
            c.badges.push(stagehand_plugin_sdk::Badge {
                set_id: "subscriber".into(),
                id: "moderator".into(),
                info: "moderator".into(),
            });
        }
        assert!(act(&e).is_empty());
    }

    #[test]
    fn events_that_are_not_typed_chat_do_nothing() {
        testing::reset();
        // A chat message stored with fields that did not fit arrives as
        // `Other`: its JSON is not searched for something command-like.
        let stored = testing::other(
            kinds::CHAT_MESSAGE,
            json!({"text": "~mutevoice @a 5", "badges": [{"set_id": "moderator"}]}),
        );
        assert!(act(&stored).is_empty());
        // Nor are the messages of other kinds.
        let cheer = testing::cheer("ModName", 100, "~mutevoice @a 5");
        assert!(act(&cheer).is_empty());
        assert!(testing::logs().is_empty());
    }

    #[test]
    fn a_reply_without_a_known_sender_still_helps() {
        testing::reset();
        let mut e = chat("Streamer", &["broadcaster"], "~clearvoice");
        e.viewer = None;
        assert_eq!(
            act(&e),
            vec![Action::SendChat(format!("usage: {CLEAR_USAGE}"))]
        );
    }

    #[test]
    fn parse_tells_chat_commands_and_usage_apart() {
        assert_eq!(parse("hi"), Parsed::Chat);
        assert_eq!(parse(""), Parsed::Chat);
        assert_eq!(parse("~mutevoice"), Parsed::Usage(Verb::Mute));
        assert_eq!(parse("~UNMUTEVOICE").verb(), Some(Verb::Unmute));
        assert_eq!(parse("~cooldownvoice @a").verb(), Some(Verb::Cooldown));
        assert_eq!(parse("~clearvoice @a").verb(), Some(Verb::Clear));
        assert_eq!(parse("~mutevoice @a").verb(), Some(Verb::Mute));
        assert_eq!(parse("hi").verb(), None);
        for verb in [Verb::Mute, Verb::Unmute, Verb::Cooldown, Verb::Clear] {
            assert!(verb.usage().starts_with(verb.word()));
        }
    }

    #[test]
    fn it_wants_chat_messages_as_an_actions_plugin() {
        let info = ChatCommands::describe();
        assert_eq!(info.kinds, vec![kinds::CHAT_MESSAGE]);
        // No roles named: the host calls the roles implemented, and
        // `Actions` is the only one.
        assert!(info.roles.is_empty());
    }
}
