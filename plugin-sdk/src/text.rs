//! Small text helpers most alert and formatter plugins need: tier names
//! and `{name}` templates (fill them from [`crate::Event::field`]).

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

    #[test]
    fn tiers_read_as_people_say_them() {
        assert_eq!(tier_name("1000"), "Tier 1");
        assert_eq!(tier_name("3000"), "Tier 3");
        assert_eq!(tier_name("Prime"), "Prime");
        assert_eq!(tier_name("custom"), "custom");
    }
}

/// Fills each `{name}` with `lookup(name)`; a name it does not know becomes
/// the empty string, so a typo shows as a gap rather than as raw braces on
/// stream. `{{` and `}}` are literal braces, and a `{` that does not start a
/// placeholder (`{ hi }`, a lone `{`) is kept as it is.
pub fn render(template: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
        } else if let Some((name, after)) = placeholder(tail) {
            out.push_str(&lookup(name).unwrap_or_default());
            rest = after;
        } else {
            out.push_str(&tail[..1]);
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

/// `{name}…` → (name, text after the `}`), if `text` starts with a placeholder.
fn placeholder(text: &str) -> Option<(&str, &str)> {
    let inner = text.strip_prefix('{')?;
    let end = inner.find('}')?;
    let name = &inner[..end];
    is_name(name).then(|| (name, &inner[end + 1..]))
}

/// Variable names: letters, digits and `_`, with `.` between parts for
/// nested fields (`reward.title`).
pub fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|part| {
            !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

#[cfg(test)]
mod template_tests {
    use super::*;

    fn vars(name: &str) -> Option<String> {
        match name {
            "username" => Some("Bob".into()),
            "bits" => Some("100".into()),
            "reward.title" => Some("Hydrate".into()),
            "empty" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn placeholders_are_filled() {
        let cases = [
            ("{username} cheered {bits} bits!", "Bob cheered 100 bits!"),
            ("{username}{bits}", "Bob100"),
            ("redeemed {reward.title}", "redeemed Hydrate"),
            ("no placeholders", "no placeholders"),
            ("", ""),
            ("{username}", "Bob"),
            ("[{empty}]", "[]"),
        ];
        for (template, expected) in cases {
            assert_eq!(render(template, vars), expected, "{template}");
        }
    }

    #[test]
    fn unknown_variables_become_empty() {
        assert_eq!(render("hi {nobody}!", vars), "hi !");
        assert_eq!(render("{reward.cost} points", vars), " points");
    }

    #[test]
    fn braces_that_are_not_placeholders_stay() {
        let cases = [
            ("{{username}}", "{username}"),
            ("a { b } c", "a { b } c"),
            ("lone { brace", "lone { brace"),
            ("lone } brace", "lone } brace"),
            ("{username", "{username"),
            ("{}", "{}"),
            ("{user name}", "{user name}"),
            ("{.x}", "{.x}"),
            ("{a..b}", "{a..b}"),
            ("{{{username}}}", "{Bob}"),
            ("😀{username}😀", "😀Bob😀"),
        ];
        for (template, expected) in cases {
            assert_eq!(render(template, vars), expected, "{template}");
        }
    }

    #[test]
    fn values_are_not_templates_themselves() {
        let sneaky = |_: &str| Some("{username}".to_owned());
        assert_eq!(render("{message}", sneaky), "{username}");
    }

    #[test]
    fn names_allow_nesting_but_not_junk() {
        assert!(is_name("bits"));
        assert!(is_name("reward.title"));
        assert!(is_name("badges.0.set_id"));
        assert!(!is_name(""));
        assert!(!is_name("a b"));
        assert!(!is_name("a."));
        assert!(!is_name("a-b"));
    }
}
