//! An alert box: overlay alerts for follows, subs, resubs, gift subs,
//! cheers, raids, channel-point redemptions and donations (whose steps by
//! amount compare the amount as an exact decimal).
//!
//! Every kind works with empty settings; the streamer overrides any field
//! per kind (title, message, image/sound/video URLs, tts, duration,
//! overlay, html/css) in `[settings.alerts."<kind>"]`, with `{variables}`
//! named after the event's fields, and adds *variations*: the first whose
//! `when` holds ("bits >= 1000") overrides the base fields. A community gift
//! of N subs is one alert (for the gift event), never N+1. Each shown alert
//! bumps a per-kind counter in the plugin's storage, available as `{count}`.
//!
//! Every kind has a built-in look: an animated picture and a sound the host
//! ships (`/assets/alerts/`), an entrance animation and an accent colour,
//! with the viewer's name and the amount highlighted. The look travels to
//! the overlay as *card options* in the alert's `css` (see [`card`]), so
//! the plugin contract stays as it is.

pub mod card;
pub mod condition;
pub mod config;
#[cfg(test)]
mod schema;
pub mod vars;

use stagehand_plugin_sdk::prelude::*;
use stagehand_plugin_sdk::text;

use config::{Config, KINDS, Spec};
use vars::Vars;

/// The plugin: its settings, parsed once when it is built, decide every
/// alert.
pub struct AlertBox {
    config: Config,
}

impl Plugin for AlertBox {
    fn new(settings: Settings) -> Result<Self, String> {
        let config =
            Config::parse(&settings.to_json()).map_err(|e| format!("alert-box settings: {e}"))?;
        Ok(AlertBox { config })
    }

    fn describe() -> Info {
        Info::new().kinds(KINDS)
    }
}

impl Actions for AlertBox {
    fn on_event(&mut self, event: &Event) -> Result<Vec<Action>, String> {
        // Every gifted sub comes with its gift event, which has the alert.
        if is_gifted_sub(event) {
            return Ok(Vec::new());
        }
        let Some(kind) = self.config.kind(&event.kind) else {
            return Ok(Vec::new());
        };
        if !kind.may_alert() {
            return Ok(Vec::new());
        }
        let key = count_key(&event.kind);
        let count = host::kv_get_u64(&key).saturating_add(1);
        let vars = Vars::new(event, count);
        let spec = kind.resolve(|name| vars.get(name));
        if !spec.enabled {
            return Ok(Vec::new());
        }
        host::kv_set(&key, &count.to_string());
        Ok(vec![Action::ShowAlert(build_alert(&spec, &vars))])
    }
}

stagehand_plugin_sdk::export!(AlertBox);

/// The storage key counting the alerts shown for `kind`, so `{count}` keeps
/// going across reloads and restarts.
pub fn count_key(kind: &str) -> String {
    format!("count:{kind}")
}

/// A sub that is part of a gift: its gift event has the alert, so the sub
/// itself shows none.
pub fn is_gifted_sub(event: &Event) -> bool {
    matches!(&event.data, EventData::Subscribe(sub) if sub.is_gift)
}

/// The alert for a decided spec: templates filled, empty fields left out,
/// the look and the highlighted words in the card options.
pub fn build_alert(spec: &Spec, vars: &Vars) -> Alert {
    let fill = |template: &str| tidy(&text::render(template, |name| vars.get(name)));
    let some = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let highlighted = |template: &str| {
        if spec.highlight {
            card::render_highlighted(template, |name| vars.get(name), tidy)
        } else {
            card::Highlighted::plain(fill(template))
        }
    };
    let title = highlighted(&spec.title);
    let message = highlighted(&spec.message);
    let options = card::Options {
        animation: &spec.animation,
        accent: &spec.accent,
        layout: &spec.layout,
        sound_volume: spec.sound_volume,
        tts_volume: spec.tts_volume,
        title: &title.spans,
        message: &message.spans,
    };
    Alert {
        overlay: spec.overlay.clone(),
        title: title.text,
        message: message.text,
        image_url: some(&spec.image_url),
        sound_url: some(&spec.sound_url),
        video_url: some(&spec.video_url),
        tts: some(&fill(&spec.tts)),
        duration_ms: spec.duration_ms,
        html: some(&spec.html),
        css: Some(card::css(&options, spec.css.trim())),
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
    use stagehand_plugin_sdk::serde_json::{Value, json};
    use stagehand_plugin_sdk::{Ban, Gift, Resub, Subscribe, testing};

    /// Fresh host, then the plugin built from `settings`.
    fn plugin(settings: Value) -> AlertBox {
        testing::reset();
        AlertBox::new(Settings::from_json(settings)).expect("settings load")
    }

    fn alerts(p: &mut AlertBox, event: &Event) -> Vec<Alert> {
        let actions = p.on_event(event).expect("no error");
        actions
            .into_iter()
            .map(|a| match a {
                Action::ShowAlert(alert) => alert,
                other => panic!("unexpected action {other:?}"),
            })
            .collect()
    }

    fn one(p: &mut AlertBox, event: &Event) -> Alert {
        let mut list = alerts(p, event);
        assert_eq!(list.len(), 1, "one alert for {}", event.kind);
        list.remove(0)
    }

    fn named(name: &str) -> Option<Viewer> {
        Some(testing::viewer("4242", name))
    }

    /// `gifter` (None: anonymous) gave `total` subs at `tier`.
    fn gift(gifter: Option<&str>, tier: u32, total: u32) -> Event {
        let data = EventData::Gift(Gift {
            tier,
            total,
            anonymous: gifter.is_none(),
        });
        testing::event(kinds::GIFT, gifter.and_then(named), data)
    }

    /// `name` subscribed at tier 1000; `is_gift` when a gift brought it.
    fn sub(name: &str, is_gift: bool) -> Event {
        let data = EventData::Subscribe(Subscribe {
            tier: 1000,
            is_gift,
        });
        testing::event(kinds::SUBSCRIBE, named(name), data)
    }

    /// `name` resubscribed at `tier` for `months`, saying nothing.
    fn resub(name: &str, tier: u32, months: u32) -> Event {
        let data = EventData::Resub(Resub {
            tier,
            cumulative_months: months,
            message: String::new(),
        });
        testing::event(kinds::RESUB, named(name), data)
    }

    #[test]
    fn every_kind_alerts_with_empty_settings() {
        let mut p = plugin(json!({}));
        let cases = [
            (
                testing::follow("JaneDoe"),
                "New follower!",
                "JaneDoe just followed",
            ),
            (testing::subscribe("Bob", 1000), "Bob subscribed!", "Tier 1"),
            (
                testing::resub("Bob", 12, "still here"),
                "Bob resubscribed for 12 months!",
                "still here",
            ),
            (
                testing::gift(Some("Alice"), 5),
                "Alice gifted 5 Tier 1 subs!",
                "Thank you for supporting the community!",
            ),
            (
                testing::cheer("Bob", 100, "Cheer100 hi"),
                "Bob cheered 100 bits!",
                "Cheer100 hi",
            ),
            (
                testing::raid("Raider", 42),
                "Raider is raiding!",
                "with 42 viewers",
            ),
            (
                testing::redemption("Bob", "Hydrate", 100, "drink!"),
                "Bob redeemed Hydrate",
                "drink!",
            ),
            (
                testing::donation("Ann", "3.00", "USD", "coffee!", true),
                "Ann tipped 3.00 USD!",
                "coffee!",
            ),
        ];
        for (event, title, message) in cases {
            let alert = one(&mut p, &event);
            assert_eq!(
                (alert.title.as_str(), alert.message.as_str()),
                (title, message),
                "{}",
                event.kind
            );
            assert_eq!(alert.overlay, "alerts");
            assert!(alert.duration_ms >= 5_000);
            assert_eq!(alert.tts, None);
            // A picture, a sound and an entrance, from the host's own media.
            let image = alert.image_url.as_deref().unwrap_or_default();
            let sound = alert.sound_url.as_deref().unwrap_or_default();
            assert!(
                image.starts_with("/assets/alerts/") && image.ends_with(".svg"),
                "{alert:?}"
            );
            assert!(
                sound.starts_with("/assets/alerts/") && sound.ends_with(".wav"),
                "{alert:?}"
            );
            let (options, own_css) = card::split(alert.css.as_deref().unwrap()).unwrap();
            assert!(config::ANIMATIONS.contains(&options["animation"].as_str().unwrap()));
            assert!(options["accent"].as_str().unwrap().starts_with('#'));
            assert_eq!(own_css, "");
            assert_eq!(alert.html, None);
        }
        assert_eq!(testing::kv().len(), KINDS.len());
    }

    /// The highlighted pieces of an alert's title and message.
    fn highlights(alert: &Alert) -> (Vec<String>, Vec<String>) {
        let (options, _) = card::split(alert.css.as_deref().unwrap()).unwrap();
        let texts = |field: &str| -> Vec<String> {
            options["highlights"][field]
                .as_array()
                .map(|list| {
                    list.iter()
                        .map(|h| h[1].as_str().unwrap().to_owned())
                        .collect()
                })
                .unwrap_or_default()
        };
        (texts("title"), texts("message"))
    }

    #[test]
    fn the_name_and_the_amount_are_highlighted() {
        let mut p = plugin(json!({}));
        let cheer = one(&mut p, &testing::cheer("Bob", 500, "Cheer500 <b>hi</b>"));
        assert_eq!(cheer.title, "Bob cheered 500 bits!");
        assert_eq!(
            highlights(&cheer),
            (vec!["Bob".into(), "500".into()], vec![])
        );
        let follow = one(&mut p, &testing::follow("Jane"));
        assert_eq!(highlights(&follow), (vec![], vec!["Jane".into()]));
        let raid = one(&mut p, &testing::raid("Raider", 42));
        assert_eq!(
            highlights(&raid),
            (vec!["Raider".into()], vec!["42".into()])
        );
        let redeem = one(&mut p, &testing::redemption("Bob", "Hydrate", 100, "x"));
        assert_eq!(
            highlights(&redeem).0,
            vec!["Bob".to_owned(), "Hydrate".to_owned()]
        );
        // A name that looks like markup is a highlight like any other: text.
        let odd = one(&mut p, &testing::follow("<img src=x>"));
        assert_eq!(odd.message, "<img src=x> just followed");
        assert_eq!(highlights(&odd).1, vec!["<img src=x>".to_owned()]);
        assert!(!odd.css.as_deref().unwrap().contains('<'));
        // Switched off: nothing stands out.
        let mut p = plugin(json!({"alerts": {"channel.cheer": {"highlight": false}}}));
        let plain = one(&mut p, &testing::cheer("Bob", 500, ""));
        assert_eq!(plain.title, "Bob cheered 500 bits!");
        assert_eq!(highlights(&plain), (vec![], vec![]));
    }

    #[test]
    fn variations_change_the_look_of_bigger_moments() {
        let mut p = plugin(json!({}));
        let look = |a: &Alert| {
            let (options, _) = card::split(a.css.as_deref().unwrap()).unwrap();
            (
                a.image_url.clone(),
                a.sound_url.clone(),
                options["accent"].clone(),
                a.duration_ms,
            )
        };
        let small = one(&mut p, &testing::cheer("Bob", 100, ""));
        let big = one(&mut p, &testing::cheer("Bob", 10_000, ""));
        assert_ne!(look(&small), look(&big));
        assert_eq!(
            big.image_url.as_deref(),
            Some("/assets/alerts/gem-10000.svg")
        );
        assert_eq!(big.sound_url.as_deref(), Some("/assets/alerts/fanfare.wav"));
        let one_gift = one(&mut p, &gift(Some("Alice"), 1000, 1));
        let many = one(&mut p, &gift(Some("Alice"), 1000, 20));
        assert_eq!(one_gift.title, "Alice gifted a Tier 1 sub!");
        assert_eq!(
            one_gift.image_url.as_deref(),
            Some("/assets/alerts/gift.svg")
        );
        assert_eq!(many.image_url.as_deref(), Some("/assets/alerts/gifts.svg"));
        assert_ne!(look(&one_gift), look(&many));
        let year = one(&mut p, &resub("Bob", 1000, 12));
        let two = one(&mut p, &resub("Bob", 1000, 30));
        assert_eq!(year.image_url.as_deref(), Some("/assets/alerts/trophy.svg"));
        assert_eq!(two.image_url.as_deref(), Some("/assets/alerts/crown.svg"));
        assert_eq!(two.title, "Bob resubscribed for 30 months!");
    }

    #[test]
    fn the_look_settings_reach_the_card_options() {
        let mut p = plugin(json!({"alerts": {"channel.follow": {
            "animation": "slide-right", "accent": "#123456", "layout": "side",
            "sound_volume": 30, "tts_volume": 40,
            "variations": [{"when": "count >= 2", "animation": "zoom"}],
        }}}));
        let first = one(&mut p, &testing::follow("A"));
        let (options, _) = card::split(first.css.as_deref().unwrap()).unwrap();
        assert_eq!(options["animation"], "slide-right");
        assert_eq!(options["accent"], "#123456");
        assert_eq!(options["layout"], "side");
        assert_eq!(options["sound_volume"], 30);
        assert_eq!(options["tts_volume"], 40);
        let second = one(&mut p, &testing::follow("B"));
        let (options, _) = card::split(second.css.as_deref().unwrap()).unwrap();
        assert_eq!(options["animation"], "zoom");
    }

    #[test]
    fn donations_step_up_by_amount_compared_as_decimals() {
        let mut p = plugin(json!({}));
        let cases = [
            ("4.99", "Ann tipped 4.99 EUR!", 5_000),
            ("5.00", "Ann tipped 5.00 EUR! Thank you!", 7_000),
            ("19.99", "Ann tipped 19.99 EUR! Thank you!", 7_000),
            ("20", "Ann tipped 20 EUR! Wow, thank you!", 9_000),
            (
                "99.999999999999999999",
                "Ann tipped 99.999999999999999999 EUR! Wow, thank you!",
                9_000,
            ),
            ("100.00", "Ann tipped 100.00 EUR! THANK YOU!", 12_000),
        ];
        for (amount, title, duration_ms) in cases {
            let alert = one(&mut p, &testing::donation("Ann", amount, "EUR", "hi", true));
            assert_eq!(
                (alert.title.as_str(), alert.duration_ms),
                (title, duration_ms),
                "{amount}"
            );
            assert_eq!(alert.message, "hi");
        }
    }

    #[test]
    fn a_private_donation_alerts_without_its_message() {
        let mut p = plugin(json!({"alerts": {"donation": {
            "message": "{message}", "tts": "{username} says {message}",
            "variations": [{"when": "amount >= 1", "title": "{message} from {username}"}],
        }}}));
        let alert = one(
            &mut p,
            &testing::donation("Ann", "50.00", "USD", "my secret", false),
        );
        assert_eq!(alert.message, "");
        assert_eq!(alert.title, "from Ann");
        assert_eq!(alert.tts.as_deref(), Some("Ann says"));
        let shown = format!("{alert:?}");
        assert!(!shown.contains("my secret"), "{shown}");
        // A giver Ko-fi does not name is "Someone".
        let alert = one(&mut p, &testing::donation("", "2.00", "USD", "", true));
        assert_eq!(alert.title, "from Someone");
    }

    #[test]
    fn the_singular_reads_right() {
        let mut p = plugin(json!({}));
        assert_eq!(
            one(&mut p, &gift(Some("Alice"), 3000, 1)).title,
            "Alice gifted a Tier 3 sub!"
        );
        assert_eq!(
            one(&mut p, &testing::cheer("Bob", 1, "")).title,
            "Bob cheered 1 bit!"
        );
        assert_eq!(one(&mut p, &testing::raid("R", 1)).message, "with 1 viewer");
    }

    #[test]
    fn a_community_gift_is_one_alert_whatever_the_order() {
        let gift = gift(Some("Alice"), 1000, 3);
        let subs: Vec<Event> = (0..3).map(|n| sub(&format!("lucky{n}"), true)).collect();

        let mut p = plugin(json!({}));
        let mut shown = alerts(&mut p, &gift);
        for s in &subs {
            shown.extend(alerts(&mut p, s));
        }
        assert_eq!(shown.len(), 1, "gift first");
        assert_eq!(shown[0].title, "Alice gifted 3 Tier 1 subs!");

        let mut p = plugin(json!({}));
        let mut shown = Vec::new();
        for s in &subs {
            shown.extend(alerts(&mut p, s));
        }
        shown.extend(alerts(&mut p, &gift));
        assert_eq!(shown.len(), 1, "subs first");
        assert_eq!(shown[0].title, "Alice gifted 3 Tier 1 subs!");

        let mut p = plugin(json!({}));
        let mut shown = alerts(&mut p, &subs[0]);
        shown.extend(alerts(&mut p, &gift));
        shown.extend(alerts(&mut p, &subs[1]));
        shown.extend(alerts(&mut p, &subs[2]));
        assert_eq!(shown.len(), 1, "interleaved");
        // Gifted subs are not counted either.
        assert_eq!(testing::kv().get(&count_key(kinds::SUBSCRIBE)), None);
    }

    #[test]
    fn gifted_subs_are_known_by_their_typed_flag() {
        testing::reset();
        assert!(is_gifted_sub(&sub("x", true)));
        assert!(!is_gifted_sub(&sub("x", false)));
        // The gift itself, and other kinds, are not gifted subs.
        assert!(!is_gifted_sub(&testing::gift(Some("x"), 1)));
        assert!(!is_gifted_sub(&testing::cheer("x", 5, "")));
    }

    #[test]
    fn anonymous_gifts_say_so() {
        let mut p = plugin(json!({}));
        assert_eq!(
            one(&mut p, &gift(None, 2000, 10)).title,
            "An anonymous gifter gifted 10 Tier 2 subs!"
        );
    }

    #[test]
    fn a_plain_sub_still_alerts() {
        let mut p = plugin(json!({}));
        assert_eq!(alerts(&mut p, &sub("Bob", false)).len(), 1);
        assert_eq!(alerts(&mut p, &testing::subscribe("Bob", 3000)).len(), 1);
    }

    #[test]
    fn the_cheer_example_from_the_docs_works() {
        let mut p = plugin(json!({"alerts": {"channel.cheer": {
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
        let small = one(&mut p, &testing::cheer("Bob", 100, "hi"));
        assert_eq!(small.title, "Bob cheered 100 bits!");
        assert_eq!(small.duration_ms, 6000);
        assert_eq!(small.video_url, None);
        // Its own variations replace the built-in tiers: the base gem.
        assert_eq!(small.image_url.as_deref(), Some("/assets/alerts/gem-1.svg"));
        assert_eq!(
            small.sound_url.as_deref(),
            Some("https://example.com/coins.mp3")
        );
        assert_eq!(small.tts.as_deref(), Some("Bob says: hi"));

        let huge = one(&mut p, &testing::cheer("Bob", 5000, "hi"));
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
        let mut p = plugin(json!({"alerts": {"channel.subscription.message": {
            "variations": [
                {"when": "cumulative_months >= 12 and tier == 3000", "title": "Tier 3 veteran {username}!"},
                {"when": "cumulative_months >= 12", "title": "A year with {username}!", "image_url": "https://example.com/cake.gif"},
            ],
        }}}));
        let mut resub = |months: u32, tier: u32| one(&mut p, &resub("Bob", tier, months));
        assert_eq!(resub(24, 3000).title, "Tier 3 veteran Bob!");
        let year = resub(12, 1000);
        assert_eq!(year.title, "A year with Bob!");
        assert_eq!(
            year.image_url.as_deref(),
            Some("https://example.com/cake.gif")
        );
        assert_eq!(resub(3, 3000).title, "Bob resubscribed for 3 months!");
        // Own variations replace the built-in milestones (no crown at 30
        // months), and below them is the base star.
        assert_eq!(
            resub(30, 1000).image_url.as_deref(),
            Some("https://example.com/cake.gif")
        );
        assert_eq!(
            resub(3, 3000).image_url.as_deref(),
            Some("/assets/alerts/star.svg")
        );
    }

    #[test]
    fn typed_tiers_read_as_numbers_and_names() {
        let mut p = plugin(json!({"alerts": {"channel.subscribe": {
            "message": "{tier} is {tier_name}",
            "variations": [{"when": "tier > 2000", "title": "Big sub from {username}!"}],
        }}}));
        let tier3 = one(&mut p, &testing::subscribe("Bob", 3000));
        assert_eq!(tier3.title, "Big sub from Bob!");
        assert_eq!(tier3.message, "3000 is Tier 3");
        let tier1 = one(&mut p, &testing::subscribe("Bob", 1000));
        assert_eq!(tier1.title, "Bob subscribed!");
        assert_eq!(tier1.message, "1000 is Tier 1");
    }

    #[test]
    fn disabled_kinds_and_variations_show_nothing_and_touch_no_storage() {
        let mut p = plugin(json!({"alerts": {
            "channel.follow": {"enabled": false},
            "channel.cheer": {"variations": [{"when": "bits < 100", "enabled": false}]},
            "channel.raid": {"enabled": false, "variations": [{"when": "viewers >= 10", "enabled": true}]},
        }}));
        assert!(alerts(&mut p, &testing::follow("a")).is_empty());
        assert!(!testing::kv().contains_key(&count_key(kinds::FOLLOW)));
        assert!(alerts(&mut p, &testing::cheer("a", 99, "")).is_empty());
        assert_eq!(alerts(&mut p, &testing::cheer("a", 100, "")).len(), 1);
        assert!(alerts(&mut p, &testing::raid("r", 3)).is_empty());
        assert_eq!(alerts(&mut p, &testing::raid("r", 30)).len(), 1);
        assert_eq!(
            testing::kv()
                .get(&count_key(kinds::CHEER))
                .map(String::as_str),
            Some("1")
        );
    }

    #[test]
    fn alerts_are_counted_per_kind_and_the_count_is_a_variable() {
        let mut p = plugin(json!({"alerts": {"channel.follow": {
            "message": "{username} is follower #{count}",
            "variations": [{"when": "count == 3", "title": "Third follower!"}],
        }}}));
        let a = one(&mut p, &testing::follow("A"));
        let b = one(&mut p, &testing::follow("B"));
        let c = one(&mut p, &testing::follow("C"));
        assert_eq!(a.message, "A is follower #1");
        assert_eq!(b.message, "B is follower #2");
        assert_eq!(
            (c.title.as_str(), c.message.as_str()),
            ("Third follower!", "C is follower #3")
        );
        one(&mut p, &testing::cheer("", 5, ""));
        let kv = testing::kv();
        assert_eq!(
            kv.get("count:channel.follow").map(String::as_str),
            Some("3")
        );
        assert_eq!(kv.get("count:channel.cheer").map(String::as_str), Some("1"));
    }

    #[test]
    fn the_count_outlives_the_plugin_value() {
        let mut p = plugin(json!({"alerts": {"channel.follow": {"message": "#{count}"}}}));
        one(&mut p, &testing::follow("A"));
        // A reload builds a new value; the count is in storage.
        let mut p = AlertBox::new(Settings::from_json(
            json!({"alerts": {"channel.follow": {"message": "#{count}"}}}),
        ))
        .unwrap();
        assert_eq!(one(&mut p, &testing::follow("B")).message, "#2");
    }

    #[test]
    fn a_stored_count_that_is_not_a_number_starts_over() {
        let mut p = plugin(json!({}));
        host::kv_set("count:channel.follow", "garbage");
        one(&mut p, &testing::follow("A"));
        assert_eq!(
            testing::kv()
                .get("count:channel.follow")
                .map(String::as_str),
            Some("1")
        );
    }

    #[test]
    fn urls_tts_html_and_overlay_reach_the_alert() {
        let mut p = plugin(json!({"overlay": "main", "alerts": {"channel.follow": {
            "image_url": "https://example.com/a.gif",
            "sound_url": "https://example.com/a.mp3",
            "video_url": "",
            "tts": "Welcome {username}",
            "html": "<div class=\"x\">{title}</div>",
            "css": ".x { color: red }",
            "duration_ms": 4000,
        }, "channel.raid": {"overlay": "raids"}}}));
        let alert = one(&mut p, &testing::follow("Bob"));
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
        let (_, own_css) = card::split(alert.css.as_deref().unwrap()).unwrap();
        assert_eq!(own_css, ".x { color: red }");
        assert_eq!(alert.duration_ms, 4000);
        assert_eq!(one(&mut p, &testing::raid("R", 5)).overlay, "raids");
    }

    #[test]
    fn a_tts_template_that_renders_empty_is_no_tts() {
        let mut p = plugin(json!({"alerts": {"channel.cheer": {"tts": "{message}"}}}));
        assert_eq!(one(&mut p, &testing::cheer("x", 5, "")).tts, None);
        assert_eq!(
            one(&mut p, &testing::cheer("x", 5, "hey")).tts.as_deref(),
            Some("hey")
        );
    }

    #[test]
    fn missing_or_odd_data_never_panics() {
        let mut p = plugin(json!({}));
        for kind in KINDS {
            for json in [
                "{}",
                "null",
                "not json",
                "[]",
                r#"{"username": 5, "bits": {}, "total": "x", "reward": 3}"#,
            ] {
                let e = testing::event(kind, None, EventData::Other(json.into()));
                let actions = p.on_event(&e).expect("no error");
                assert_eq!(actions.len(), 1, "{kind} {json}");
            }
        }
        let mut nobody = testing::follow("x");
        nobody.viewer = None;
        assert_eq!(one(&mut p, &nobody).message, "Someone just followed");
        let untyped_gift = testing::event(kinds::GIFT, None, EventData::Other("{}".into()));
        assert_eq!(one(&mut p, &untyped_gift).title, "Someone gifted subs!");
    }

    #[test]
    fn kinds_it_does_not_handle_get_nothing() {
        let mut p = plugin(json!({}));
        let ban = EventData::Ban(Ban {
            permanent: true,
            duration_seconds: None,
            expires_at_ms: None,
            reason: None,
            moderator_name: None,
            moderator_id: None,
        });
        assert!(alerts(&mut p, &testing::event(kinds::BAN, named("x"), ban)).is_empty());
        assert!(alerts(&mut p, &testing::chat("x", "hi", &[])).is_empty());
        assert!(alerts(&mut p, &testing::other(kinds::STREAM_ONLINE, json!({}))).is_empty());
        assert!(testing::kv().is_empty());
    }

    #[test]
    fn bad_settings_stop_new_with_a_clear_message() {
        testing::reset();
        let new = |settings: Value| AlertBox::new(Settings::from_json(settings)).err();
        let err =
            new(json!({"alerts": {"channel.cheer": {"variations": [{"when": "bits >>= 1000"}]}}}))
                .expect("a bad condition is an error");
        assert!(err.starts_with("alert-box settings: "), "{err}");
        assert!(err.contains("channel.cheer"), "{err}");
        assert!(err.contains("bits >>= 1000"), "{err}");
        let err = new(json!({"alerts": {"channel.follow": {"duration_ms": -1}}}))
            .expect("a negative duration is an error");
        assert!(err.contains("duration_ms"), "{err}");
        assert!(AlertBox::new(Settings::default()).is_ok());
    }

    #[test]
    fn tidy_collapses_gaps_left_by_empty_variables() {
        assert_eq!(tidy("Bob gifted 5  subs!"), "Bob gifted 5 subs!");
        assert_eq!(tidy("  a  \n  b  "), "a\nb");
        assert_eq!(tidy(""), "");
    }

    #[test]
    fn it_wants_only_the_alert_kinds() {
        let info = AlertBox::describe();
        assert_eq!(info.kinds, KINDS.to_vec());
        assert!(!info.kinds.contains(&kinds::BAN.to_string()));
        // Roles default to those implemented: actions only.
        assert!(info.roles.is_empty());
    }
}

#[cfg(test)]
mod manifest_tests {
    //! plugin.toml must have the shape the host parses, match the crate,
    //! ship the built-in alerts, and describe the settings form the plugin
    //! reads.

    use super::*;
    use stagehand_plugin_sdk::serde_json::{self, Value};

    const MANIFEST: &str = include_str!("../plugin.toml");

    fn manifest() -> toml::Table {
        toml::from_str(MANIFEST).expect("plugin.toml is TOML")
    }

    #[test]
    fn the_manifest_names_the_crate() {
        // The manifest is the one source of name and version; the host warns
        // when the crate's differ.
        let m = manifest();
        let text = |key: &str| m.get(key).and_then(toml::Value::as_str).map(str::to_owned);
        assert_eq!(text("name").as_deref(), Some(env!("CARGO_PKG_NAME")));
        assert_eq!(text("version").as_deref(), Some(env!("CARGO_PKG_VERSION")));
    }

    #[test]
    fn the_shipped_settings_are_the_built_in_alerts() {
        let settings = manifest()
            .get("settings")
            .cloned()
            .unwrap_or(toml::Value::Table(Default::default()));
        let settings: Value = serde_json::to_value(settings).expect("settings are JSON");
        assert_eq!(
            config::Config::parse(&settings).expect("shipped settings load"),
            config::Config::defaults()
        );
    }

    #[test]
    fn the_settings_schema_in_the_manifest_is_current() {
        let generated = schema::generate();
        let at = MANIFEST
            .find(schema::MARKER)
            .expect("plugin.toml has the settings form");
        if MANIFEST[at..] != generated && std::env::var_os("STAGEHAND_BLESS").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/plugin.toml");
            std::fs::write(path, format!("{}{generated}", &MANIFEST[..at])).unwrap();
            return;
        }
        assert!(
            MANIFEST[at..] == generated,
            "plugin.toml's settings form is not what src/schema.rs makes: run \
             `STAGEHAND_BLESS=1 cargo test -p alert-box` and commit plugin.toml"
        );
    }

    /// The settings a form fills from the schema's defaults.
    fn defaults_of(fields: &[toml::Value]) -> Value {
        let mut out = serde_json::Map::new();
        for f in fields {
            let key = f["key"].as_str().unwrap().to_owned();
            if let Some(default) = f.get("default") {
                out.insert(key, serde_json::to_value(default).unwrap());
            } else if f["type"].as_str() == Some("record") {
                let nested = f["fields"].as_array().unwrap();
                out.insert(key, defaults_of(nested));
            }
        }
        Value::Object(out)
    }

    #[test]
    fn donations_thank_louder_as_the_amount_grows_and_keep_private_messages_private() {
        stagehand_plugin_sdk::testing::reset();
        let mut p = AlertBox::new(Settings::from_json(serde_json::json!({}))).unwrap();
        let title_of = |actions: Vec<Action>| match actions.as_slice() {
            [Action::ShowAlert(alert)] => (
                alert.title.clone(),
                alert.message.clone(),
                alert.image_url.clone().unwrap_or_default(),
            ),
            other => panic!("one alert, got {other:?}"),
        };
        let (big, _, crown) = title_of(
            p.on_event(&stagehand_plugin_sdk::testing::donation(
                "Ann", "100.00", "USD", "hi", true,
            ))
            .unwrap(),
        );
        assert_eq!(big, "Ann tipped 100.00 USD! THANK YOU!");
        assert!(crown.ends_with("crown.svg"), "{crown}");
        let (wow, _, _) = title_of(
            p.on_event(&stagehand_plugin_sdk::testing::donation(
                "Ann", "20.00", "USD", "", true,
            ))
            .unwrap(),
        );
        assert_eq!(wow, "Ann tipped 20.00 USD! Wow, thank you!");
        // Compared as decimals: just under 20 is the next step down.
        let (thanks, _, _) = title_of(
            p.on_event(&stagehand_plugin_sdk::testing::donation(
                "Ann", "19.99", "USD", "", true,
            ))
            .unwrap(),
        );
        assert_eq!(thanks, "Ann tipped 19.99 USD! Thank you!");
        let (small, message, _) = title_of(
            p.on_event(&stagehand_plugin_sdk::testing::donation(
                "Ann", "4.99", "EUR", "secret", false,
            ))
            .unwrap(),
        );
        assert_eq!(small, "Ann tipped 4.99 EUR!");
        assert_eq!(message, "", "a private donation's message is never shown");
    }

    #[test]
    fn the_schema_names_every_setting_and_its_defaults_are_the_built_ins() {
        let m = manifest();
        let fields = m["setting"].as_array().expect("[[setting]] tables");
        let keys = |list: &[toml::Value]| -> Vec<String> {
            let mut k: Vec<String> = list
                .iter()
                .map(|f| f["key"].as_str().unwrap().to_owned())
                .collect();
            k.sort();
            k
        };
        assert_eq!(keys(fields), ["alerts", "overlay"]);
        let alerts = fields
            .iter()
            .find(|f| f["key"].as_str() == Some("alerts"))
            .unwrap();
        let kinds = alerts["fields"].as_array().unwrap();
        let mut want: Vec<String> = KINDS.iter().map(|k| k.to_string()).collect();
        want.sort();
        assert_eq!(keys(kinds), want);
        let alert_keys = [
            "accent",
            "animation",
            "css",
            "duration_ms",
            "enabled",
            "highlight",
            "html",
            "image_url",
            "layout",
            "message",
            "overlay",
            "sound_url",
            "sound_volume",
            "title",
            "tts",
            "tts_volume",
            "video_url",
        ];
        for kind in kinds {
            let fields = kind["fields"].as_array().unwrap();
            let mut with_variations: Vec<&str> = alert_keys.to_vec();
            with_variations.push("variations");
            with_variations.sort();
            assert_eq!(keys(fields), with_variations, "{}", kind["key"]);
            let variations = fields
                .iter()
                .find(|f| f["key"].as_str() == Some("variations"))
                .unwrap();
            assert_eq!(variations["type"].as_str(), Some("list"));
            let mut with_when: Vec<&str> = alert_keys.to_vec();
            with_when.push("when");
            with_when.sort();
            assert_eq!(keys(variations["fields"].as_array().unwrap()), with_when);
            // Every key the schema names, the plugin accepts.
            let every: serde_json::Map<String, Value> = fields
                .iter()
                .filter(|f| f["key"].as_str() != Some("variations"))
                .filter_map(|f| {
                    f.get("default").map(|d| {
                        (
                            f["key"].as_str().unwrap().to_owned(),
                            serde_json::to_value(d).unwrap(),
                        )
                    })
                })
                .collect();
            let one = serde_json::json!({"alerts": {kind["key"].as_str().unwrap(): every}});
            config::Config::parse(&one).unwrap_or_else(|e| panic!("{e}"));
        }
        // A form saving exactly the defaults changes nothing.
        let saved = defaults_of(fields);
        assert_eq!(
            config::Config::parse(&saved).expect("the defaults load"),
            config::Config::defaults(),
            "{saved:#}"
        );
    }
}
