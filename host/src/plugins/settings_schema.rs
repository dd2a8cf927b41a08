//! The settings schema a plugin declares with `[[setting]]` tables in its
//! `plugin.toml`: one field of its settings object per table, with a type,
//! a label and a default. The dashboard draws a form from it and the host
//! checks every settings object against it before the plugin sees it, so a
//! streamer's typo becomes an error naming the field instead of a plugin
//! that misbehaves on stream. Parsing and checking are pure.
//!
//! The schema comes from a plugin author, who may be hostile: its size and
//! nesting are capped, every attribute must fit its type, and every default
//! must pass the same checks as the streamer's values.

use std::collections::{BTreeSet, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::actions::media::check_url;

/// The most fields a schema may declare, counting those inside records and
/// lists (a form larger than this is not one a streamer can fill in).
pub const MAX_FIELDS: usize = 300;
/// How deep records and lists may nest (a top-level field is depth 1).
pub const MAX_DEPTH: usize = 4;
/// The most choices of one `choice` field.
pub const MAX_CHOICES: usize = 100;
/// The most variable names of one `template` field.
pub const MAX_VARIABLES: usize = 50;
/// The most items a `list` may allow.
pub const MAX_LIST_ITEMS: usize = 100;
/// The longest text a `text` or `template` field may allow (characters):
/// as much as an alert's custom markup may hold. A settings object as a
/// whole is capped by the API's body limit anyway.
pub const MAX_TEXT_LENGTH: usize = super::quotas::MAX_ALERT_MARKUP;
/// `max_length` of a `text` field that names none.
pub const DEFAULT_TEXT_LENGTH: usize = 1_000;
/// `max_length` of a `template` field that names none.
pub const DEFAULT_TEMPLATE_LENGTH: usize = 10_000;
/// The longest duration a `duration` field may allow (the alert contract
/// carries durations as 32-bit milliseconds).
pub const MAX_DURATION_MS: u64 = u32::MAX as u64;

/// A plugin's declared settings: the fields of its settings object.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Schema {
    pub fields: Vec<Field>,
}

/// One field: its JSON key, what the form shows, its default and its type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Field {
    /// The key in the settings object.
    pub key: String,
    /// What the form shows beside the control.
    pub label: String,
    /// A longer explanation shown under the control.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// What the field holds when the settings object leaves it out (already
    /// checked against the field); null for an optional field.
    pub default: Value,
    /// Left out (or null) means "not set", and stays so: the plugin decides
    /// what that means (a variation that changes only some fields of the
    /// alert it varies). Never filled in with a default.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
    #[serde(flatten)]
    pub kind: Kind,
}

/// A field's type and the attributes that belong to it. Serialised with a
/// `type` tag, as in `plugin.toml`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Kind {
    /// One line of text.
    Text { max_length: usize },
    /// Text with `{variable}` placeholders the plugin fills in; the form
    /// shows `variables` as hints.
    Template {
        max_length: usize,
        variables: Vec<String>,
    },
    /// A JSON number, optionally bounded, on a grid of `step` from `min`
    /// (or 0), or whole.
    Number {
        #[serde(skip_serializing_if = "Option::is_none")]
        min: Option<f64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        step: Option<f64>,
        integer: bool,
    },
    /// `true` or `false`.
    Boolean,
    /// One of a fixed set of strings.
    Choice { choices: Vec<Choice> },
    /// `#rrggbb`.
    Color,
    /// A media URL (`/media/...` from the library, or "" for none).
    Media { accept: Accept },
    /// Whole milliseconds.
    Duration { min_ms: u64, max_ms: u64 },
    /// An object of its own fields.
    Record { fields: Vec<Field> },
    /// An array of objects, each of `fields`.
    List {
        fields: Vec<Field>,
        min_items: usize,
        max_items: usize,
    },
}

/// One choice of a `choice` field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Choice {
    /// What the settings object holds.
    pub value: String,
    /// What the form shows.
    pub label: String,
}

/// Which media a `media` field takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Accept {
    /// PNG, JPEG, GIF, WebP, SVG.
    Image,
    /// MP3, OGG, WAV.
    Sound,
    /// WebM, MP4.
    Video,
    /// Any of them.
    Any,
}

/// A `[[setting]]` table as written in `plugin.toml`; [`parse`] checks it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawField {
    key: String,
    #[serde(rename = "type")]
    kind: String,
    label: String,
    help: Option<String>,
    default: Option<toml::Value>,
    optional: Option<bool>,
    max_length: Option<u64>,
    variables: Option<Vec<String>>,
    min: Option<f64>,
    max: Option<f64>,
    step: Option<f64>,
    integer: Option<bool>,
    choices: Option<Vec<RawChoice>>,
    accept: Option<String>,
    min_ms: Option<u64>,
    max_ms: Option<u64>,
    fields: Option<Vec<RawField>>,
    min_items: Option<u64>,
    max_items: Option<u64>,
}

/// A choice as written: a string, or `{ value, label }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawChoice {
    /// Its value is its label.
    Plain(String),
    /// A value and what the form shows for it.
    Labelled { value: String, label: String },
}

/// A settings object that does not fit the schema: the dotted path of the
/// offending field (`alerts.variations.2.title`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Invalid {
    /// The dotted path; empty for the settings object itself.
    pub field: String,
    /// What is wrong, for people.
    pub message: String,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.field, self.message)
        }
    }
}

/// Checks the `[[setting]]` tables of a manifest. `media_hosts` are the
/// media hosts the manifest asks for (a default may name media there). The
/// error names the setting by its dotted path.
pub fn parse(raw: Vec<RawField>, media_hosts: &BTreeSet<String>) -> Result<Schema, String> {
    let mut count = 0;
    let fields = parse_fields(raw, "", 1, &mut count, media_hosts)?;
    if fields.is_empty() {
        return Err("[[setting]] declares no fields".into());
    }
    Ok(Schema { fields })
}

fn parse_fields(
    raw: Vec<RawField>,
    parent: &str,
    depth: usize,
    count: &mut usize,
    hosts: &BTreeSet<String>,
) -> Result<Vec<Field>, String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "setting {parent:?} nests records and lists deeper than {MAX_DEPTH} levels"
        ));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(raw.len());
    for field in raw {
        *count += 1;
        if *count > MAX_FIELDS {
            return Err(format!(
                "[[setting]] declares more than {MAX_FIELDS} fields"
            ));
        }
        let path = join(parent, &field.key);
        if !valid_key(&field.key) {
            return Err(format!(
                "setting {path:?}: key must be 1-64 characters of a-z, A-Z, 0-9, _, - and ."
            ));
        }
        if !seen.insert(field.key.clone()) {
            return Err(format!("setting {path:?} is declared twice"));
        }
        out.push(parse_field(field, &path, depth, count, hosts)?);
    }
    Ok(out)
}

/// The attributes each type may carry (beyond key, type, label, help,
/// default and optional).
fn allowed_attributes(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "text" => &["max_length"],
        "template" => &["max_length", "variables"],
        "number" => &["min", "max", "step", "integer"],
        "boolean" | "color" => &[],
        "choice" => &["choices"],
        "media" => &["accept"],
        "duration" => &["min_ms", "max_ms"],
        "record" => &["fields"],
        "list" => &["fields", "min_items", "max_items"],
        _ => return None,
    })
}

fn parse_field(
    raw: RawField,
    path: &str,
    depth: usize,
    count: &mut usize,
    hosts: &BTreeSet<String>,
) -> Result<Field, String> {
    let fail = |problem: String| format!("setting {path:?}: {problem}");
    let Some(allowed) = allowed_attributes(&raw.kind) else {
        return Err(fail(format!(
            "unknown type {:?}; one of text, template, number, boolean, choice, color, media, duration, record, list",
            raw.kind
        )));
    };
    let given = [
        ("max_length", raw.max_length.is_some()),
        ("variables", raw.variables.is_some()),
        ("min", raw.min.is_some()),
        ("max", raw.max.is_some()),
        ("step", raw.step.is_some()),
        ("integer", raw.integer.is_some()),
        ("choices", raw.choices.is_some()),
        ("accept", raw.accept.is_some()),
        ("min_ms", raw.min_ms.is_some()),
        ("max_ms", raw.max_ms.is_some()),
        ("fields", raw.fields.is_some()),
        ("min_items", raw.min_items.is_some()),
        ("max_items", raw.max_items.is_some()),
    ];
    if let Some((name, _)) = given.iter().find(|(n, g)| *g && !allowed.contains(n)) {
        return Err(fail(format!(
            "{name} does not apply to a {} setting",
            raw.kind
        )));
    }
    plain_text(&raw.label, 200).map_err(|p| fail(format!("label {p}")))?;
    if raw.label.trim().is_empty() {
        return Err(fail("label must not be empty".into()));
    }
    if let Some(help) = &raw.help {
        plain_text(help, 1_000).map_err(|p| fail(format!("help {p}")))?;
    }
    let text_length = |default: usize| -> Result<usize, String> {
        match raw.max_length {
            None => Ok(default),
            Some(n) if (1..=MAX_TEXT_LENGTH as u64).contains(&n) => Ok(n as usize),
            Some(n) => Err(fail(format!(
                "max_length {n} is outside 1 to {MAX_TEXT_LENGTH}"
            ))),
        }
    };
    let kind = match raw.kind.as_str() {
        "text" => Kind::Text {
            max_length: text_length(DEFAULT_TEXT_LENGTH)?,
        },
        "template" => {
            let variables = raw.variables.clone().unwrap_or_default();
            if variables.len() > MAX_VARIABLES {
                return Err(fail(format!("more than {MAX_VARIABLES} variables")));
            }
            if let Some(bad) = variables.iter().find(|v| !valid_variable(v)) {
                return Err(fail(format!(
                    "variable {bad:?} must be 1-64 characters of a-z, A-Z, 0-9, _ and ."
                )));
            }
            Kind::Template {
                max_length: text_length(DEFAULT_TEMPLATE_LENGTH)?,
                variables,
            }
        }
        "number" => {
            for (name, value) in [("min", raw.min), ("max", raw.max), ("step", raw.step)] {
                if let Some(v) = value
                    && !v.is_finite()
                {
                    return Err(fail(format!("{name} must be a finite number")));
                }
            }
            if let (Some(min), Some(max)) = (raw.min, raw.max)
                && min > max
            {
                return Err(fail(format!("min {min} is above max {max}")));
            }
            if let Some(step) = raw.step
                && step <= 0.0
            {
                return Err(fail(format!("step {step} must be above 0")));
            }
            let integer = raw.integer.unwrap_or(false);
            if integer
                && let Some((name, v)) = [("min", raw.min), ("max", raw.max), ("step", raw.step)]
                    .into_iter()
                    .find_map(|(n, v)| v.filter(|v| v.fract() != 0.0).map(|v| (n, v)))
            {
                return Err(fail(format!(
                    "{name} {v} is not a whole number, but the setting is an integer"
                )));
            }
            Kind::Number {
                min: raw.min,
                max: raw.max,
                step: raw.step,
                integer,
            }
        }
        "boolean" => Kind::Boolean,
        "color" => Kind::Color,
        "choice" => {
            let Some(raw_choices) = raw.choices.as_ref().filter(|c| !c.is_empty()) else {
                return Err(fail(
                    "a choice setting needs a non-empty choices list".into(),
                ));
            };
            if raw_choices.len() > MAX_CHOICES {
                return Err(fail(format!("more than {MAX_CHOICES} choices")));
            }
            let mut choices = Vec::with_capacity(raw_choices.len());
            let mut values = HashSet::new();
            for choice in raw_choices {
                let (value, label) = match choice {
                    RawChoice::Plain(v) => (v.clone(), v.clone()),
                    RawChoice::Labelled { value, label } => (value.clone(), label.clone()),
                };
                plain_text(&value, 200).map_err(|p| fail(format!("choice value {p}")))?;
                plain_text(&label, 200).map_err(|p| fail(format!("choice label {p}")))?;
                if !values.insert(value.clone()) {
                    return Err(fail(format!("choice {value:?} is listed twice")));
                }
                choices.push(Choice { value, label });
            }
            Kind::Choice { choices }
        }
        "media" => {
            let accept = match raw.accept.as_deref().unwrap_or("any") {
                "image" => Accept::Image,
                "sound" => Accept::Sound,
                "video" => Accept::Video,
                "any" => Accept::Any,
                other => {
                    return Err(fail(format!(
                        "accept {other:?} is not one of image, sound, video, any"
                    )));
                }
            };
            Kind::Media { accept }
        }
        "duration" => {
            let min_ms = raw.min_ms.unwrap_or(0);
            let max_ms = raw.max_ms.unwrap_or(MAX_DURATION_MS);
            if max_ms > MAX_DURATION_MS {
                return Err(fail(format!(
                    "max_ms {max_ms} is above the most a duration may be ({MAX_DURATION_MS})"
                )));
            }
            if min_ms > max_ms {
                return Err(fail(format!("min_ms {min_ms} is above max_ms {max_ms}")));
            }
            Kind::Duration { min_ms, max_ms }
        }
        "record" | "list" => {
            let Some(inner) = raw.fields.filter(|f| !f.is_empty()) else {
                return Err(fail(format!(
                    "a {} setting needs its fields ([[setting.fields]])",
                    raw.kind
                )));
            };
            let fields = parse_fields(inner, path, depth + 1, count, hosts)?;
            if raw.kind == "record" {
                Kind::Record { fields }
            } else {
                let min_items = raw.min_items.unwrap_or(0);
                let max_items = raw.max_items.unwrap_or(MAX_LIST_ITEMS as u64);
                if max_items > MAX_LIST_ITEMS as u64 {
                    return Err(fail(format!(
                        "max_items {max_items} is above {MAX_LIST_ITEMS}"
                    )));
                }
                if min_items > max_items {
                    return Err(fail(format!(
                        "min_items {min_items} is above max_items {max_items}"
                    )));
                }
                Kind::List {
                    fields,
                    min_items: min_items as usize,
                    max_items: max_items as usize,
                }
            }
        }
        _ => unreachable!("allowed_attributes knows every type"),
    };
    let optional = raw.optional.unwrap_or(false);
    let mut field = Field {
        key: raw.key,
        label: raw.label,
        help: raw.help,
        default: Value::Null,
        optional,
        kind,
    };
    if optional {
        if matches!(field.kind, Kind::Record { .. } | Kind::List { .. }) {
            return Err(fail(format!(
                "optional applies to plain settings, not to a {}",
                raw.kind
            )));
        }
        if raw.default.is_some() {
            return Err(fail(
                "an optional setting has no default: leaving it out means \"not set\"".into(),
            ));
        }
        return Ok(field);
    }
    let default = match raw.default {
        Some(value) => serde_json::to_value(value).map_err(|e| fail(format!("default: {e}")))?,
        None => field.implicit_default(),
    };
    field.default = field
        .check(&default, path, hosts)
        .map_err(|e| fail(format!("default is not valid: {}", e.message)))?;
    Ok(field)
}

impl Field {
    /// The default of a field whose table gives none: empty text, `false`,
    /// the first choice, black, no media, the smallest duration, a record of
    /// its fields' defaults, an empty list; a number is 0 moved into its range.
    fn implicit_default(&self) -> Value {
        match &self.kind {
            Kind::Text { .. } | Kind::Template { .. } | Kind::Media { .. } => Value::from(""),
            Kind::Boolean => Value::from(false),
            Kind::Color => Value::from("#000000"),
            Kind::Choice { choices } => Value::from(choices[0].value.clone()),
            Kind::Duration { min_ms, .. } => Value::from(*min_ms),
            Kind::Number { min, max, .. } => {
                let n = min.map_or(0.0, |m| m.max(0.0));
                let n = max.map_or(n, |m| n.min(m));
                serde_json::Number::from_f64(n)
                    .filter(|_| n.fract() != 0.0)
                    .map(Value::Number)
                    .unwrap_or_else(|| Value::from(n as i64))
            }
            Kind::Record { fields } => Value::Object(
                fields
                    .iter()
                    .filter(|f| !f.optional)
                    .map(|f| (f.key.clone(), f.default.clone()))
                    .collect(),
            ),
            Kind::List { .. } => Value::Array(Vec::new()),
        }
    }

    /// Checks `value` for this field at `path` and gives it back with the
    /// defaults of missing keys filled in (inside records and list items).
    fn check(&self, value: &Value, path: &str, hosts: &BTreeSet<String>) -> Result<Value, Invalid> {
        let invalid = |message: String| Invalid {
            field: path.to_owned(),
            message,
        };
        let expected = |what: &str| invalid(format!("must be {what}, not {}", type_name(value)));
        match &self.kind {
            Kind::Text { max_length } | Kind::Template { max_length, .. } => {
                let text = value.as_str().ok_or_else(|| expected("text"))?;
                let length = text.chars().count();
                if length > *max_length {
                    return Err(invalid(format!(
                        "is {length} characters long; at most {max_length}"
                    )));
                }
                let multiline = matches!(self.kind, Kind::Template { .. });
                let bad =
                    |c: char| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t'));
                if text.chars().any(bad) {
                    return Err(invalid(if multiline {
                        "holds control characters (only line breaks and tabs are allowed)".into()
                    } else {
                        "holds control characters or line breaks".into()
                    }));
                }
                Ok(value.clone())
            }
            Kind::Number {
                min,
                max,
                step,
                integer,
            } => {
                let n = value.as_f64().ok_or_else(|| expected("a number"))?;
                if *integer && n.fract() != 0.0 {
                    return Err(invalid(format!("{n} is not a whole number")));
                }
                if let Some(min) = min
                    && n < *min
                {
                    return Err(invalid(format!("{n} is below the minimum {min}")));
                }
                if let Some(max) = max
                    && n > *max
                {
                    return Err(invalid(format!("{n} is above the maximum {max}")));
                }
                if let Some(step) = step {
                    let steps = (n - min.unwrap_or(0.0)) / step;
                    if (steps - steps.round()).abs() > 1e-9 * steps.abs().max(1.0) {
                        return Err(invalid(format!(
                            "{n} is not a multiple of the step {step} from {}",
                            min.unwrap_or(0.0)
                        )));
                    }
                }
                Ok(value.clone())
            }
            Kind::Boolean => value
                .as_bool()
                .map(Value::from)
                .ok_or_else(|| expected("true or false")),
            Kind::Choice { choices } => {
                let chosen = value
                    .as_str()
                    .ok_or_else(|| expected("one of the choices"))?;
                if choices.iter().any(|c| c.value == chosen) {
                    Ok(value.clone())
                } else {
                    let names: Vec<&str> = choices.iter().map(|c| c.value.as_str()).collect();
                    Err(invalid(format!(
                        "{chosen:?} is not one of the choices: {}",
                        names.join(", ")
                    )))
                }
            }
            Kind::Color => {
                let color = value.as_str().ok_or_else(|| expected("a color"))?;
                let hex = color.strip_prefix('#').unwrap_or("");
                if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
                    Ok(value.clone())
                } else {
                    Err(invalid(format!(
                        "{color:?} is not a color like \"#ff8800\""
                    )))
                }
            }
            Kind::Media { accept } => {
                let url = value.as_str().ok_or_else(|| expected("a media URL"))?;
                if url.is_empty() {
                    return Ok(value.clone());
                }
                check_url(url, hosts).map_err(invalid)?;
                match media_kind(url) {
                    Some(kind) if *accept != Accept::Any && kind != *accept => {
                        Err(invalid(format!(
                            "{url:?} looks like {}, but this setting takes {}",
                            accept_name(kind),
                            accept_name(*accept)
                        )))
                    }
                    _ => Ok(value.clone()),
                }
            }
            Kind::Duration { min_ms, max_ms } => {
                let ms = value
                    .as_u64()
                    .ok_or_else(|| expected("a whole number of milliseconds"))?;
                if ms < *min_ms || ms > *max_ms {
                    return Err(invalid(format!(
                        "{ms} ms is outside {min_ms} to {max_ms} ms"
                    )));
                }
                Ok(value.clone())
            }
            Kind::Record { fields } => {
                let object = value.as_object().ok_or_else(|| expected("an object"))?;
                check_object(fields, object, path, hosts).map(Value::Object)
            }
            Kind::List {
                fields,
                min_items,
                max_items,
            } => {
                let items = value.as_array().ok_or_else(|| expected("a list"))?;
                if items.len() < *min_items || items.len() > *max_items {
                    return Err(invalid(format!(
                        "has {} items; between {min_items} and {max_items} are allowed",
                        items.len()
                    )));
                }
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let item_path = join(path, &i.to_string());
                    let object = item.as_object().ok_or_else(|| Invalid {
                        field: item_path.clone(),
                        message: format!("must be an object, not {}", type_name(item)),
                    })?;
                    out.push(Value::Object(check_object(
                        fields, object, &item_path, hosts,
                    )?));
                }
                Ok(Value::Array(out))
            }
        }
    }
}

impl Schema {
    /// Checks a settings object and gives back the one the plugin runs with:
    /// every key of the schema, missing ones at their defaults. Unknown keys
    /// are refused. `media_hosts` are the media hosts the plugin asks for.
    pub fn apply(
        &self,
        settings: &Value,
        media_hosts: &BTreeSet<String>,
    ) -> Result<Value, Invalid> {
        let object = settings.as_object().ok_or_else(|| Invalid {
            field: String::new(),
            message: format!("settings must be an object, not {}", type_name(settings)),
        })?;
        check_object(&self.fields, object, "", media_hosts).map(Value::Object)
    }

    /// The settings object of the schema's defaults.
    pub fn defaults(&self) -> Value {
        Value::Object(
            self.fields
                .iter()
                .filter(|f| !f.optional)
                .map(|f| (f.key.clone(), f.default.clone()))
                .collect(),
        )
    }

    /// What a plugin author should fix though the schema loads: a template
    /// default using a `{placeholder}` that is not among its `variables`
    /// (the form offers only those, so it is probably a typo).
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        warn_fields(&self.fields, "", &mut out);
        out
    }
}

fn warn_fields(fields: &[Field], parent: &str, out: &mut Vec<String>) {
    for field in fields {
        let path = join(parent, &field.key);
        match &field.kind {
            Kind::Template { variables, .. } if !variables.is_empty() => {
                let text = field.default.as_str().unwrap_or_default();
                for name in placeholders(text) {
                    if !variables.iter().any(|v| v == name) {
                        out.push(format!(
                            "setting {path:?}: its default uses {{{name}}}, which is not among its variables ({})",
                            variables.join(", ")
                        ));
                    }
                }
            }
            Kind::Record { fields } | Kind::List { fields, .. } => warn_fields(fields, &path, out),
            _ => {}
        }
    }
}

/// The `{name}` placeholders of a template (`{{` is a literal brace).
fn placeholders(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find('{') {
        let tail = &rest[i + 1..];
        if let Some(after) = tail.strip_prefix('{') {
            rest = after;
            continue;
        }
        match tail.find('}') {
            Some(end) if valid_variable(&tail[..end]) => {
                out.push(&tail[..end]);
                rest = &tail[end + 1..];
            }
            _ => rest = tail,
        }
    }
    out
}

fn check_object(
    fields: &[Field],
    object: &Map<String, Value>,
    path: &str,
    hosts: &BTreeSet<String>,
) -> Result<Map<String, Value>, Invalid> {
    if let Some(unknown) = object.keys().find(|k| !fields.iter().any(|f| &f.key == *k)) {
        return Err(Invalid {
            field: join(path, unknown),
            message: format!("the plugin has no setting named {unknown:?}"),
        });
    }
    let mut out = Map::new();
    for field in fields {
        let value = match object.get(&field.key) {
            // Not set stays not set (a form sends null for an emptied one).
            None | Some(Value::Null) if field.optional => continue,
            Some(value) => field.check(value, &join(path, &field.key), hosts)?,
            None => field.default.clone(),
        };
        out.insert(field.key.clone(), value);
    }
    Ok(out)
}

/// The kind of media a URL names, from its extension or `data:` type; None
/// when it does not say.
fn media_kind(url: &str) -> Option<Accept> {
    if let Some(data) = url.strip_prefix("data:") {
        return [
            ("image/", Accept::Image),
            ("audio/", Accept::Sound),
            ("video/", Accept::Video),
        ]
        .into_iter()
        .find(|(prefix, _)| data.starts_with(prefix))
        .map(|(_, kind)| kind);
    }
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let extension = path.rsplit_once('.')?.1.to_ascii_lowercase();
    match extension.as_str() {
        "png" | "jpg" | "jpeg" | "gif" | "webp" | "svg" | "avif" => Some(Accept::Image),
        "mp3" | "ogg" | "oga" | "wav" | "opus" | "m4a" => Some(Accept::Sound),
        "webm" | "mp4" | "m4v" => Some(Accept::Video),
        _ => None,
    }
}

fn accept_name(kind: Accept) -> &'static str {
    match kind {
        Accept::Image => "an image",
        Accept::Sound => "a sound",
        Accept::Video => "a video",
        Accept::Any => "any media",
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

fn valid_key(key: &str) -> bool {
    (1..=64).contains(&key.len())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn valid_variable(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.'))
}

/// Labels, help and choices are shown on the dashboard: plain text of a sane length.
fn plain_text(text: &str, max: usize) -> Result<(), String> {
    if text.chars().count() > max {
        Err(format!("is over {max} characters"))
    } else if text.chars().any(char::is_control) {
        Err("holds control characters".into())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Deserialize)]
    struct Doc {
        setting: Vec<RawField>,
    }

    fn schema_with(toml_text: &str, hosts: &[&str]) -> Result<Schema, String> {
        let doc: Doc = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        let hosts = hosts.iter().map(|h| h.to_string()).collect();
        parse(doc.setting, &hosts)
    }

    fn schema(toml_text: &str) -> Result<Schema, String> {
        schema_with(toml_text, &[])
    }

    #[test]
    fn optional_settings_stay_unset_and_are_checked_when_set() {
        let schema = schema(
            r#"
            [[setting]]
            key = "variations"
            type = "list"
            label = "Variations"

            [[setting.fields]]
            key = "when"
            type = "text"
            label = "When"

            [[setting.fields]]
            key = "title"
            type = "text"
            label = "Title"
            optional = true
            max_length = 5

            [[setting.fields]]
            key = "on"
            type = "boolean"
            label = "On"
            optional = true
            "#,
        )
        .unwrap();
        let none = BTreeSet::new();
        let applied = schema
            .apply(
                &json!({"variations": [{"when": "a"}, {"when": "b", "title": null, "on": false}, {"when": "c", "title": "hey"}]}),
                &none,
            )
            .unwrap();
        assert_eq!(
            applied,
            json!({"variations": [{"when": "a"}, {"when": "b", "on": false}, {"when": "c", "title": "hey"}]})
        );
        let err = schema
            .apply(
                &json!({"variations": [{"when": "a", "title": "too long"}]}),
                &none,
            )
            .unwrap_err();
        assert_eq!(err.field, "variations.0.title");
        let err = schema
            .apply(&json!({"variations": [{"when": "a", "on": "yes"}]}), &none)
            .unwrap_err();
        assert_eq!(err.field, "variations.0.on");

        for (bad, needle) in [
            (
                "[[setting]]\nkey = \"a\"\ntype = \"text\"\nlabel = \"A\"\noptional = true\ndefault = \"x\"",
                "an optional setting has no default",
            ),
            (
                "[[setting]]\nkey = \"a\"\ntype = \"record\"\nlabel = \"A\"\noptional = true\n[[setting.fields]]\nkey = \"b\"\ntype = \"text\"\nlabel = \"B\"",
                "optional applies to plain settings",
            ),
        ] {
            let err = schema_with(bad, &[]).unwrap_err();
            assert!(err.contains(needle), "{err}");
        }
    }

    /// One field of every type, with a record and a list of records.
    const EVERY_TYPE: &str = r##"
        [[setting]]
        key = "title"
        type = "text"
        label = "Title"
        default = "New follower!"
        max_length = 20

        [[setting]]
        key = "message"
        type = "template"
        label = "Message"
        default = "{name} just followed"
        variables = ["name", "amount"]

        [[setting]]
        key = "volume"
        type = "number"
        label = "Volume"
        min = 0
        max = 1
        step = 0.25
        default = 0.5

        [[setting]]
        key = "count"
        type = "number"
        label = "Count"
        min = 1
        max = 10
        integer = true

        [[setting]]
        key = "tts"
        type = "boolean"
        label = "Read it aloud"
        default = true

        [[setting]]
        key = "position"
        type = "choice"
        label = "Position"
        choices = ["top", { value = "bottom", label = "Bottom of the screen" }]

        [[setting]]
        key = "accent"
        type = "color"
        label = "Accent"
        default = "#FF8800"

        [[setting]]
        key = "image"
        type = "media"
        label = "Image"
        accept = "image"

        [[setting]]
        key = "duration_ms"
        type = "duration"
        label = "On screen for"
        min_ms = 1000
        max_ms = 60000
        default = 5000

        [[setting]]
        key = "style"
        type = "record"
        label = "Style"
        [[setting.fields]]
        key = "font"
        type = "text"
        label = "Font"
        default = "sans-serif"

        [[setting]]
        key = "variations"
        type = "list"
        label = "Variations"
        max_items = 3
        [[setting.fields]]
        key = "min_amount"
        type = "number"
        label = "From amount"
        integer = true
        min = 0
        [[setting.fields]]
        key = "title"
        type = "text"
        label = "Title"
    "##;

    fn every_type() -> Schema {
        schema(EVERY_TYPE).unwrap()
    }

    fn invalid(settings: Value) -> Invalid {
        every_type()
            .apply(&settings, &BTreeSet::new())
            .expect_err("should be refused")
    }

    #[test]
    fn every_type_parses_with_its_defaults() {
        let s = every_type();
        assert_eq!(s.fields.len(), 11);
        assert_eq!(
            s.defaults(),
            json!({
                "title": "New follower!",
                "message": "{name} just followed",
                "volume": 0.5,
                "count": 1,
                "tts": true,
                "position": "top",
                "accent": "#FF8800",
                "image": "",
                "duration_ms": 5000,
                "style": {"font": "sans-serif"},
                "variations": [],
            })
        );
        assert!(s.warnings().is_empty(), "{:?}", s.warnings());
    }

    #[test]
    fn the_schema_serialises_with_its_types_and_attributes() {
        let json = serde_json::to_value(every_type()).unwrap();
        assert_eq!(json[0]["type"], "text");
        assert_eq!(json[0]["max_length"], 20);
        assert_eq!(json[1]["variables"], json!(["name", "amount"]));
        assert_eq!(json[2]["step"], 0.25);
        assert_eq!(json[3]["integer"], true);
        assert_eq!(
            json[4],
            json!({"key": "tts", "type": "boolean", "label": "Read it aloud", "default": true})
        );
        assert_eq!(
            json[5]["choices"],
            json!([{"value": "top", "label": "top"}, {"value": "bottom", "label": "Bottom of the screen"}])
        );
        assert_eq!(json[7]["accept"], "image");
        assert_eq!(json[8]["min_ms"], 1000);
        assert_eq!(json[9]["fields"][0]["key"], "font");
        assert_eq!(json[10]["max_items"], 3);
        assert_eq!(json[10]["min_items"], 0);
    }

    #[test]
    fn good_settings_pass_and_missing_keys_take_their_defaults() {
        let out = every_type()
            .apply(
                &json!({
                    "title": "Hi",
                    "message": "Thanks {name}!\nReally.",
                    "volume": 0.75,
                    "count": 3,
                    "tts": false,
                    "position": "bottom",
                    "accent": "#00aa11",
                    "image": "/media/abc.png",
                    "duration_ms": 2500,
                    "style": {},
                    "variations": [{"min_amount": 100, "title": "Big"}, {}],
                }),
                &BTreeSet::new(),
            )
            .unwrap();
        assert_eq!(out["title"], "Hi");
        assert_eq!(out["style"], json!({"font": "sans-serif"}));
        assert_eq!(
            out["variations"],
            json!([{"min_amount": 100, "title": "Big"}, {"min_amount": 0, "title": ""}])
        );
        let empty = every_type().apply(&json!({}), &BTreeSet::new()).unwrap();
        assert_eq!(empty, every_type().defaults());
    }

    #[test]
    fn each_bad_value_is_refused_naming_its_field() {
        for (settings, field, needle) in [
            (json!({"nope": 1}), "nope", "no setting named"),
            (json!({"title": 5}), "title", "must be text"),
            (json!({"title": "x".repeat(21)}), "title", "at most 20"),
            (json!({"title": "a\nb"}), "title", "line breaks"),
            (
                json!({"message": "a\u{7}b"}),
                "message",
                "control characters",
            ),
            (json!({"volume": "loud"}), "volume", "must be a number"),
            (json!({"volume": 1.5}), "volume", "above the maximum 1"),
            (json!({"volume": -1}), "volume", "below the minimum 0"),
            (json!({"volume": 0.3}), "volume", "step 0.25"),
            (json!({"count": 2.5}), "count", "not a whole number"),
            (json!({"tts": "yes"}), "tts", "true or false"),
            (
                json!({"position": "left"}),
                "position",
                "not one of the choices: top, bottom",
            ),
            (json!({"accent": "orange"}), "accent", "not a color"),
            (json!({"accent": "#ff880"}), "accent", "not a color"),
            (
                json!({"image": "https://evil.example/x.png"}),
                "image",
                "not allowed",
            ),
            (json!({"image": "/api/events"}), "image", "not served"),
            (
                json!({"image": "/media/boom.ogg"}),
                "image",
                "looks like a sound",
            ),
            (
                json!({"image": "javascript:alert(1)"}),
                "image",
                "must be https",
            ),
            (
                json!({"duration_ms": 999}),
                "duration_ms",
                "outside 1000 to 60000",
            ),
            (
                json!({"duration_ms": 1500.5}),
                "duration_ms",
                "whole number of milliseconds",
            ),
            (json!({"style": "bold"}), "style", "must be an object"),
            (
                json!({"style": {"weight": 700}}),
                "style.weight",
                "no setting named",
            ),
            (json!({"style": {"font": 1}}), "style.font", "must be text"),
            (json!({"variations": {}}), "variations", "must be a list"),
            (
                json!({"variations": [{}, {}, {}, {}]}),
                "variations",
                "between 0 and 3",
            ),
            (
                json!({"variations": [{}, 5]}),
                "variations.1",
                "must be an object",
            ),
            (
                json!({"variations": [{"min_amount": -5}]}),
                "variations.0.min_amount",
                "below the minimum",
            ),
            (
                json!({"variations": [{"extra": true}]}),
                "variations.0.extra",
                "no setting named",
            ),
            (json!({"title": null}), "title", "not null"),
        ] {
            let e = invalid(settings.clone());
            assert_eq!(e.field, field, "{settings}: {e:?}");
            assert!(e.message.contains(needle), "{settings}: {e:?}");
        }
        let top = every_type()
            .apply(&json!([1]), &BTreeSet::new())
            .unwrap_err();
        assert!(top.message.contains("must be an object"), "{top:?}");
    }

    #[test]
    fn media_takes_library_paths_granted_hosts_and_nothing_else() {
        let s = schema_with(
            "[[setting]]\nkey = \"m\"\ntype = \"media\"\nlabel = \"M\"\naccept = \"sound\"",
            &["cdn.example.com"],
        )
        .unwrap();
        let hosts: BTreeSet<String> = ["cdn.example.com".to_string()].into();
        for ok in [
            "",
            "/media/abc.ogg",
            "/assets/overlay/media/ding.wav",
            "data:audio/wav;base64,AAAA",
            "https://cdn.example.com/ding.mp3",
            "https://cdn.example.com/no-extension",
        ] {
            assert!(s.apply(&json!({"m": ok}), &hosts).is_ok(), "{ok}");
        }
        for bad in [
            "data:image/png;base64,AAAA",
            "/media/a.webm",
            "https://other.example/ding.mp3",
            "/media/../secret.ogg",
        ] {
            let e = s.apply(&json!({"m": bad}), &hosts).unwrap_err();
            assert_eq!(e.field, "m", "{bad}");
        }
    }

    #[test]
    fn malformed_schemas_are_refused_naming_the_setting() {
        let field = |body: &str| format!("[[setting]]\nkey = \"f\"\nlabel = \"F\"\n{body}");
        for (text, needle) in [
            (
                field("type = \"number\"\nmin = 5\nmax = 1"),
                "min 5 is above max 1",
            ),
            (
                field("type = \"number\"\nstep = 0"),
                "step 0 must be above 0",
            ),
            (
                field("type = \"number\"\ninteger = true\nmin = 0.5"),
                "min 0.5 is not a whole number",
            ),
            (
                field("type = \"number\"\nmin = 1\ndefault = 0"),
                "default is not valid: 0 is below the minimum 1",
            ),
            (field("type = \"choice\""), "needs a non-empty choices list"),
            (
                field("type = \"choice\"\nchoices = []"),
                "needs a non-empty choices list",
            ),
            (
                field("type = \"choice\"\nchoices = [\"a\", \"a\"]"),
                "listed twice",
            ),
            (
                field("type = \"choice\"\nchoices = [\"a\"]\ndefault = \"b\""),
                "default is not valid",
            ),
            (
                field("type = \"color\"\ndefault = \"red\""),
                "default is not valid",
            ),
            (
                field("type = \"media\"\naccept = \"font\""),
                "accept \"font\"",
            ),
            (
                field("type = \"media\"\ndefault = \"https://evil.example/a.png\""),
                "not allowed",
            ),
            (
                field("type = \"duration\"\nmin_ms = 10\nmax_ms = 5"),
                "min_ms 10 is above max_ms 5",
            ),
            (field("type = \"duration\"\nmax_ms = 99999999999"), "max_ms"),
            (
                field("type = \"text\"\nmax_length = 0"),
                "max_length 0 is outside",
            ),
            (
                field("type = \"text\"\nmax_length = 3\ndefault = \"long\""),
                "default is not valid",
            ),
            (
                field("type = \"text\"\nmin = 3"),
                "min does not apply to a text setting",
            ),
            (
                field("type = \"boolean\"\ndefault = \"yes\""),
                "default is not valid",
            ),
            (
                field("type = \"template\"\nvariables = [\"bad name\"]"),
                "variable \"bad name\"",
            ),
            (field("type = \"slider\""), "unknown type \"slider\""),
            (field("type = \"record\""), "needs its fields"),
            (
                field(
                    "type = \"list\"\nmax_items = 1000\n[[setting.fields]]\nkey = \"a\"\ntype = \"text\"\nlabel = \"A\"",
                ),
                "max_items 1000 is above",
            ),
            (
                field(
                    "type = \"list\"\nmin_items = 2\nmax_items = 1\n[[setting.fields]]\nkey = \"a\"\ntype = \"text\"\nlabel = \"A\"",
                ),
                "min_items 2 is above max_items 1",
            ),
            (
                field(
                    "type = \"list\"\nmin_items = 1\n[[setting.fields]]\nkey = \"a\"\ntype = \"text\"\nlabel = \"A\"",
                ),
                "default is not valid: has 0 items",
            ),
            (field("type = \"text\"\nlabel2 = \"x\""), "unknown field"),
            (
                field("type = \"text\"\nhelp = \"a\\u001b[8m\""),
                "help holds control characters",
            ),
            (
                field(
                    "type = \"text\"\n[[setting]]\nkey = \"f\"\ntype = \"text\"\nlabel = \"Again\"",
                ),
                "declared twice",
            ),
            (
                "[[setting]]\nkey = \"a b\"\ntype = \"text\"\nlabel = \"A\"".to_string(),
                "key must be",
            ),
            (
                "[[setting]]\nkey = \"a\"\ntype = \"text\"\nlabel = \" \"".to_string(),
                "label must not be empty",
            ),
            (
                field(
                    "type = \"record\"\n[[setting.fields]]\nkey = \"in\"\ntype = \"number\"\nlabel = \"In\"\nmax = -1\nmin = 0",
                ),
                "setting \"f.in\": min 0 is above max -1",
            ),
        ] {
            let err = schema(&text).unwrap_err();
            assert!(err.contains(needle), "{text}\n=> {err}");
        }
    }

    #[test]
    fn schemas_are_capped_in_depth_and_size() {
        let mut nested = String::new();
        let mut prefix = "setting".to_string();
        for depth in 0..=MAX_DEPTH {
            nested.push_str(&format!(
                "[[{prefix}]]\nkey = \"r{depth}\"\ntype = \"record\"\nlabel = \"R\"\n"
            ));
            prefix.push_str(".fields");
        }
        nested.push_str(&format!(
            "[[{prefix}]]\nkey = \"leaf\"\ntype = \"text\"\nlabel = \"L\"\n"
        ));
        let err = schema(&nested).unwrap_err();
        assert!(err.contains("deeper than 4 levels"), "{err}");

        let many: String = (0..=MAX_FIELDS)
            .map(|i| format!("[[setting]]\nkey = \"f{i}\"\ntype = \"boolean\"\nlabel = \"F\"\n"))
            .collect();
        let err = schema(&many).unwrap_err();
        assert!(err.contains("more than 300 fields"), "{err}");

        let choices: Vec<String> = (0..=MAX_CHOICES).map(|i| format!("\"c{i}\"")).collect();
        let text = format!(
            "[[setting]]\nkey = \"c\"\ntype = \"choice\"\nlabel = \"C\"\nchoices = [{}]",
            choices.join(", ")
        );
        assert!(schema(&text).unwrap_err().contains("more than 100 choices"));
    }

    #[test]
    fn a_template_default_with_an_unlisted_variable_is_a_warning() {
        let s = schema(
            "[[setting]]\nkey = \"m\"\ntype = \"template\"\nlabel = \"M\"\nvariables = [\"name\"]\ndefault = \"{{literal}} {nmae} and {name}\"",
        )
        .unwrap();
        let warnings = s.warnings();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("{nmae}"), "{warnings:?}");
        assert_eq!(placeholders("{{a}} { b } {c} {"), vec!["c"]);
    }
}
