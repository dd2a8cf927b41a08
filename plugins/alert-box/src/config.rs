//! The alert box's settings: an alert per kind, built-in defaults the
//! streamer overrides field by field, and variations picked by conditions.
//!
//! ```toml
//! [settings]
//! overlay = "alerts"                        # optional: the overlay for every kind
//! [settings.alerts."channel.cheer"]
//! title = "{username} cheered {bits} bits!"
//! duration_ms = 6000
//! animation = "bounce"
//! accent = "#1db2a5"
//! [[settings.alerts."channel.cheer".variations]]
//! when = "bits >= 1000"
//! video_url = "https://example.com/huge.webm"
//! ```
//!
//! Every kind has a built-in look (picture, sound, animation, accent colour)
//! from the media the host ships under `/assets/alerts/`, and built-in
//! variations that change it for bigger moments (bits tiers, many gifts,
//! resub milestones, big raids); see [`builtin`].

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

/// The entrance (and matching exit) animations the overlay knows.
pub const ANIMATIONS: [&str; 7] = [
    "pop",
    "slide-up",
    "slide-down",
    "slide-left",
    "slide-right",
    "zoom",
    "bounce",
];

/// Where the picture goes: above the text, or beside it.
pub const LAYOUTS: [&str; 2] = ["stack", "side"];

/// Where the host serves its built-in alert media.
pub const BUILTIN_MEDIA: &str = "/assets/alerts/";

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
    /// One of [`ANIMATIONS`].
    pub(crate) animation: String,
    /// `#rrggbb`: the highlighted words and the card's glow.
    pub(crate) accent: String,
    /// One of [`LAYOUTS`].
    pub(crate) layout: String,
    /// 0 to 100 (percent).
    pub(crate) sound_volume: u8,
    /// 0 to 100 (percent).
    pub(crate) tts_volume: u8,
    /// Whether the viewer's name and the amount stand out in the text.
    pub(crate) highlight: bool,
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
    pub(crate) animation: Option<String>,
    pub(crate) accent: Option<String>,
    pub(crate) layout: Option<String>,
    pub(crate) sound_volume: Option<u8>,
    pub(crate) tts_volume: Option<u8>,
    pub(crate) highlight: Option<bool>,
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
        set(&mut self.animation, &o.animation);
        set(&mut self.accent, &o.accent);
        set(&mut self.layout, &o.layout);
        set(&mut self.sound_volume, &o.sound_volume);
        set(&mut self.tts_volume, &o.tts_volume);
        set(&mut self.highlight, &o.highlight);
    }
}

impl Overrides {
    /// Whether these overrides set nothing.
    fn is_empty(&self) -> bool {
        *self == Overrides::default()
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

    /// Every kind's configuration, by kind.
    pub fn kinds(&self) -> impl Iterator<Item = (&str, &KindConfig)> {
        self.kinds.iter().map(|(k, v)| (k.as_str(), v))
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
                // A form's empty field: the default overlay.
                "overlay" if value.as_str() == Some("") => {}
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
                match own {
                    // The streamer's own variations replace the built-in ones.
                    Some(own) => variations = own,
                    // Built-in variations reword the built-in text (the
                    // singular "1 bit"): a kind given its own title or
                    // message keeps their looks but not their words. Text
                    // equal to the built-in one (a form saving what it
                    // showed) is no change.
                    None => {
                        let own_title = overrides.title.as_ref().is_some_and(|t| *t != base.title);
                        let own_message = overrides
                            .message
                            .as_ref()
                            .is_some_and(|m| *m != base.message);
                        for v in &mut variations {
                            if own_title {
                                v.overrides.title = None;
                            }
                            if own_message {
                                v.overrides.message = None;
                            }
                        }
                        variations.retain(|v| !v.overrides.is_empty());
                    }
                }
                base.apply(&overrides);
            }
            kinds.insert(kind.to_owned(), KindConfig { base, variations });
        }
        Ok(Config { kinds })
    }
}

/// The built-in look of an alert or a variation: picture, sound,
/// animation, accent colour and how long it stays.
struct Look {
    image: &'static str,
    sound: &'static str,
    animation: &'static str,
    accent: &'static str,
    duration_ms: u32,
}

impl Look {
    /// The look as overrides (for a variation).
    fn overrides(&self) -> Overrides {
        Overrides {
            image_url: Some(media(self.image)),
            sound_url: Some(media(self.sound)),
            animation: Some(self.animation.into()),
            accent: Some(self.accent.into()),
            duration_ms: Some(self.duration_ms),
            ..Overrides::default()
        }
    }
}

/// The URL of a built-in media file.
fn media(file: &str) -> String {
    format!("{BUILTIN_MEDIA}{file}")
}

const fn look(
    image: &'static str,
    sound: &'static str,
    animation: &'static str,
    accent: &'static str,
    duration_ms: u32,
) -> Look {
    Look {
        image,
        sound,
        animation,
        accent,
        duration_ms,
    }
}

/// The built-in alert of a kind: what a streamer gets with empty settings.
/// Bigger moments look bigger: bits tiers get their gem (Twitch's tier
/// colours), many gifts and big raids a fanfare, resub milestones a
/// trophy or a crown. The first variation that holds wins, so they are
/// listed from the biggest down.
pub(crate) fn builtin(kind: &str) -> (Spec, Vec<Variation>) {
    let (title, message, base_look) = match kind {
        kinds::FOLLOW => (
            "New follower!",
            "{username} just followed",
            look("heart.svg", "chime.wav", "pop", "#ff4f8b", 5_000),
        ),
        kinds::SUBSCRIBE => (
            "{username} subscribed!",
            "{tier_name}",
            look("star.svg", "sparkle.wav", "bounce", "#a970ff", 6_000),
        ),
        kinds::RESUB => (
            "{username} resubscribed for {cumulative_months} months!",
            "{message}",
            look("star.svg", "sparkle.wav", "slide-up", "#a970ff", 6_000),
        ),
        kinds::GIFT => (
            "{username} gifted {total} {tier_name} subs!",
            "Thank you for supporting the community!",
            look("gifts.svg", "sparkle.wav", "bounce", "#2ec4b6", 6_000),
        ),
        kinds::CHEER => (
            "{username} cheered {bits} bits!",
            "{message}",
            look("gem-1.svg", "coins.wav", "pop", "#b8b8c8", 5_000),
        ),
        kinds::RAID => (
            "{username} is raiding!",
            "with {viewers} viewers",
            look("rocket.svg", "whoosh.wav", "slide-left", "#ff9f1c", 8_000),
        ),
        kinds::REDEMPTION => (
            "{username} redeemed {reward.title}",
            "{user_input}",
            look("points.svg", "sparkle.wav", "slide-up", "#a970ff", 5_000),
        ),
        // {message} is empty for a private donation (see `Vars`).
        kinds::DONATION => (
            "{username} tipped {amount} {currency}!",
            "{message}",
            look("heart.svg", "coins.wav", "pop", "#29c46a", 5_000),
        ),
        _ => (
            "{kind}",
            "",
            look("star.svg", "chime.wav", "pop", "#a970ff", 5_000),
        ),
    };
    let base = Spec {
        enabled: true,
        overlay: "alerts".into(),
        title: title.into(),
        message: message.into(),
        image_url: media(base_look.image),
        sound_url: media(base_look.sound),
        video_url: String::new(),
        tts: String::new(),
        duration_ms: base_look.duration_ms,
        html: String::new(),
        css: String::new(),
        animation: base_look.animation.into(),
        accent: base_look.accent.into(),
        layout: "stack".into(),
        sound_volume: 80,
        tts_volume: 100,
        highlight: true,
    };
    // Singular wording, and bigger looks for bigger moments.
    let words = |title: Option<&str>, message: Option<&str>| Overrides {
        title: title.map(Into::into),
        message: message.map(Into::into),
        ..Overrides::default()
    };
    let looks = |look: Look| look.overrides();
    let with_words = |look: Look, title: &str| Overrides {
        title: Some(title.into()),
        ..look.overrides()
    };
    let list: Vec<(&str, Overrides)> = match kind {
        kinds::SUBSCRIBE => vec![(
            "tier == 3000",
            looks(look("crown.svg", "fanfare.wav", "zoom", "#ffc83d", 8_000)),
        )],
        kinds::RESUB => vec![
            (
                "cumulative_months >= 24",
                looks(look("crown.svg", "fanfare.wav", "zoom", "#ffc83d", 9_000)),
            ),
            (
                "cumulative_months >= 12",
                looks(look(
                    "trophy.svg",
                    "fanfare.wav",
                    "bounce",
                    "#ff9f1c",
                    8_000,
                )),
            ),
            (
                "cumulative_months >= 6",
                looks(look("star.svg", "chime.wav", "bounce", "#3a8bff", 7_000)),
            ),
        ],
        kinds::GIFT => vec![
            (
                "total == 1",
                with_words(
                    look("gift.svg", "sparkle.wav", "pop", "#2ec4b6", 5_000),
                    "{username} gifted a {tier_name} sub!",
                ),
            ),
            (
                "total >= 50",
                looks(look("gifts.svg", "fanfare.wav", "zoom", "#ff3b3b", 10_000)),
            ),
            (
                "total >= 10",
                looks(look("gifts.svg", "fanfare.wav", "bounce", "#ffc83d", 8_000)),
            ),
        ],
        kinds::CHEER => vec![
            ("bits == 1", words(Some("{username} cheered 1 bit!"), None)),
            (
                "bits >= 10000",
                looks(look(
                    "gem-10000.svg",
                    "fanfare.wav",
                    "zoom",
                    "#ff3b3b",
                    12_000,
                )),
            ),
            (
                "bits >= 5000",
                looks(look(
                    "gem-5000.svg",
                    "fanfare.wav",
                    "bounce",
                    "#3a8bff",
                    10_000,
                )),
            ),
            (
                "bits >= 1000",
                looks(look(
                    "gem-1000.svg",
                    "coins.wav",
                    "bounce",
                    "#1db2a5",
                    8_000,
                )),
            ),
            (
                "bits >= 100",
                looks(look("gem-100.svg", "coins.wav", "pop", "#a970ff", 6_000)),
            ),
        ],
        kinds::RAID => vec![
            (
                "viewers == 1",
                words(Some("{username} is raiding!"), Some("with 1 viewer")),
            ),
            (
                "viewers >= 50",
                looks(look("rocket.svg", "fanfare.wav", "zoom", "#ff3b3b", 12_000)),
            ),
            (
                "viewers >= 10",
                looks(look(
                    "rocket.svg",
                    "whoosh.wav",
                    "slide-left",
                    "#ffc83d",
                    10_000,
                )),
            ),
        ],
        // By amount, in the donation's own currency units, compared as
        // decimals ("19.99" is below 20): the bigger the tip, the louder
        // the thanks. Under 5 the base alert shows.
        kinds::DONATION => vec![
            (
                "amount >= 100",
                with_words(
                    look("crown.svg", "fanfare.wav", "zoom", "#ffc83d", 12_000),
                    "{username} tipped {amount} {currency}! THANK YOU!",
                ),
            ),
            (
                "amount >= 20",
                with_words(
                    look("trophy.svg", "fanfare.wav", "bounce", "#ff9f1c", 9_000),
                    "{username} tipped {amount} {currency}! Wow, thank you!",
                ),
            ),
            (
                "amount >= 5",
                with_words(
                    look("star.svg", "coins.wav", "pop", "#29c46a", 7_000),
                    "{username} tipped {amount} {currency}! Thank you!",
                ),
            ),
        ],
        _ => Vec::new(),
    };
    // The conditions are constants, so parsing cannot fail.
    let variations = list
        .into_iter()
        .filter_map(|(when, overrides)| {
            Condition::parse(when)
                .ok()
                .map(|when| Variation { when, overrides })
        })
        .collect();
    (base, variations)
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
        // A form may send a field it left empty as null: not set.
        if value.is_null() && key != "when" {
            continue;
        }
        match key.as_str() {
            "when" if variation => {}
            // A form's empty field: the overlay set above.
            "overlay" if value.as_str() == Some("") => {}
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
            "animation" => o.animation = Some(one_of(&at, value, &ANIMATIONS)?),
            "layout" => o.layout = Some(one_of(&at, value, &LAYOUTS)?),
            "accent" => o.accent = Some(color(&at, value)?),
            "sound_volume" => o.sound_volume = Some(percent(&at, value)?),
            "tts_volume" => o.tts_volume = Some(percent(&at, value)?),
            "highlight" => {
                o.highlight = Some(
                    value
                        .as_bool()
                        .ok_or_else(|| format!("{at} must be true or false"))?,
                )
            }
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
                    "enabled, overlay, title, message, image_url, sound_url, video_url, tts, duration_ms, html, css, animation, accent, layout, sound_volume, tts_volume, highlight"
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

/// An http(s) URL, a file the host serves (the media library's
/// `/media/...` or the built-in `/assets/alerts/...`), or "" for none.
fn url(at: &str, value: &Value) -> Result<String, String> {
    let url = text(at, value)?.trim().to_owned();
    let served = (url.starts_with("/media/") || url.starts_with(BUILTIN_MEDIA))
        && !url.contains("..")
        && !url.contains('\\');
    if url.is_empty() || served || url.starts_with("https://") || url.starts_with("http://") {
        Ok(url)
    } else {
        Err(format!(
            "{at} must be an http(s) URL, a /media/ or {BUILTIN_MEDIA} path, or \"\", not \"{url}\""
        ))
    }
}

/// One of `choices`.
fn one_of(at: &str, value: &Value, choices: &[&str]) -> Result<String, String> {
    match value.as_str() {
        Some(v) if choices.contains(&v) => Ok(v.to_owned()),
        _ => Err(format!("{at} must be one of {}", choices.join(", "))),
    }
}

/// A colour as `#rrggbb` (kept lower case).
fn color(at: &str, value: &Value) -> Result<String, String> {
    match value.as_str() {
        Some(v)
            if v.len() == 7
                && v.starts_with('#')
                && v[1..].chars().all(|c| c.is_ascii_hexdigit()) =>
        {
            Ok(v.to_ascii_lowercase())
        }
        _ => Err(format!("{at} must be a colour like \"#ff4f8b\"")),
    }
}

/// A whole number from 0 to 100.
fn percent(at: &str, value: &Value) -> Result<u8, String> {
    value
        .as_u64()
        .filter(|v| *v <= 100)
        .map(|v| v as u8)
        .ok_or_else(|| format!("{at} must be a whole number from 0 to 100"))
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
    fn media_library_paths_are_accepted_as_media_urls() {
        let config = parse(json!({"alerts": {"channel.follow": {
            "image_url": "/media/0123456789abcdef0123456789abcdef.png",
            "sound_url": " /media/ding.wav ",
            "video_url": "/assets/alerts/intro.webm"
        }}}))
        .unwrap();
        let spec = config.kind("channel.follow").unwrap().resolve(none);
        assert_eq!(
            spec.image_url,
            "/media/0123456789abcdef0123456789abcdef.png"
        );
        assert_eq!(spec.sound_url, "/media/ding.wav");
        assert_eq!(spec.video_url, "/assets/alerts/intro.webm");
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
    fn builtin_variations_lose_their_words_to_the_streamers_text() {
        let gift = |settings: Value| {
            let config = parse(settings).unwrap();
            let kind = config.kind("channel.subscription.gift").unwrap().clone();
            let titles: Vec<Option<String>> = kind
                .variations
                .iter()
                .map(|v| v.overrides.title.clone())
                .collect();
            (kind.variations.len(), titles)
        };
        let singular = Some("{username} gifted a {tier_name} sub!".to_owned());
        assert_eq!(gift(json!({})), (3, vec![singular.clone(), None, None]));
        let kind = |v: Value| json!({"alerts": {"channel.subscription.gift": v}});
        assert_eq!(
            gift(kind(json!({"sound_url": "https://x.example/a.mp3"}))),
            (3, vec![singular.clone(), None, None])
        );
        // The streamer's own title: the variations keep their looks only.
        assert_eq!(
            gift(kind(json!({"title": "{total} gifts!"}))),
            (3, vec![None, None, None])
        );
        // The built-in title saved back by a form is no change.
        assert_eq!(
            gift(kind(
                json!({"title": "{username} gifted {total} {tier_name} subs!"})
            )),
            (3, vec![singular, None, None])
        );
        assert_eq!(gift(kind(json!({"variations": []}))).0, 0);
        assert_eq!(
            gift(kind(json!({"variations": [{"when": "total >= 50"}]}))).0,
            1
        );
        // A variation that only reworded goes when the text is the streamer's.
        let config = parse(json!({"alerts": {"channel.cheer": {"title": "{bits}!"}}})).unwrap();
        let cheer = config.kind("channel.cheer").unwrap();
        assert_eq!(cheer.variations.len(), 4, "the bits == 1 rewording is gone");
        let one = cheer.resolve(|n: &str| (n == "bits").then(|| "1".to_owned()));
        assert_eq!(one.title, "{bits}!");
    }

    #[test]
    fn every_kind_has_a_picture_a_sound_and_an_animation_by_default() {
        let config = Config::defaults();
        for kind in KINDS {
            let k = config.kind(kind).unwrap();
            let specs = std::iter::once(k.base.clone()).chain(k.variations.iter().map(|v| {
                let mut spec = k.base.clone();
                spec.apply(&v.overrides);
                spec
            }));
            for spec in specs {
                assert!(
                    spec.image_url.starts_with(BUILTIN_MEDIA),
                    "{kind}: {spec:?}"
                );
                assert!(spec.image_url.ends_with(".svg"), "{kind}: {spec:?}");
                assert!(
                    spec.sound_url.starts_with(BUILTIN_MEDIA),
                    "{kind}: {spec:?}"
                );
                assert!(spec.sound_url.ends_with(".wav"), "{kind}: {spec:?}");
                assert!(ANIMATIONS.contains(&spec.animation.as_str()), "{kind}");
                assert_eq!(
                    color("accent", &json!(spec.accent)),
                    Ok(spec.accent.clone())
                );
                assert!(spec.highlight && spec.sound_volume > 0, "{kind}");
                assert_eq!(spec.layout, "stack");
            }
        }
    }

    #[test]
    fn the_built_in_media_files_exist() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../host/assets/alerts");
        for (kind, k) in Config::defaults().kinds() {
            let urls = std::iter::once((&k.base.image_url, &k.base.sound_url)).chain(
                k.variations.iter().filter_map(|v| {
                    v.overrides
                        .image_url
                        .as_ref()
                        .zip(v.overrides.sound_url.as_ref())
                }),
            );
            for (image, sound) in urls {
                for url in [image, sound] {
                    let file = url.strip_prefix(BUILTIN_MEDIA).unwrap();
                    assert!(
                        dir.join(file).is_file(),
                        "{kind}: {url} is not in host/assets/alerts"
                    );
                }
            }
        }
    }

    #[test]
    fn bigger_moments_look_different() {
        let config = Config::defaults();
        let look = |kind: &str, var: &'static str, value: &'static str| {
            let spec = config
                .kind(kind)
                .unwrap()
                .resolve(move |n: &str| (n == var).then(|| value.to_owned()));
            (
                spec.image_url,
                spec.sound_url,
                spec.accent,
                spec.duration_ms,
            )
        };
        let differ = |kind: &str, var: &'static str, values: &[&'static str]| {
            let looks: Vec<_> = values.iter().map(|v| look(kind, var, v)).collect();
            for (i, a) in looks.iter().enumerate() {
                for b in &looks[i + 1..] {
                    assert_ne!(a, b, "{kind}: {var} in {values:?} look alike");
                }
            }
        };
        differ(kinds::CHEER, "bits", &["1", "100", "1000", "5000", "10000"]);
        differ(kinds::GIFT, "total", &["1", "5", "10", "50"]);
        differ(kinds::RESUB, "cumulative_months", &["2", "6", "12", "24"]);
        differ(kinds::RAID, "viewers", &["3", "10", "50"]);
        differ(kinds::SUBSCRIBE, "tier", &["1000", "3000"]);
        // 1 gift is a single box; many are a pile.
        assert!(look(kinds::GIFT, "total", "1").0.ends_with("/gift.svg"));
        assert!(look(kinds::GIFT, "total", "5").0.ends_with("/gifts.svg"));
    }

    #[test]
    fn look_settings_are_checked_and_null_is_unset() {
        let config = parse(json!({"alerts": {"channel.follow": {
            "animation": "zoom", "accent": "#ABCDEF", "layout": "side",
            "sound_volume": 0, "tts_volume": 55, "highlight": false,
            "image_url": "/media/abc.png", "sound_url": null,
        }}}))
        .unwrap();
        let spec = config.kind("channel.follow").unwrap().resolve(none);
        assert_eq!(
            (
                spec.animation.as_str(),
                spec.accent.as_str(),
                spec.layout.as_str()
            ),
            ("zoom", "#abcdef", "side")
        );
        assert_eq!(
            (spec.sound_volume, spec.tts_volume, spec.highlight),
            (0, 55, false)
        );
        assert_eq!(spec.image_url, "/media/abc.png");
        assert_eq!(
            spec.sound_url, "/assets/alerts/chime.wav",
            "null leaves the default"
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
        // A form's empty overlay fields: the default.
        let config =
            parse(json!({"overlay": "", "alerts": {"channel.raid": {"overlay": "", "variations": [{"when": "viewers > 1", "overlay": ""}]}}}))
                .unwrap();
        let raid = config.kind("channel.raid").unwrap();
        assert_eq!(raid.base.overlay, "alerts");
        assert_eq!(raid.variations[0].overrides.overlay, None);
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
                json!({"alerts": {"channel.follow": {"sound_url": "/etc/passwd"}}}),
                "sound_url must be an http(s) URL, a /media/ or /assets/alerts/ path",
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
            (json!({"overlay": "a b"}), "overlay must be an overlay name"),
            (
                json!({"alerts": {"channel.follow": {"animation": "spin"}}}),
                "animation must be one of pop, slide-up",
            ),
            (
                json!({"alerts": {"channel.follow": {"layout": "grid"}}}),
                "layout must be one of stack, side",
            ),
            (
                json!({"alerts": {"channel.follow": {"accent": "red"}}}),
                "accent must be a colour",
            ),
            (
                json!({"alerts": {"channel.follow": {"accent": "#12345g"}}}),
                "accent must be a colour",
            ),
            (
                json!({"alerts": {"channel.follow": {"sound_volume": 101}}}),
                "sound_volume must be a whole number from 0 to 100",
            ),
            (
                json!({"alerts": {"channel.follow": {"tts_volume": 50.5}}}),
                "tts_volume must be a whole number from 0 to 100",
            ),
            (
                json!({"alerts": {"channel.follow": {"highlight": "yes"}}}),
                "highlight must be true or false",
            ),
            (
                json!({"alerts": {"channel.follow": {"image_url": "/media/../stagehand.db"}}}),
                "image_url must be an http(s) URL",
            ),
            (
                json!({"alerts": {"channel.follow": {"image_url": "/api/events"}}}),
                "image_url must be an http(s) URL",
            ),
            (
                json!({"alerts": {"channel.cheer": {"variations": [{"when": null}]}}}),
                "variations[0].when must be text",
            ),
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
