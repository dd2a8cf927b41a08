//! Card options: how the overlay's built-in card shows an alert (entrance
//! animation, accent colour, layout, volumes) and which words of the title
//! and message stand out.
//!
//! The plugin contract's alert has no field for them, so they ride at the
//! start of the alert's `css` as one comment the overlay page reads and
//! strips (and any other page ignores, a comment being a comment):
//!
//! ```text
//! /*stagehand:card {"animation":"pop","accent":"#ff4f8b","layout":"stack",
//!   "sound_volume":80,"tts_volume":100,
//!   "highlights":{"title":[[0,"Bob"],[12,"100"]],"message":[]}} */
//! ```
//!
//! A highlight is `[start, text]`, `start` counting UTF-16 code units (the
//! overlay's JavaScript string indices). Highlights are data, never markup:
//! the overlay puts each piece of text on the page as text, so a viewer
//! named `<b>x</b>` is shown as exactly that. The streamer's own CSS (if
//! any) follows the comment.

use stagehand_plugin_sdk::limits::MAX_ALERT_MARKUP;
use stagehand_plugin_sdk::serde_json::{Value, json};
use stagehand_plugin_sdk::text;

/// What the `css` starts with when it carries card options.
pub const PREFIX: &str = "/*stagehand:card ";

/// The variables whose values are highlighted: who, and how much.
pub const HIGHLIGHTED: [&str; 6] = [
    "username",
    "bits",
    "total",
    "viewers",
    "cumulative_months",
    "reward.title",
];

/// Marks the start and end of a highlighted value while a template is
/// rendered (private-use characters, removed from every value first, so
/// no viewer's text can forge one).
const OPEN: char = '\u{E000}';
const CLOSE: char = '\u{E001}';

/// Rendered text and its highlighted pieces, `(start in UTF-16 code units,
/// text)`, in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Highlighted {
    pub text: String,
    pub spans: Vec<(usize, String)>,
}

impl Highlighted {
    /// Text with nothing highlighted.
    pub fn plain(text: String) -> Highlighted {
        Highlighted {
            text,
            spans: Vec::new(),
        }
    }
}

/// The look of one alert, as the overlay reads it.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    pub animation: &'a str,
    pub accent: &'a str,
    pub layout: &'a str,
    pub sound_volume: u8,
    pub tts_volume: u8,
    pub title: &'a [(usize, String)],
    pub message: &'a [(usize, String)],
}

fn strip_markers(text: &str) -> String {
    text.replace([OPEN, CLOSE], "")
}

/// Renders `template` like `text::render`, then `tidy`, noting where the
/// values of [`HIGHLIGHTED`] variables ended up.
pub fn render_highlighted(
    template: &str,
    lookup: impl Fn(&str) -> Option<String>,
    tidy: impl Fn(&str) -> String,
) -> Highlighted {
    let template = strip_markers(template);
    let marked = text::render(&template, |name| {
        let value = strip_markers(&lookup(name)?);
        if !HIGHLIGHTED.contains(&name) {
            return Some(value);
        }
        let value = value.trim();
        // An empty value gets no markers, so tidy closes the gap it leaves.
        Some(if value.is_empty() {
            String::new()
        } else {
            format!("{OPEN}{value}{CLOSE}")
        })
    });
    let marked = tidy(&marked);
    let mut out = Highlighted::default();
    let mut at = 0; // UTF-16 length of `out.text`
    let mut open: Option<(usize, String)> = None;
    for c in marked.chars() {
        match c {
            OPEN => open = Some((at, String::new())),
            CLOSE => {
                if let Some((start, span)) = open.take()
                    && !span.is_empty()
                {
                    out.spans.push((start, span));
                }
            }
            c => {
                out.text.push(c);
                at += c.len_utf16();
                if let Some((_, span)) = &mut open {
                    span.push(c);
                }
            }
        }
    }
    out
}

/// The alert's `css`: the card options comment, then the streamer's CSS.
/// Past the host's cap on an alert's CSS the highlights are left out
/// first, then the options.
pub fn css(options: &Options, own_css: &str) -> String {
    let spans = |list: &[(usize, String)]| -> Value {
        list.iter()
            .map(|(start, text)| json!([start, text]))
            .collect()
    };
    let mut value = json!({
        "animation": options.animation,
        "accent": options.accent,
        "layout": options.layout,
        "sound_volume": options.sound_volume,
        "tts_volume": options.tts_volume,
        "highlights": {"title": spans(options.title), "message": spans(options.message)},
    });
    let build = |value: &Value| {
        // `*/` would end the comment and `<` could end a <style> element:
        // both only ever occur inside JSON strings, where `\/` and `\u003c`
        // mean the same.
        let json = value
            .to_string()
            .replace("*/", "*\\/")
            .replace('<', "\\u003c");
        if own_css.is_empty() {
            format!("{PREFIX}{json} */")
        } else {
            format!("{PREFIX}{json} */\n{own_css}")
        }
    };
    let full = build(&value);
    if full.len() <= MAX_ALERT_MARKUP {
        return full;
    }
    if let Some(map) = value.as_object_mut() {
        map.remove("highlights");
    }
    let lean = build(&value);
    if lean.len() <= MAX_ALERT_MARKUP {
        lean
    } else {
        own_css.to_owned()
    }
}

/// The card options and the streamer's CSS of an alert's `css`, as the
/// overlay reads them (for tests and tools).
pub fn split(css: &str) -> Option<(Value, &str)> {
    let rest = css.trim_start().strip_prefix(PREFIX)?;
    let end = rest.find("*/")?;
    let options = stagehand_plugin_sdk::serde_json::from_str(&rest[..end]).ok()?;
    Some((options, rest[end + 2..].trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(name: &str) -> Option<String> {
        match name {
            "username" => Some("Bob".into()),
            "bits" => Some("100".into()),
            "message" => Some("Cheer100 hi".into()),
            "empty" | "total" => Some("  ".into()),
            _ => None,
        }
    }

    fn tidy(s: &str) -> String {
        crate::tidy(s)
    }

    fn spans(list: &[(usize, &str)]) -> Vec<(usize, String)> {
        list.iter().map(|(i, s)| (*i, s.to_string())).collect()
    }

    #[test]
    fn names_and_amounts_are_highlighted_where_they_land() {
        let h = render_highlighted("{username} cheered {bits} bits!", lookup, tidy);
        assert_eq!(h.text, "Bob cheered 100 bits!");
        assert_eq!(h.spans, spans(&[(0, "Bob"), (12, "100")]));
        // Other variables are plain text.
        let h = render_highlighted("{message} from {username}", lookup, tidy);
        assert_eq!(h.text, "Cheer100 hi from Bob");
        assert_eq!(h.spans, spans(&[(17, "Bob")]));
    }

    #[test]
    fn gaps_of_empty_values_close_and_carry_no_highlight() {
        let h = render_highlighted("  {username} gifted {total} subs {nothing} ", lookup, tidy);
        assert_eq!(h.text, "Bob gifted subs");
        assert_eq!(h.spans, spans(&[(0, "Bob")]));
        let h = render_highlighted("{{username}} is {username}", lookup, tidy);
        assert_eq!(h.text, "{username} is Bob");
        assert_eq!(h.spans, spans(&[(14, "Bob")]));
    }

    #[test]
    fn offsets_count_utf16_code_units() {
        let who = |name: &str| {
            let name = name.to_owned();
            move |n: &str| (n == "username").then(|| name.clone())
        };
        let h = render_highlighted("🎉 {username} é", who("Zoë🦀"), tidy);
        assert_eq!(h.text, "🎉 Zoë🦀 é");
        // 🎉 is two UTF-16 units, then a space.
        assert_eq!(h.spans, spans(&[(3, "Zoë🦀")]));
        let js_len: usize = "🎉 ".encode_utf16().count();
        assert_eq!(js_len, 3);
    }

    #[test]
    fn a_hostile_name_stays_text_and_cannot_forge_or_break_out() {
        let evil = "<img src=x onerror=alert(1)>*/}\u{E001}\u{E000}x";
        let h = render_highlighted(
            "{username} \u{E000}followed\u{E001}",
            |n: &str| (n == "username").then(|| evil.to_owned()),
            tidy,
        );
        // The markers are gone from the name and the template; the name is
        // one highlight, verbatim otherwise.
        let clean = "<img src=x onerror=alert(1)>*/}x";
        assert_eq!(h.text, format!("{clean} followed"));
        assert_eq!(h.spans, vec![(0, clean.to_owned())]);
        let options = Options {
            animation: "pop",
            accent: "#ff4f8b",
            layout: "stack",
            sound_volume: 80,
            tts_volume: 100,
            title: &h.spans,
            message: &[],
        };
        let css = css(&options, ".x{color:red}");
        // One comment, closed once; no `<` anywhere to end a <style>.
        assert!(css.starts_with(PREFIX), "{css}");
        assert_eq!(css.matches("*/").count(), 1, "{css}");
        assert!(!css.contains('<'), "{css}");
        let (value, own) = split(&css).expect("the options read back");
        assert_eq!(own, ".x{color:red}");
        assert_eq!(value["highlights"]["title"][0][1], clean);
        assert_eq!(value["highlights"]["title"][0][0], 0);
        assert_eq!(value["animation"], "pop");
        assert_eq!(value["sound_volume"], 80);
    }

    #[test]
    fn over_the_cap_the_highlights_go_first_then_the_options() {
        let long = "x".repeat(MAX_ALERT_MARKUP / 2);
        let spans = vec![(0, long.clone())];
        let options = Options {
            animation: "pop",
            accent: "#ff4f8b",
            layout: "stack",
            sound_volume: 80,
            tts_volume: 100,
            title: &spans,
            message: &spans,
        };
        let css1 = css(&options, "");
        assert!(css1.len() <= MAX_ALERT_MARKUP);
        let (value, _) = split(&css1).unwrap();
        assert!(value.get("highlights").is_none());
        assert_eq!(value["accent"], "#ff4f8b");
        let own = "y".repeat(MAX_ALERT_MARKUP - 10);
        assert_eq!(css(&options, &own), own);
    }
}
