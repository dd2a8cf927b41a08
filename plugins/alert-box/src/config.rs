//! The alert box's settings: an alert per kind, built-in defaults the
//! streamer overrides field by field, and variations picked by conditions.
//!
//! ```toml
//! [settings]
//! overlay = "alerts"                        # optional: the overlay for every kind
//! [settings.alerts."channel.cheer"]
//! title = "{username} cheered {bits} bits!"
//! duration_ms = 6000
//! [[settings.alerts."channel.cheer".variations]]
//! when = "bits >= 1000"
//! video_url = "https://example.com/huge.webm"
//! ```

use std::collections::BTreeMap;

use stagehand_plugin_sdk::kinds;
use stagehand_plugin_sdk::serde_json::{Map, Value};

use crate::condition::Condition;

/// The kinds the alert box shows alerts for: what it asks the host for, and
/// the only keys `[settings.alerts]` accepts.
pub const KINDS: [&str; 8] = [
    kinds::FOLLOW,
    kinds::SUBSCRIBE,
    kinds::RESUB,
    kinds::GIFT,
    kinds::CHEER,
    kinds::RAID,
    kinds::REDEMPTION,
    kinds::DONATION,
];

/// Longest an alert may stay on screen: a typo like 60000000 must not
/// block the alert queue for hours.
pub const MAX_DURATION_MS: u64 = 300_000;

/// One alert, fully decided (templates not yet filled). Empty strings mean
/// "none", so a variation can remove a sound with `sound_url = ""`.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    pub(crate) enabled: bool,
    pub(crate) overlay: String,
    pub(crate) title: String,
    pub(crate) message: String,
    pub(crate) image_url: String,
    pub(crate) sound_url: String,
    pub(crate) video_url: String,
    pub(crate) tts: String,
    pub(crate) duration_ms: u32,
    pub(crate) html: String,
    pub(crate) css: String,
}

/// Fields a kind's settings or a variation set; the rest keep their value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    pub(crate) enabled: Option<bool>,
    pub(crate) overlay: Option<String>,
    pub(crate) title: Option<String>,
    pub(crate) message: Option<String>,
    pub(crate) image_url: Option<String>,
    pub(crate) sound_url: Option<String>,
    pub(crate) video_url: Option<String>,
    pub(crate) tts: Option<String>,
    pub(crate) duration_ms: Option<u32>,
    pub(crate) html: Option<String>,
    pub(crate) css: Option<String>,
}

/// Overrides that apply when `when` holds for the event.
#[derive(Debug, Clone, PartialEq)]
pub struct Variation {
    pub(crate) when: Condition,
    pub(crate) overrides: Overrides,
}

/// A kind's alert: the base, and variations tried in order.
#[derive(Debug, Clone, PartialEq)]
pub struct KindConfig {
    pub(crate) base: Spec,
    pub(crate) variations: Vec<Variation>,
}

/// The whole configuration, parsed once when the plugin is built.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    kinds: BTreeMap<String, KindConfig>,
}

impl Spec {
    /// Sets every field the overrides name.
    pub fn apply(&mut self, o: &Overrides) {
        fn set<T: Clone>(field: &mut T, value: &Option<T>) {
            if let Some(v) = value {
                *field = v.clone();
            }
        }
        set(&mut self.enabled, &o.enabled);
        set(&mut self.overlay, &o.overlay);
        set(&mut self.title, &o.title);
        set(&mut self.message, &o.message);
        set(&mut self.image_url, &o.image_url);
        set(&mut self.sound_url, &o.sound_url);
        set(&mut self.video_url, &o.video_url);
        set(&mut self.tts, &o.tts);
        set(&mut self.duration_ms, &o.duration_ms);
        set(&mut self.html, &o.html);
        set(&mut self.css, &o.css);
    }
}

impl KindConfig {
    /// The alert for an event: the base with the first matching variation
    /// applied.
    pub fn resolve(&self, lookup: impl Fn(&str) -> Option<String>) -> Spec {
        let mut spec = self.base.clone();
        if let Some(v) = self.variations.iter().find(|v| v.when.matches(&lookup)) {
            spec.apply(&v.overrides);
        }
        spec
    }

    /// Whether any event of this kind can show an alert, so a disabled kind
    /// costs no storage calls.
    pub fn may_alert(&self) -> bool {
        self.base.enabled
            || self
                .variations
                .iter()
                .any(|v| v.overrides.enabled == Some(true))
    }
}

impl Config {
    /// The built-in alerts, as with empty settings.
    pub fn defaults() -> Config {
        let empty = Value::Object(Map::new());
        Config::parse(&empty).unwrap_or(Config {
            kinds: BTreeMap::new(),
        })
    }

    /// The alert configuration of `kind`, if the alert box handles it.
    pub fn kind(&self, kind: &str) -> Option<&KindConfig> {
        self.kinds.get(kind)
    }

    /// Parses the plugin's settings. Every error names where it is
    /// (`alerts."channel.cheer".variations[0].when`) and what is wrong.
    pub fn parse(settings: &Value) -> Result<Config, String> {
        let Some(table) = settings.as_object() else {
            return Err("settings must be a table".into());
        };
        let mut overlay = None;
        let mut user = BTreeMap::new();
        for (key, value) in table {
            match key.as_str() {
                "overlay" => overlay = Some(overlay_name("overlay", value)?),
                "alerts" => {
                    let Some(alerts) = value.as_object() else {
                        return Err("`alerts` must be a table with one table per kind".into());
                    };
                    for (kind, value) in alerts {
                        let path = format!("alerts.\"{kind}\"");
                        if !KINDS.contains(&kind.as_str()) {
                            return Err(format!(
                                "{path}: alert-box does not show alerts for this kind (it does for {})",
                                KINDS.join(", ")
                            ));
                        }
                        user.insert(kind.clone(), parse_kind(&path, value)?);
                    }
                }
                other => {
                    return Err(format!(
                        "unknown setting `{other}` (alert-box knows `alerts` and `overlay`)"
                    ));
                }
            }
        }
        let mut kinds = BTreeMap::new();
        for kind in KINDS {
            let (mut base, mut variations) = builtin(kind);
            if let Some(overlay) = &overlay {
                base.overlay = overlay.clone();
            }
            if let Some((overrides, own)) = user.remove(kind) {
                // Built-in variations reword the built-in text: a kind given
                // its own text or variations drops them.
                if own.is_some() || overrides.title.is_some() || overrides.message.is_some() {
                    variations = own.unwrap_or_default();
                }
                base.apply(&overrides);
            }
            kinds.insert(kind.to_owned(), KindConfig { base, variations });
        }
        Ok(Config { kinds })
    }
}

/// The built-in alert of a kind: what a streamer gets with empty settings.
fn builtin(kind: &str) -> (Spec, Vec<Variation>) {
    let (title, message) = match kind {
        kinds::FOLLOW => ("New follower!", "{username} just followed"),
        kinds::SUBSCRIBE => ("{username} subscribed!", "{tier_name}"),
        kinds::RESUB => (
            "{username} resubscribed for {cumulative_months} months!",
            "{message}",
        ),
        kinds::GIFT => (
            "{username} gifted {total} {tier_name} subs!",
            "Thank you for supporting the community!",
        ),
        kinds::CHEER => ("{username} cheered {bits} bits!", "{message}"),
        kinds::RAID => ("{username} is raiding!", "with {viewers} viewers"),
        kinds::REDEMPTION => ("{username} redeemed {reward.title}", "{user_input}"),
        // {message} is empty for a private donation (see `Vars`).
        kinds::DONATION => ("{username} tipped {amount} {currency}!", "{message}"),
        _ => ("{kind}", ""),
    };
    let base = Spec {
        enabled: true,
        overlay: "alerts".into(),
        title: title.into(),
        message: message.into(),
        image_url: String::new(),
        sound_url: String::new(),
        video_url: String::new(),
        tts: String::new(),
        duration_ms: if kind == kinds::RAID { 8_000 } else { 5_000 },
        html: String::new(),
        css: String::new(),
    };
    // Singular wording; the conditions are constants, so parsing cannot fail.
    let singular = |when: &str, title: &str, message: Option<&str>| {
        Condition::parse(when).ok().map(|when| Variation {
            when,
            overrides: Overrides {
                title: Some(title.into()),
                message: message.map(Into::into),
                ..Overrides::default()
            },
        })
    };
    let variations = match kind {
        kinds::GIFT => singular("total == 1", "{username} gifted a {tier_name} sub!", None),
        kinds::CHEER => singular("bits == 1", "{username} cheered 1 bit!", None),
        kinds::RAID => singular(
            "viewers == 1",
            "{username} is raiding!",
            Some("with 1 viewer"),
        ),
        kinds::DONATION => return (base, donation_variations()),
        _ => None,
    };
    (base, variations.into_iter().collect())
}

/// A donation's built-in steps by amount, in the donation's own currency
/// units (compared as decimals, so "19.99" is below 20): the bigger the
/// tip, the louder the thanks and the longer it stays. Under 5 the base
/// alert shows.
fn donation_variations() -> Vec<Variation> {
    let steps = [
        (
            "amount >= 100",
            "{username} tipped {amount} {currency}! THANK YOU!",
            12_000,
        ),
        (
            "amount >= 20",
            "{username} tipped {amount} {currency}! Wow, thank you!",
            9_000,
        ),
        (
            "amount >= 5",
            "{username} tipped {amount} {currency}! Thank you!",
            7_000,
        ),
    ];
    steps
        .into_iter()
        .filter_map(|(when, title, duration_ms)| {
            Condition::parse(when).ok().map(|when| Variation {
                when,
                overrides: Overrides {
                    title: Some(title.into()),
                    duration_ms: Some(duration_ms),
                    ..Overrides::default()
                },
            })
        })
        .collect()
}

/// A kind's table: its overrides and, if given, its own variations.
fn parse_kind(path: &str, value: &Value) -> Result<(Overrides, Option<Vec<Variation>>), String> {
    let table = value
        .as_object()
        .ok_or_else(|| format!("{path} must be a table"))?;
    let mut variations = None;
    let mut fields = Map::new();
    for (key, value) in table {
        if key == "variations" {
            let list = value.as_array().ok_or_else(|| {
                format!("{path}.variations must be a list of tables ([[...variations]])")
            })?;
            let parsed = list
                .iter()
                .enumerate()
                .map(|(i, v)| parse_variation(&format!("{path}.variations[{i}]"), v))
                .collect::<Result<Vec<_>, _>>()?;
            variations = Some(parsed);
        } else {
            fields.insert(key.clone(), value.clone());
        }
    }
    Ok((parse_overrides(path, &fields, false)?, variations))
}

fn parse_variation(path: &str, value: &Value) -> Result<Variation, String> {
    let table = value
        .as_object()
        .ok_or_else(|| format!("{path} must be a table"))?;
    let when = match table.get("when") {
        Some(Value::String(text)) => Condition::parse(text)
            .map_err(|e| format!("{path}.when \"{text}\" does not parse: {e}"))?,
        Some(_) => return Err(format!("{path}.when must be text like \"bits >= 1000\"")),
        None => {
            return Err(format!(
                "{path} has no `when` (e.g. when = \"bits >= 1000\")"
            ));
        }
    };
    Ok(Variation {
        when,
        overrides: parse_overrides(path, table, true)?,
    })
}

/// The alert fields of a kind or variation table; `when` is allowed only in
/// a variation.
fn parse_overrides(
    path: &str,
    table: &Map<String, Value>,
    variation: bool,
) -> Result<Overrides, String> {
    let mut o = Overrides::default();
    for (key, value) in table {
        let at = format!("{path}.{key}");
        match key.as_str() {
            "when" if variation => {}
            "enabled" => {
                o.enabled = Some(
                    value
                        .as_bool()
                        .ok_or_else(|| format!("{at} must be true or false"))?,
                )
            }
            "overlay" => o.overlay = Some(overlay_name(&at, value)?),
            "title" => o.title = Some(text(&at, value)?),
            "message" => o.message = Some(text(&at, value)?),
            "tts" => o.tts = Some(text(&at, value)?),
            "html" => o.html = Some(text(&at, value)?),
            "css" => o.css = Some(text(&at, value)?),
            "image_url" => o.image_url = Some(url(&at, value)?),
            "sound_url" => o.sound_url = Some(url(&at, value)?),
            "video_url" => o.video_url = Some(url(&at, value)?),
            "duration_ms" => {
                let ms = value
                    .as_u64()
                    .filter(|ms| (1..=MAX_DURATION_MS).contains(ms))
                    .ok_or_else(|| {
                        format!(
                            "{at} must be a whole number of milliseconds, 1 to {MAX_DURATION_MS}"
                        )
                    })?;
                o.duration_ms = Some(ms as u32);
            }
            other => {
                return Err(format!(
                    "{path}: unknown key `{other}` (known: {}{})",
                    if variation { "when, " } else { "variations, " },
                    "enabled, overlay, title, message, image_url, sound_url, video_url, tts, duration_ms, html, css"
                ));
            }
        }
    }
    Ok(o)
}

fn text(at: &str, value: &Value) -> Result<String, String> {
    value
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("{at} must be text"))
}

/// An http(s) URL, or "" for none.
fn url(at: &str, value: &Value) -> Result<String, String> {
    let url = text(at, value)?.trim().to_owned();
    if url.is_empty() || url.starts_with("https://") || url.starts_with("http://") {
        Ok(url)
    } else {
        Err(format!(
            "{at} must be an http(s) URL or \"\", not \"{url}\""
        ))
    }
}

/// Overlay names as they appear in `/overlay/{name}`.
fn overlay_name(at: &str, value: &Value) -> Result<String, String> {
    let name = text(at, value)?;
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(name)
    } else {
        Err(format!(
            "{at} must be an overlay name (letters, digits, - and _), not \"{name}\""
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stagehand_plugin_sdk::serde_json::json;

    fn parse(settings: Value) -> Result<Config, String> {
        Config::parse(&settings)
    }

    fn none(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn empty_settings_give_an_alert_for_every_kind() {
        let config = parse(json!({})).unwrap();
        for kind in KINDS {
            let k = config.kind(kind).expect(kind);
            assert!(k.base.enabled && k.may_alert(), "{kind}");
            assert_eq!(k.base.overlay, "alerts");
            assert!(!k.base.title.is_empty(), "{kind}");
        }
        assert_eq!(config.kind("channel.ban"), None);
        assert_eq!(Config::defaults(), config);
    }

    #[test]
    fn kind_settings_override_the_defaults_field_by_field() {
        let config = parse(json!({"alerts": {"channel.follow": {
            "sound_url": "https://example.com/ding.mp3", "duration_ms": 3000, "tts": "hi {username}"
        }}}))
        .unwrap();
        let spec = config.kind("channel.follow").unwrap().resolve(none);
        assert_eq!(spec.title, "New follower!");
        assert_eq!(spec.sound_url, "https://example.com/ding.mp3");
        assert_eq!(spec.duration_ms, 3000);
        assert_eq!(spec.tts, "hi {username}");
    }

    #[test]
    fn the_first_matching_variation_wins() {
        let config = parse(json!({"alerts": {"channel.cheer": {
            "title": "base", "duration_ms": 6000,
            "variations": [
                {"when": "bits >= 10000", "title": "mega"},
                {"when": "bits >= 1000", "title": "huge", "video_url": "https://example.com/huge.webm"},
                {"when": "bits >= 100", "enabled": false},
            ]
        }}}))
        .unwrap();
        let cheer = config.kind("channel.cheer").unwrap();
        let with_bits = |bits: &'static str| {
            cheer.resolve(move |name: &str| (name == "bits").then(|| bits.to_owned()))
        };
        assert_eq!(with_bits("50000").title, "mega");
        assert_eq!(with_bits("50000").video_url, "");
        let huge = with_bits("1000");
        assert_eq!((huge.title.as_str(), huge.duration_ms), ("huge", 6000));
        assert_eq!(huge.video_url, "https://example.com/huge.webm");
        assert!(!with_bits("500").enabled);
        assert_eq!(with_bits("50").title, "base");
        assert!(with_bits("50").enabled);
    }

    #[test]
    fn builtin_variations_stay_only_while_the_text_is_builtin() {
        let gift = |settings: Value| {
            let config = parse(settings).unwrap();
            config
                .kind("channel.subscription.gift")
                .unwrap()
                .variations
                .len()
        };
        assert_eq!(gift(json!({})), 1);
        let kind = |v: Value| json!({"alerts": {"channel.subscription.gift": v}});
        assert_eq!(
            gift(kind(json!({"sound_url": "https://x.example/a.mp3"}))),
            1
        );
        assert_eq!(gift(kind(json!({"title": "{total} gifts!"}))), 0);
        assert_eq!(gift(kind(json!({"variations": []}))), 0);
        assert_eq!(
            gift(kind(json!({"variations": [{"when": "total >= 50"}]}))),
            1
        );
    }

    #[test]
    fn a_kind_can_be_disabled_or_enabled_only_by_a_variation() {
        let config = parse(json!({"alerts": {
            "channel.follow": {"enabled": false},
            "channel.cheer": {"enabled": false, "variations": [{"when": "bits >= 1000", "enabled": true}]},
        }}))
        .unwrap();
        assert!(!config.kind("channel.follow").unwrap().may_alert());
        assert!(config.kind("channel.cheer").unwrap().may_alert());
    }

    #[test]
    fn the_overlay_can_be_set_for_all_or_per_kind() {
        let config =
            parse(json!({"overlay": "bottom", "alerts": {"channel.raid": {"overlay": "raids"}}}))
                .unwrap();
        assert_eq!(
            config.kind("channel.follow").unwrap().base.overlay,
            "bottom"
        );
        assert_eq!(config.kind("channel.raid").unwrap().base.overlay, "raids");
    }

    #[test]
    fn bad_settings_say_where_and_what() {
        let cases = [
            (json!([]), "settings must be a table"),
            (json!({"alert": {}}), "unknown setting `alert`"),
            (json!({"alerts": []}), "`alerts` must be a table"),
            (
                json!({"alerts": {"channel.folow": {}}}),
                "alerts.\"channel.folow\": alert-box does not show alerts",
            ),
            (
                json!({"alerts": {"channel.cheer": {"variations": [{"when": "bits >== 1000"}]}}}),
                "alerts.\"channel.cheer\".variations[0].when \"bits >== 1000\" does not parse",
            ),
            (
                json!({"alerts": {"channel.subscription.message": {"variations": [{"when": "x == 1"}, {"when": "cumulative_months = 12"}]}}}),
                "alerts.\"channel.subscription.message\".variations[1].when \"cumulative_months = 12\"",
            ),
            (
                json!({"alerts": {"channel.cheer": {"variations": [{"title": "x"}]}}}),
                "variations[0] has no `when`",
            ),
            (
                json!({"alerts": {"channel.cheer": {"variations": [{"when": 5}]}}}),
                "variations[0].when must be text",
            ),
            (
                json!({"alerts": {"channel.cheer": {"variations": {"when": "bits > 1"}}}}),
                "variations must be a list",
            ),
            (
                json!({"alerts": {"channel.cheer": {"titel": "x"}}}),
                "alerts.\"channel.cheer\": unknown key `titel`",
            ),
            (
                json!({"alerts": {"channel.cheer": {"when": "bits > 1"}}}),
                "unknown key `when`",
            ),
            (
                json!({"alerts": {"channel.cheer": {"variations": [{"when": "bits > 1", "variations": []}]}}}),
                "unknown key `variations`",
            ),
            (
                json!({"alerts": {"channel.follow": {"duration_ms": 0}}}),
                "duration_ms must be a whole number",
            ),
            (
                json!({"alerts": {"channel.follow": {"duration_ms": 60_000_000}}}),
                "duration_ms must be a whole number",
            ),
            (
                json!({"alerts": {"channel.follow": {"duration_ms": "5s"}}}),
                "duration_ms must be a whole number",
            ),
            (
                json!({"alerts": {"channel.follow": {"image_url": "C:\\cat.gif"}}}),
                "image_url must be an http(s) URL",
            ),
            (
                json!({"alerts": {"channel.follow": {"enabled": "no"}}}),
                "enabled must be true or false",
            ),
            (
                json!({"alerts": {"channel.follow": {"title": 5}}}),
                "title must be text",
            ),
            (
                json!({"alerts": {"channel.follow": {"overlay": "my overlay"}}}),
                "overlay must be an overlay name",
            ),
            (json!({"overlay": ""}), "overlay must be an overlay name"),
        ];
        for (settings, expected) in cases {
            let err = parse(settings.clone()).expect_err(&settings.to_string());
            assert!(
                err.contains(expected),
                "{settings}\n  got: {err}\n  want: {expected}"
            );
        }
    }
}
