//! Small text helpers most alert and formatter plugins need.

use serde_json::Value;

/// A details field by dotted path (`reward.title`, `badges.0.id`) as text:
/// strings as they are, numbers and booleans printed; null, objects and
/// arrays have no text.
pub fn lookup(details: &Value, path: &str) -> Option<String> {
    let mut value = details;
    for key in path.split('.') {
        value = match value {
            Value::Object(map) => map.get(key)?,
            Value::Array(items) => items.get(key.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Twitch tier codes as people say them: "1000" → "Tier 1", "prime" →
/// "Prime"; anything else as it is.
pub fn tier_name(tier: &str) -> String {
    match tier.trim() {
        "1000" => "Tier 1".into(),
        "2000" => "Tier 2".into(),
        "3000" => "Tier 3".into(),
        t if t.eq_ignore_ascii_case("prime") => "Prime".into(),
        t => t.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lookup_follows_dotted_paths() {
        let d = json!({"reward": {"title": "Hydrate"}, "bits": 5, "ok": true, "badges": [{"id": "1"}], "none": null});
        assert_eq!(lookup(&d, "reward.title").as_deref(), Some("Hydrate"));
        assert_eq!(lookup(&d, "bits").as_deref(), Some("5"));
        assert_eq!(lookup(&d, "ok").as_deref(), Some("true"));
        assert_eq!(lookup(&d, "badges.0.id").as_deref(), Some("1"));
        assert_eq!(lookup(&d, "none"), None);
        assert_eq!(lookup(&d, "reward"), None);
        assert_eq!(lookup(&d, "missing.path"), None);
    }

    #[test]
    fn tiers_read_as_people_say_them() {
        assert_eq!(tier_name("1000"), "Tier 1");
        assert_eq!(tier_name("3000"), "Tier 3");
        assert_eq!(tier_name("Prime"), "Prime");
        assert_eq!(tier_name("custom"), "custom");
    }
}
