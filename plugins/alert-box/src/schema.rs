//! The settings form's schema (`[[setting]]` tables at the end of
//! plugin.toml), made from the built-in alerts so its defaults are always
//! what the plugin does with empty settings. A test checks plugin.toml
//! holds exactly this; `STAGEHAND_BLESS=1 cargo test -p alert-box` rewrites
//! that part of the file after a change here or to the built-ins.

use std::fmt::Write;

use stagehand_plugin_sdk::kinds;

use crate::config::{ANIMATIONS, KINDS, LAYOUTS, MAX_DURATION_MS, Overrides, builtin};

/// The line the generated part of plugin.toml starts with.
pub const MARKER: &str = "# ---- The settings form";

fn quote(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

fn label(kind: &str) -> &'static str {
    match kind {
        kinds::FOLLOW => "Follow",
        kinds::SUBSCRIBE => "New sub",
        kinds::RESUB => "Resub",
        kinds::GIFT => "Gift subs",
        kinds::CHEER => "Cheer (bits)",
        kinds::RAID => "Raid",
        kinds::REDEMPTION => "Channel points redemption",
        kinds::DONATION => "Donation",
        _ => "Alert",
    }
}

/// The template variables of a kind's events, shown as hints.
fn variables(kind: &str) -> Vec<&'static str> {
    let mut names = vec!["username"];
    names.extend(match kind {
        kinds::SUBSCRIBE => vec!["tier", "tier_name", "is_gift"],
        kinds::RESUB => vec!["tier", "tier_name", "cumulative_months", "message"],
        kinds::GIFT => vec!["total", "tier", "tier_name", "is_anonymous"],
        kinds::CHEER => vec!["bits", "message", "is_anonymous"],
        kinds::RAID => vec!["viewers"],
        kinds::REDEMPTION => vec!["reward.title", "reward.cost", "reward.prompt", "user_input"],
        kinds::DONATION => vec![
            "amount",
            "currency",
            "message",
            "source",
            "donation_type",
            "tier_name",
        ],
        _ => vec![],
    });
    names.extend(["count", "kind"]);
    names
}

/// A field's table. `table` is the TOML header (`[[setting.fields.fields]]`).
struct Field<'a> {
    table: &'a str,
    key: &'a str,
    kind: &'a str,
    label: &'a str,
    help: Option<&'a str>,
    /// TOML text of the default, already quoted.
    default: Option<String>,
    extra: Vec<String>,
}

fn field(out: &mut String, f: Field) {
    let _ = writeln!(out, "\n[[{}]]", f.table);
    let _ = writeln!(out, "key = {}", quote(f.key));
    let _ = writeln!(out, "type = {}", quote(f.kind));
    let _ = writeln!(out, "label = {}", quote(f.label));
    if let Some(help) = f.help {
        let _ = writeln!(out, "help = {}", quote(help));
    }
    for line in f.extra {
        let _ = writeln!(out, "{line}");
    }
    if let Some(default) = f.default {
        let _ = writeln!(out, "default = {default}");
    }
}

fn list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| quote(s)).collect();
    format!("[{}]", quoted.join(", "))
}

/// The alert fields of a kind (`defaults` from its built-in alert) or of
/// a variation (`defaults` None: unset fields change nothing).
fn alert_fields(out: &mut String, table: &str, kind: &str, defaults: Option<&crate::config::Spec>) {
    let text = |s: &str| Some(quote(s));
    let vars = list(&variables(kind));
    let d = defaults;
    let fields = [
        Field {
            table,
            key: "enabled",
            kind: "boolean",
            label: "Show this alert",
            help: None,
            default: d.map(|s| s.enabled.to_string()),
            extra: vec![],
        },
        Field {
            table,
            key: "title",
            kind: "template",
            label: "Title",
            help: Some("The big line. The viewer's name and the amount stand out."),
            default: d.and_then(|s| text(&s.title)),
            extra: vec![format!("variables = {vars}"), "max_length = 1024".into()],
        },
        Field {
            table,
            key: "message",
            kind: "template",
            label: "Message",
            help: Some("The line under the title."),
            default: d.and_then(|s| text(&s.message)),
            extra: vec![format!("variables = {vars}"), "max_length = 4096".into()],
        },
        Field {
            table,
            key: "tts",
            kind: "template",
            label: "Read aloud",
            help: Some("Text the overlay speaks (empty: nothing)."),
            default: d.and_then(|s| text(&s.tts)),
            extra: vec![format!("variables = {vars}"), "max_length = 1024".into()],
        },
        Field {
            table,
            key: "image_url",
            kind: "media",
            label: "Picture",
            help: Some("Shown above the text (empty: none)."),
            default: d.and_then(|s| text(&s.image_url)),
            extra: vec!["accept = \"image\"".into()],
        },
        Field {
            table,
            key: "sound_url",
            kind: "media",
            label: "Sound",
            help: Some("Played when the alert appears (empty: none)."),
            default: d.and_then(|s| text(&s.sound_url)),
            extra: vec!["accept = \"sound\"".into()],
        },
        Field {
            table,
            key: "video_url",
            kind: "media",
            label: "Video",
            help: Some("Played in the card; the alert waits for it to end."),
            default: d.and_then(|s| text(&s.video_url)),
            extra: vec!["accept = \"video\"".into()],
        },
        Field {
            table,
            key: "duration_ms",
            kind: "duration",
            label: "Time on screen",
            help: None,
            default: d.map(|s| s.duration_ms.to_string()),
            extra: vec!["min_ms = 1".into(), format!("max_ms = {MAX_DURATION_MS}")],
        },
        Field {
            table,
            key: "animation",
            kind: "choice",
            label: "Entrance",
            help: Some("How the card comes in (and goes out the same way)."),
            default: d.and_then(|s| text(&s.animation)),
            extra: vec![format!("choices = {}", list(&ANIMATIONS))],
        },
        Field {
            table,
            key: "accent",
            kind: "color",
            label: "Accent colour",
            help: Some("The highlighted words and the card's glow."),
            default: d.and_then(|s| text(&s.accent)),
            extra: vec![],
        },
        Field {
            table,
            key: "layout",
            kind: "choice",
            label: "Layout",
            help: None,
            default: d.and_then(|s| text(&s.layout)),
            extra: vec![format!(
                "choices = [{{value = {}, label = \"Picture above the text\"}}, {{value = {}, label = \"Picture beside the text\"}}]",
                quote(LAYOUTS[0]),
                quote(LAYOUTS[1])
            )],
        },
        Field {
            table,
            key: "sound_volume",
            kind: "number",
            label: "Sound volume (%)",
            help: None,
            default: d.map(|s| s.sound_volume.to_string()),
            extra: vec![
                "min = 0".into(),
                "max = 100".into(),
                "step = 1".into(),
                "integer = true".into(),
            ],
        },
        Field {
            table,
            key: "tts_volume",
            kind: "number",
            label: "Read-aloud volume (%)",
            help: None,
            default: d.map(|s| s.tts_volume.to_string()),
            extra: vec![
                "min = 0".into(),
                "max = 100".into(),
                "step = 1".into(),
                "integer = true".into(),
            ],
        },
        Field {
            table,
            key: "highlight",
            kind: "boolean",
            label: "Highlight the name and amount",
            help: None,
            default: d.map(|s| s.highlight.to_string()),
            extra: vec![],
        },
        Field {
            table,
            key: "overlay",
            kind: "text",
            label: "Overlay",
            help: Some("Another overlay for this alert (empty: the one above)."),
            default: None,
            extra: vec!["max_length = 32".into()],
        },
        Field {
            table,
            key: "html",
            kind: "template",
            label: "Custom HTML",
            help: Some(
                "Replaces the card; {title}, {message} and {image_url} are filled in. Runs without scripts.",
            ),
            default: d.and_then(|s| text(&s.html)),
            extra: vec![
                "variables = [\"title\", \"message\", \"image_url\"]".into(),
                "max_length = 65536".into(),
            ],
        },
        Field {
            table,
            key: "css",
            kind: "text",
            label: "Custom CSS",
            help: Some("Styles the card (or your HTML) in its own sandboxed frame."),
            default: d.and_then(|s| text(&s.css)),
            extra: vec!["max_length = 60000".into()],
        },
    ];
    for mut f in fields {
        // A variation changes only what it sets: its fields stay unset
        // rather than taking a default.
        if d.is_none() {
            f.extra.push("optional = true".into());
        }
        field(out, f);
    }
}

/// One built-in variation as a TOML table's lines.
fn variation_lines(o: &Overrides) -> Vec<String> {
    let mut lines = Vec::new();
    let mut text = |key: &str, v: &Option<String>| {
        if let Some(v) = v {
            lines.push(format!("{key} = {}", quote(v)));
        }
    };
    text("title", &o.title);
    text("message", &o.message);
    text("image_url", &o.image_url);
    text("sound_url", &o.sound_url);
    text("animation", &o.animation);
    text("accent", &o.accent);
    if let Some(ms) = o.duration_ms {
        lines.push(format!("duration_ms = {ms}"));
    }
    lines
}

/// The whole generated part of plugin.toml.
pub fn generate() -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{MARKER} (made from the built-in alerts by src/schema.rs;\n\
         # `STAGEHAND_BLESS=1 cargo test -p alert-box` rewrites it). The dashboard\n\
         # draws the settings form from these fields."
    );
    field(
        &mut out,
        Field {
            table: "setting",
            key: "overlay",
            kind: "text",
            label: "Overlay",
            help: Some("The overlay every alert goes to (its name in the overlay URL)."),
            default: Some(quote("alerts")),
            extra: vec!["max_length = 32".into()],
        },
    );
    field(
        &mut out,
        Field {
            table: "setting",
            key: "alerts",
            kind: "record",
            label: "Alerts",
            help: Some("One alert per kind of event."),
            default: None,
            extra: vec![],
        },
    );
    for kind in KINDS {
        let (base, variations) = builtin(kind);
        field(
            &mut out,
            Field {
                table: "setting.fields",
                key: kind,
                kind: "record",
                label: label(kind),
                help: None,
                default: None,
                extra: vec![],
            },
        );
        alert_fields(&mut out, "setting.fields.fields", kind, Some(&base));
        field(
            &mut out,
            Field {
                table: "setting.fields.fields",
                key: "variations",
                kind: "list",
                label: "Variations",
                help: Some(
                    "The first whose condition holds changes the fields it sets, e.g. when = \"bits >= 1000\" (>= > <= < == !=, joined with and).",
                ),
                default: None,
                extra: vec!["max_items = 50".into()],
            },
        );
        field(
            &mut out,
            Field {
                table: "setting.fields.fields.fields",
                key: "when",
                kind: "text",
                label: "When",
                help: Some("A condition on the variables, like bits >= 1000."),
                default: None,
                extra: vec!["max_length = 500".into()],
            },
        );
        alert_fields(&mut out, "setting.fields.fields.fields", kind, None);
        for v in &variations {
            let _ = writeln!(out, "\n[[setting.fields.fields.default]]");
            let _ = writeln!(out, "when = {}", quote(&v.when.to_string()));
            for line in variation_lines(&v.overrides) {
                let _ = writeln!(out, "{line}");
            }
        }
    }
    out
}
