//! An alert box: overlay alerts for follows, subs, resubs, gift subs,
//! cheers, raids and channel-point redemptions.
//!
//! Every kind works with empty settings; the streamer overrides any field
//! per kind (title, message, image/sound/video URLs, tts, duration,
//! overlay, html/css) in `[settings.alerts."<kind>"]`, with `{variables}`
//! from the event's details, and adds *variations*: the first whose `when`
//! holds ("bits >= 1000") overrides the base fields. A community gift of N
//! subs is one alert (for the gift event), never N+1. Each shown alert bumps
//! a per-kind counter in the plugin's storage, available as `{count}`.

pub mod condition;
pub mod config;
pub mod template;
pub mod vars;

use std::cell::RefCell;
use std::rc::Rc;

use stagehand_plugin_sdk::prelude::*;
use stagehand_plugin_sdk::serde_json::{self, Value};

use config::{Config, KINDS, Spec};
use vars::Vars;

/// The plugin.
pub struct AlertBox;

thread_local! {
    /// The settings parsed by `init`, kept for every event of this instance.
    static CONFIG: RefCell<Option<Rc<Config>>> = const { RefCell::new(None) };
}

impl Plugin for AlertBox {
    fn describe() -> Info {
        Info::new("alert-box", env!("CARGO_PKG_VERSION"))
            .kinds(KINDS)
            .roles([Role::Actions])
    }

    fn init(settings: String) -> Result<(), String> {
        let config = parse_settings(&settings)?;
        CONFIG.with(|c| *c.borrow_mut() = Some(Rc::new(config)));
        Ok(())
    }

    fn on_event(event: Event) -> Result<Vec<Action>, String> {
        // Every gifted sub comes with its gift event, which has the alert.
        if is_gifted_sub(&event) {
            return Ok(Vec::new());
        }
        let config = config()?;
        let Some(kind) = config.kind(&event.kind) else {
            return Ok(Vec::new());
        };
        if !kind.may_alert() {
            return Ok(Vec::new());
        }
        let key = count_key(&event.kind);
        let count = host::kv_get_u64(&key).saturating_add(1);
        let vars = Vars::new(&event, count);
        let spec = kind.resolve(|name| vars.get(name));
        if !spec.enabled {
            return Ok(Vec::new());
        }
        host::kv_set(&key, &count.to_string());
        Ok(vec![Action::ShowAlert(build_alert(&spec, &vars))])
    }
}

stagehand_plugin_sdk::export!(AlertBox);

/// The storage key counting the alerts shown for `kind`.
pub fn count_key(kind: &str) -> String {
    format!("count:{kind}")
}

/// A `channel.subscribe` that is part of a gift (`is_gift` true).
pub fn is_gifted_sub(event: &Event) -> bool {
    event.kind == "channel.subscribe"
        && match event.details_json().get("is_gift") {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s.trim().eq_ignore_ascii_case("true"),
            _ => false,
        }
}

/// Settings text (JSON) → configuration; an empty text is empty settings.
pub fn parse_settings(settings: &str) -> Result<Config, String> {
    let value = if settings.trim().is_empty() {
        Value::Object(Default::default())
    } else {
        serde_json::from_str(settings).map_err(|e| format!("settings are not JSON: {e}"))?
    };
    Config::parse(&value).map_err(|e| format!("alert-box settings: {e}"))
}

/// The configuration `init` parsed; if `init` was not called, the host's
/// settings, parsed once.
fn config() -> Result<Rc<Config>, String> {
    if let Some(config) = CONFIG.with(|c| c.borrow().clone()) {
        return Ok(config);
    }
    let config =
        Rc::new(Config::parse(&host::settings()).map_err(|e| format!("alert-box settings: {e}"))?);
    CONFIG.with(|c| *c.borrow_mut() = Some(config.clone()));
    Ok(config)
}

/// The alert for a decided spec: templates filled, empty fields left out.
pub fn build_alert(spec: &Spec, vars: &Vars) -> Alert {
    let fill = |template: &str| tidy(&template::render(template, |name| vars.get(name)));
    let some = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    Alert {
        overlay: spec.overlay.clone(),
        title: fill(&spec.title),
        message: fill(&spec.message),
        image_url: some(&spec.image_url),
        sound_url: some(&spec.sound_url),
        video_url: some(&spec.video_url),
        tts: some(&fill(&spec.tts)),
        duration_ms: spec.duration_ms,
        html: some(&spec.html),
        css: some(&spec.css),
    }
}

/// Runs of spaces left by empty variables become one, and the ends are
/// trimmed: "Bob gifted 5  subs" → "Bob gifted 5 subs". Line breaks stay.
pub fn tidy(text: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use stagehand_plugin_sdk::serde_json::json;
    use stagehand_plugin_sdk::testing;

    /// Fresh host, then `init` with `settings`.
    fn setup(settings: Value) {
        testing::reset();
        AlertBox::init(settings.to_string()).expect("settings load");
    }

    fn alerts(kind: &str, details: Value) -> Vec<Alert> {
        let actions = AlertBox::on_event(testing::event(kind, details)).expect("no error");
        actions
            .into_iter()
            .map(|a| match a {
                Action::ShowAlert(alert) => alert,
                other => panic!("unexpected action {other:?}"),
            })
            .collect()
    }

    fn one(kind: &str, details: Value) -> Alert {
        let mut list = alerts(kind, details);
        assert_eq!(list.len(), 1, "one alert for {kind}");
        list.remove(0)
    }

    #[test]
    fn every_kind_alerts_with_empty_settings() {
        setup(json!({}));
        let cases = [
            (
                "channel.follow",
                json!({"username": "JaneDoe"}),
                "New follower!",
                "JaneDoe just followed",
            ),
            (
                "channel.subscribe",
                json!({"username": "Bob", "tier": "1000", "is_gift": false}),
                "Bob subscribed!",
                "Tier 1",
            ),
            (
                "channel.subscription.message",
                json!({"username": "Bob", "tier": "1000", "cumulative_months": 12, "message": "still here"}),
                "Bob resubscribed for 12 months!",
                "still here",
            ),
            (
                "channel.subscription.gift",
                json!({"username": "Alice", "tier": "1000", "total": 5, "is_anonymous": false}),
                "Alice gifted 5 Tier 1 subs!",
                "Thank you for supporting the community!",
            ),
            (
                "channel.cheer",
                json!({"user_name": "Bob", "bits": 100, "message": "Cheer100 hi"}),
                "Bob cheered 100 bits!",
                "Cheer100 hi",
            ),
            (
                "channel.raid",
                json!({"from_broadcaster_user_name": "Raider", "viewers": 42}),
                "Raider is raiding!",
                "with 42 viewers",
            ),
            (
                "channel.channel_points_custom_reward_redemption.add",
                json!({"user_name": "Bob", "user_input": "drink!", "reward": {"title": "Hydrate"}}),
                "Bob redeemed Hydrate",
                "drink!",
            ),
        ];
        for (kind, details, title, message) in cases {
            let alert = one(kind, details);
            assert_eq!(
                (alert.title.as_str(), alert.message.as_str()),
                (title, message),
                "{kind}"
            );
            assert_eq!(alert.overlay, "alerts");
            assert!(alert.duration_ms >= 5_000);
            assert_eq!(alert.tts, None);
        }
        assert_eq!(testing::kv().len(), KINDS.len());
    }

    #[test]
    fn the_singular_reads_right() {
        setup(json!({}));
        let gift = json!({"username": "Alice", "tier": "3000", "total": 1});
        assert_eq!(
            one("channel.subscription.gift", gift).title,
            "Alice gifted a Tier 3 sub!"
        );
        assert_eq!(
            one("channel.cheer", json!({"username": "Bob", "bits": 1})).title,
            "Bob cheered 1 bit!"
        );
        assert_eq!(
            one("channel.raid", json!({"username": "R", "viewers": 1})).message,
            "with 1 viewer"
        );
    }

    #[test]
    fn a_community_gift_is_one_alert_whatever_the_order() {
        let gift = json!({"username": "Alice", "tier": "1000", "total": 3, "is_anonymous": false});
        let sub =
            |n: u32| json!({"username": format!("lucky{n}"), "tier": "1000", "is_gift": true});

        setup(json!({}));
        let mut shown = alerts("channel.subscription.gift", gift.clone());
        for n in 0..3 {
            shown.extend(alerts("channel.subscribe", sub(n)));
        }
        assert_eq!(shown.len(), 1, "gift first");
        assert_eq!(shown[0].title, "Alice gifted 3 Tier 1 subs!");

        setup(json!({}));
        let mut shown = Vec::new();
        for n in 0..3 {
            shown.extend(alerts("channel.subscribe", sub(n)));
        }
        shown.extend(alerts("channel.subscription.gift", gift.clone()));
        assert_eq!(shown.len(), 1, "subs first");
        assert_eq!(shown[0].title, "Alice gifted 3 Tier 1 subs!");

        setup(json!({}));
        let mut shown = alerts("channel.subscribe", sub(0));
        shown.extend(alerts("channel.subscription.gift", gift));
        shown.extend(alerts("channel.subscribe", sub(1)));
        shown.extend(alerts("channel.subscribe", sub(2)));
        assert_eq!(shown.len(), 1, "interleaved");
        // Gifted subs are not counted either.
        assert_eq!(testing::kv().get(&count_key("channel.subscribe")), None);
    }

    #[test]
    fn gifted_subs_are_recognised_however_the_flag_is_written() {
        let sub = |flag: Value| {
            testing::event(
                "channel.subscribe",
                json!({"username": "x", "is_gift": flag}),
            )
        };
        assert!(is_gifted_sub(&sub(json!(true))));
        assert!(is_gifted_sub(&sub(json!("true"))));
        assert!(!is_gifted_sub(&sub(json!(false))));
        assert!(!is_gifted_sub(&sub(json!(null))));
        assert!(!is_gifted_sub(&testing::event(
            "channel.subscribe",
            json!({})
        )));
        assert!(!is_gifted_sub(&testing::event(
            "channel.cheer",
            json!({"is_gift": true})
        )));
    }

    #[test]
    fn anonymous_gifts_say_so() {
        setup(json!({}));
        let gift = json!({"username": "", "tier": "2000", "total": 10, "is_anonymous": true});
        assert_eq!(
            one("channel.subscription.gift", gift).title,
            "An anonymous gifter gifted 10 Tier 2 subs!"
        );
    }

    #[test]
    fn a_plain_sub_still_alerts() {
        setup(json!({}));
        assert_eq!(
            alerts(
                "channel.subscribe",
                json!({"username": "Bob", "tier": "1000", "is_gift": false})
            )
            .len(),
            1
        );
        assert_eq!(
            alerts("channel.subscribe", json!({"username": "Bob"})).len(),
            1
        );
    }

    #[test]
    fn the_cheer_example_from_the_docs_works() {
        setup(json!({"alerts": {"channel.cheer": {
            "title": "{username} cheered {bits} bits!",
            "message": "{message}",
            "duration_ms": 6000,
            "sound_url": "https://example.com/coins.mp3",
            "tts": "{username} says: {message}",
            "variations": [{
                "when": "bits >= 1000",
                "title": "HUGE cheer: {bits} bits from {username}!",
                "video_url": "https://example.com/huge.webm",
            }],
        }}}));
        let small = one(
            "channel.cheer",
            json!({"user_name": "Bob", "bits": 100, "message": "hi"}),
        );
        assert_eq!(small.title, "Bob cheered 100 bits!");
        assert_eq!(small.duration_ms, 6000);
        assert_eq!(small.video_url, None);
        assert_eq!(
            small.sound_url.as_deref(),
            Some("https://example.com/coins.mp3")
        );
        assert_eq!(small.tts.as_deref(), Some("Bob says: hi"));

        let huge = one(
            "channel.cheer",
            json!({"user_name": "Bob", "bits": 5000, "message": "hi"}),
        );
        assert_eq!(huge.title, "HUGE cheer: 5000 bits from Bob!");
        assert_eq!(
            huge.video_url.as_deref(),
            Some("https://example.com/huge.webm")
        );
        assert_eq!(huge.message, "hi");
        assert_eq!(huge.duration_ms, 6000);
    }

    #[test]
    fn resub_milestones_pick_variations_with_and() {
        setup(json!({"alerts": {"channel.subscription.message": {
            "variations": [
                {"when": "cumulative_months >= 12 and tier == 3000", "title": "Tier 3 veteran {username}!"},
                {"when": "cumulative_months >= 12", "title": "A year with {username}!", "image_url": "https://example.com/cake.gif"},
            ],
        }}}));
        let resub = |months: u32, tier: &str| {
            one(
                "channel.subscription.message",
                json!({"username": "Bob", "tier": tier, "cumulative_months": months}),
            )
        };
        assert_eq!(resub(24, "3000").title, "Tier 3 veteran Bob!");
        let year = resub(12, "1000");
        assert_eq!(year.title, "A year with Bob!");
        assert_eq!(
            year.image_url.as_deref(),
            Some("https://example.com/cake.gif")
        );
        assert_eq!(resub(3, "3000").title, "Bob resubscribed for 3 months!");
        assert_eq!(resub(3, "3000").image_url, None);
    }

    #[test]
    fn disabled_kinds_and_variations_show_nothing_and_touch_no_storage() {
        setup(json!({"alerts": {
            "channel.follow": {"enabled": false},
            "channel.cheer": {"variations": [{"when": "bits < 100", "enabled": false}]},
            "channel.raid": {"enabled": false, "variations": [{"when": "viewers >= 10", "enabled": true}]},
        }}));
        assert!(alerts("channel.follow", json!({"username": "a"})).is_empty());
        assert!(!testing::kv().contains_key(&count_key("channel.follow")));
        assert!(alerts("channel.cheer", json!({"username": "a", "bits": 99})).is_empty());
        assert_eq!(
            alerts("channel.cheer", json!({"username": "a", "bits": 100})).len(),
            1
        );
        assert!(alerts("channel.raid", json!({"username": "r", "viewers": 3})).is_empty());
        assert_eq!(
            alerts("channel.raid", json!({"username": "r", "viewers": 30})).len(),
            1
        );
        assert_eq!(
            testing::kv()
                .get(&count_key("channel.cheer"))
                .map(String::as_str),
            Some("1")
        );
    }

    #[test]
    fn alerts_are_counted_per_kind_and_the_count_is_a_variable() {
        setup(json!({"alerts": {"channel.follow": {
            "message": "{username} is follower #{count}",
            "variations": [{"when": "count == 3", "title": "Third follower!"}],
        }}}));
        let a = one("channel.follow", json!({"username": "A"}));
        let b = one("channel.follow", json!({"username": "B"}));
        let c = one("channel.follow", json!({"username": "C"}));
        assert_eq!(a.message, "A is follower #1");
        assert_eq!(b.message, "B is follower #2");
        assert_eq!(
            (c.title.as_str(), c.message.as_str()),
            ("Third follower!", "C is follower #3")
        );
        one("channel.cheer", json!({"bits": 5}));
        let kv = testing::kv();
        assert_eq!(
            kv.get("count:channel.follow").map(String::as_str),
            Some("3")
        );
        assert_eq!(kv.get("count:channel.cheer").map(String::as_str), Some("1"));
    }

    #[test]
    fn a_stored_count_that_is_not_a_number_starts_over() {
        setup(json!({}));
        stagehand_plugin_sdk::host::kv_set("count:channel.follow", "garbage");
        one("channel.follow", json!({"username": "A"}));
        assert_eq!(
            testing::kv()
                .get("count:channel.follow")
                .map(String::as_str),
            Some("1")
        );
    }

    #[test]
    fn urls_tts_html_and_overlay_reach_the_alert() {
        setup(json!({"overlay": "main", "alerts": {"channel.follow": {
            "image_url": "https://example.com/a.gif",
            "sound_url": "https://example.com/a.mp3",
            "video_url": "",
            "tts": "Welcome {username}",
            "html": "<div class=\"x\">{title}</div>",
            "css": ".x { color: red }",
            "duration_ms": 4000,
        }, "channel.raid": {"overlay": "raids"}}}));
        let alert = one("channel.follow", json!({"username": "Bob"}));
        assert_eq!(alert.overlay, "main");
        assert_eq!(
            alert.image_url.as_deref(),
            Some("https://example.com/a.gif")
        );
        assert_eq!(
            alert.sound_url.as_deref(),
            Some("https://example.com/a.mp3")
        );
        assert_eq!(alert.video_url, None);
        assert_eq!(alert.tts.as_deref(), Some("Welcome Bob"));
        // The overlay fills {title} in html; the alert box leaves it alone.
        assert_eq!(
            alert.html.as_deref(),
            Some("<div class=\"x\">{title}</div>")
        );
        assert_eq!(alert.css.as_deref(), Some(".x { color: red }"));
        assert_eq!(alert.duration_ms, 4000);
        assert_eq!(one("channel.raid", json!({})).overlay, "raids");
    }

    #[test]
    fn a_tts_template_that_renders_empty_is_no_tts() {
        setup(json!({"alerts": {"channel.cheer": {"tts": "{message}"}}}));
        assert_eq!(one("channel.cheer", json!({"bits": 5})).tts, None);
        assert_eq!(
            one("channel.cheer", json!({"bits": 5, "message": "hey"}))
                .tts
                .as_deref(),
            Some("hey")
        );
    }

    #[test]
    fn missing_or_odd_details_never_panic() {
        setup(json!({}));
        for kind in KINDS {
            for details in [
                "{}",
                "null",
                "not json",
                "[]",
                r#"{"username": 5, "bits": {}, "total": "x", "reward": 3}"#,
            ] {
                let mut e = testing::event(kind, json!({}));
                e.details = details.into();
                let actions = AlertBox::on_event(e).expect("no error");
                assert_eq!(actions.len(), 1, "{kind} {details}");
            }
        }
        assert_eq!(
            one("channel.follow", json!({})).message,
            "Someone just followed"
        );
        assert_eq!(
            one("channel.subscription.gift", json!({})).title,
            "Someone gifted subs!"
        );
    }

    #[test]
    fn kinds_it_does_not_handle_get_nothing() {
        setup(json!({}));
        assert!(alerts("channel.ban", json!({"username": "x"})).is_empty());
        assert!(alerts("stream.online", json!({})).is_empty());
        assert!(testing::kv().is_empty());
    }

    #[test]
    fn bad_settings_stop_init_with_a_clear_message() {
        testing::reset();
        let err = AlertBox::init(
            json!({"alerts": {"channel.cheer": {"variations": [{"when": "bits >>= 1000"}]}}})
                .to_string(),
        )
        .unwrap_err();
        assert!(err.contains("channel.cheer"), "{err}");
        assert!(err.contains("bits >>= 1000"), "{err}");
        assert!(
            AlertBox::init("{not json".into())
                .unwrap_err()
                .contains("not JSON")
        );
        assert!(AlertBox::init(String::new()).is_ok());
    }

    #[test]
    fn without_init_the_host_settings_are_used() {
        testing::reset();
        testing::set_settings(json!({"alerts": {"channel.follow": {"title": "Hi {username}"}}}));
        assert_eq!(
            one("channel.follow", json!({"username": "Bob"})).title,
            "Hi Bob"
        );

        // A new instance whose host settings are broken reports the error.
        std::thread::spawn(|| {
            testing::set_settings(json!({"alerts": {"channel.follow": {"duration_ms": -1}}}));
            let err = AlertBox::on_event(testing::event("channel.follow", json!({}))).unwrap_err();
            assert!(err.contains("duration_ms"), "{err}");
        })
        .join()
        .unwrap();
    }

    #[test]
    fn tidy_collapses_gaps_left_by_empty_variables() {
        assert_eq!(tidy("Bob gifted 5  subs!"), "Bob gifted 5 subs!");
        assert_eq!(tidy("  a  \n  b  "), "a\nb");
        assert_eq!(tidy(""), "");
    }

    #[test]
    fn it_wants_the_alert_kinds_as_an_actions_plugin() {
        let info = AlertBox::describe();
        assert_eq!(info.name, "alert-box");
        assert_eq!(info.kinds, KINDS.to_vec());
        assert!(matches!(info.roles.as_slice(), [Role::Actions]));
        assert!(!info.kinds.contains(&"channel.ban".to_string()));
    }
}

#[cfg(test)]
mod manifest_tests {
    //! plugin.toml must have the shape the host parses, match the crate, and
    //! its example settings must load.

    use super::*;
    use stagehand_plugin_sdk::serde_json::json;
    use stagehand_plugin_sdk::testing;

    const MANIFEST: &str = include_str!("../plugin.toml");

    fn manifest() -> toml::Table {
        toml::from_str(MANIFEST).expect("plugin.toml is TOML")
    }

    #[test]
    fn the_shipped_settings_load_and_do_what_their_comments_say() {
        let settings = manifest()
            .get("settings")
            .cloned()
            .unwrap_or(toml::Value::Table(Default::default()));
        let settings: Value = serde_json::to_value(settings).expect("settings are JSON");
        testing::reset();
        AlertBox::init(settings.to_string()).expect("shipped settings load");
        let huge = AlertBox::on_event(testing::event(
            "channel.cheer",
            json!({"user_name": "Bob", "bits": 1000}),
        ))
        .unwrap();
        let [Action::ShowAlert(alert)] = huge.as_slice() else {
            panic!("one alert, got {huge:?}")
        };
        assert_eq!(alert.title, "HUGE cheer: 1000 bits from Bob!");
        let year = AlertBox::on_event(testing::event(
            "channel.subscription.message",
            json!({"username": "Bob", "cumulative_months": 12}),
        ))
        .unwrap();
        assert!(format!("{year:?}").contains("Bob: 12 months!"), "{year:?}");
    }
}
