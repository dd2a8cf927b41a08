//! Conditions that pick a variation: `bits >= 1000`,
//! `cumulative_months >= 12 and tier == 3000`.

use std::cmp::Ordering;

use stagehand_plugin_sdk::text::is_name;

/// A parsed `when`: every comparison must hold. Parsed once when the plugin
/// is built, so a typo stops it loading with a message instead of never
/// matching.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    clauses: Vec<Clause>,
}

/// `variable op value`.
#[derive(Debug, Clone, PartialEq)]
struct Clause {
    variable: String,
    op: Op,
    value: String,
}

/// The comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Ge,
    Gt,
    Le,
    Lt,
    Eq,
    Ne,
}

impl Op {
    /// Longest first, so `>=` is not read as `>`.
    const ALL: [(&'static str, Op); 6] = [
        (">=", Op::Ge),
        ("<=", Op::Le),
        ("==", Op::Eq),
        ("!=", Op::Ne),
        (">", Op::Gt),
        ("<", Op::Lt),
    ];

    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Op::Ge => ordering.is_ge(),
            Op::Gt => ordering.is_gt(),
            Op::Le => ordering.is_le(),
            Op::Lt => ordering.is_lt(),
            Op::Eq => ordering.is_eq(),
            Op::Ne => ordering.is_ne(),
        }
    }
}

impl Condition {
    /// Parses `variable op value [and variable op value]…`, with ops
    /// `>= > <= < == !=`. Values may be quoted ("Tier 1" or 'x').
    pub fn parse(text: &str) -> Result<Condition, String> {
        let mut clauses = Vec::new();
        let mut words: Vec<&str> = Vec::new();
        for word in text.split_whitespace().chain(["and"]) {
            if word.eq_ignore_ascii_case("and") {
                if words.is_empty() {
                    return Err(if clauses.is_empty() && text.trim().is_empty() {
                        "the condition is empty".into()
                    } else {
                        "a comparison is missing around `and`".into()
                    });
                }
                clauses.push(Clause::parse(&words.join(" "))?);
                words.clear();
            } else {
                words.push(word);
            }
        }
        Ok(Condition { clauses })
    }

    /// Whether every comparison holds for the variables `lookup` gives.
    pub fn matches(&self, lookup: impl Fn(&str) -> Option<String>) -> bool {
        self.clauses.iter().all(|c| c.holds(lookup(&c.variable)))
    }
}

/// Written back as it would be typed (`bits >= 1000 and tier == 3000`),
/// so it parses to the same condition.
impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, c) in self.clauses.iter().enumerate() {
            if i > 0 {
                f.write_str(" and ")?;
            }
            let symbol = Op::ALL
                .iter()
                .find(|(_, op)| *op == c.op)
                .map_or("==", |(s, _)| s);
            let bare = !c.value.is_empty()
                && !c
                    .value
                    .contains(|ch: char| ch.is_whitespace() || "<>=!\"'".contains(ch));
            if bare {
                write!(f, "{} {symbol} {}", c.variable, c.value)?;
            } else if c.value.contains('"') {
                write!(f, "{} {symbol} '{}'", c.variable, c.value)?;
            } else {
                write!(f, "{} {symbol} \"{}\"", c.variable, c.value)?;
            }
        }
        Ok(())
    }
}

impl Clause {
    fn parse(text: &str) -> Result<Clause, String> {
        let Some(at) = text.find(['<', '>', '=', '!']) else {
            return Err(format!(
                "`{text}` has no comparison (use one of >= > <= < == !=)"
            ));
        };
        let tail = &text[at..];
        let Some((symbol, op)) = Op::ALL.iter().find(|(s, _)| tail.starts_with(s)) else {
            return Err(format!("`{text}`: compare with == (or >= > <= < !=)"));
        };
        let variable = text[..at].trim();
        let value = tail[symbol.len()..].trim();
        if !is_name(variable) {
            return Err(format!("`{text}`: `{variable}` is not a variable name"));
        }
        let value = unquote(value).map_err(|why| format!("`{text}`: {why}"))?;
        Ok(Clause {
            variable: variable.to_owned(),
            op: *op,
            value,
        })
    }

    /// A missing variable satisfies only `!=`: "no bits" is not "bits < 100".
    fn holds(&self, actual: Option<String>) -> bool {
        match actual {
            Some(actual) => self.op.holds(compare(&actual, &self.value)),
            None => self.op == Op::Ne,
        }
    }
}

/// A literal: quoted text as it is, or a bare word without operators.
fn unquote(value: &str) -> Result<String, String> {
    if value.is_empty() {
        return Err("the value is missing".into());
    }
    for quote in ['"', '\''] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|v| v.strip_suffix(quote))
            .filter(|_| value.len() >= 2)
        {
            return Ok(inner.to_owned());
        }
    }
    if value.contains(['<', '>', '=', '!', '"', '\'']) {
        return Err(format!(
            "`{value}` is not a value (put text with symbols in quotes)"
        ));
    }
    Ok(value.to_owned())
}

/// Numbers compare as numbers when both sides are numbers ("900" < "1000"),
/// anything else as text. Plain decimals ("19.99", a donation's amount)
/// compare exactly, digit by digit, so no amount is rounded across a
/// threshold; other numbers ("1e3") compare as floating point.
pub fn compare(left: &str, right: &str) -> Ordering {
    if let (Some(l), Some(r)) = (Decimal::parse(left), Decimal::parse(right)) {
        return l.cmp(&r);
    }
    match (number(left), number(right)) {
        (Some(l), Some(r)) => l.partial_cmp(&r).unwrap_or(Ordering::Equal),
        _ => left.cmp(right),
    }
}

/// A plain decimal: an optional `-`, digits, optionally `.` and digits.
/// Leading zeros of the whole part and trailing zeros of the fraction are
/// dropped, so equal values have equal parts ("020.50" is "20.5").
#[derive(Debug, PartialEq, Eq)]
struct Decimal<'a> {
    negative: bool,
    whole: &'a str,
    fraction: &'a str,
}

impl<'a> Decimal<'a> {
    fn parse(text: &'a str) -> Option<Decimal<'a>> {
        let text = text.trim();
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
            return None;
        }
        if digits.ends_with('.') {
            return None;
        }
        let whole = whole.trim_start_matches('0');
        let fraction = fraction.trim_end_matches('0');
        // -0 is 0.
        let negative = negative && !(whole.is_empty() && fraction.is_empty());
        Some(Decimal {
            negative,
            whole,
            fraction,
        })
    }

    /// The order of the magnitudes: more whole digits is bigger, then digit
    /// by digit (fractions compare as text once trailing zeros are gone).
    fn cmp_magnitude(&self, other: &Decimal) -> Ordering {
        self.whole
            .len()
            .cmp(&other.whole.len())
            .then_with(|| self.whole.cmp(other.whole))
            .then_with(|| self.fraction.cmp(other.fraction))
    }
}

impl Ord for Decimal<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.negative, other.negative) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.cmp_magnitude(other),
            (true, true) => other.cmp_magnitude(self),
        }
    }
}

impl PartialOrd for Decimal<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(name: &str) -> Option<String> {
        match name {
            "bits" => Some("1500".into()),
            "cumulative_months" => Some("12".into()),
            "tier" => Some("3000".into()),
            "username" => Some("Bob".into()),
            "tier_name" => Some("Tier 3".into()),
            "is_anonymous" => Some("false".into()),
            "reward.title" => Some("Hydrate".into()),
            _ => None,
        }
    }

    fn check(text: &str) -> bool {
        Condition::parse(text)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .matches(vars)
    }

    #[test]
    fn every_operator_compares_numbers_as_numbers() {
        let cases = [
            ("bits >= 1500", true),
            ("bits >= 1501", false),
            ("bits > 1499", true),
            ("bits > 1500", false),
            ("bits <= 1500", true),
            ("bits < 1500", false),
            ("bits < 10000", true),
            ("bits == 1500", true),
            ("bits == 1500.0", true),
            ("bits != 1500", false),
            ("bits != 9", true),
            // As text "1500" < "900"; as numbers it is not.
            ("bits > 900", true),
            ("bits>=1000", true),
        ];
        for (text, expected) in cases {
            assert_eq!(check(text), expected, "{text}");
        }
    }

    #[test]
    fn text_compares_as_text() {
        let cases = [
            ("username == Bob", true),
            ("username == bob", false),
            ("username != Alice", true),
            ("tier_name == \"Tier 3\"", true),
            ("tier_name == 'Tier 1'", false),
            ("is_anonymous == false", true),
            ("reward.title == Hydrate", true),
            ("username < Carl", true),
            ("bits == lots", false),
        ];
        for (text, expected) in cases {
            assert_eq!(check(text), expected, "{text}");
        }
    }

    #[test]
    fn and_needs_every_comparison() {
        assert!(check("bits >= 1000 and cumulative_months >= 12"));
        assert!(!check("bits >= 1000 and cumulative_months > 12"));
        assert!(check("bits >= 1000 AND tier == 3000 and username == Bob"));
    }

    #[test]
    fn missing_variables_only_satisfy_not_equal() {
        assert!(!check("viewers >= 0"));
        assert!(!check("viewers < 10"));
        assert!(!check("viewers == 0"));
        assert!(check("viewers != 10"));
    }

    #[test]
    fn conditions_that_do_not_parse_say_why() {
        let cases = [
            ("", "empty"),
            ("   ", "empty"),
            ("bits", "no comparison"),
            ("bits = 1000", "compare with =="),
            ("bits => 1000", "compare with =="),
            ("bits >=", "value is missing"),
            (">= 1000", "not a variable name"),
            ("my bits >= 1000", "not a variable name"),
            ("bits >== 1000", "not a value"),
            ("bits >= 1000 and", "missing around `and`"),
            ("and bits >= 1000", "missing around `and`"),
            ("bits >= 1000 and and x == 1", "missing around `and`"),
            ("bits >= 'open", "not a value"),
            ("a == 1 b == 2", "not a value"),
        ];
        for (text, reason) in cases {
            let err = Condition::parse(text).expect_err(text);
            assert!(err.contains(reason), "{text}: {err}");
        }
    }

    #[test]
    fn decimal_amounts_compare_exactly() {
        let amount =
            |value: &'static str| move |name: &str| (name == "amount").then(|| value.to_owned());
        let holds = |when: &str, value: &'static str| {
            Condition::parse(when).unwrap().matches(amount(value))
        };
        assert!(holds("amount >= 20", "20.00"));
        assert!(holds("amount >= 20", "20"));
        assert!(holds("amount >= 20", "100.00"));
        assert!(!holds("amount >= 20", "19.99"));
        // As floating point this rounds to 20 and would match.
        assert!(!holds("amount >= 20", "19.99999999999999999999"));
        assert!(holds("amount < 5", "4.999999999999999999999"));
        assert!(!holds("amount < 5", "5.000000000000000000001"));
        assert!(holds("amount == 5", "005.000"));
        assert!(holds("amount > 5.5", "5.50001"));
        assert!(holds(
            "amount >= 99999999999999999999.01",
            "99999999999999999999.02"
        ));
        assert!(!holds(
            "amount >= 99999999999999999999.02",
            "99999999999999999999.01"
        ));
    }

    #[test]
    fn decimals_order_with_their_sign() {
        let cases = [
            ("1", "2", Ordering::Less),
            ("10", "9", Ordering::Greater),
            ("-1", "1", Ordering::Less),
            ("-10", "-9", Ordering::Less),
            ("-0", "0", Ordering::Equal),
            ("2.5", "2.50", Ordering::Equal),
            ("0.05", "0.5", Ordering::Less),
        ];
        for (left, right, expected) in cases {
            assert_eq!(compare(left, right), expected, "{left} vs {right}");
        }
    }

    #[test]
    fn compare_prefers_numbers() {
        assert_eq!(compare("900", "1000"), Ordering::Less);
        assert_eq!(compare("abc", "abd"), Ordering::Less);
        assert_eq!(compare("10", "ten"), "10".cmp("ten"));
        assert_eq!(compare("NaN", "NaN"), Ordering::Equal);
        assert_eq!(compare("inf", "1"), "inf".cmp("1"));
    }

    #[test]
    fn a_condition_is_written_back_as_it_parses() {
        for text in [
            "bits >= 1000",
            "cumulative_months >= 12 and tier == 3000",
            "reward.title == \"Hydrate now\"",
            "message != 'say \"hi\"'",
            "x < 5 and y != z",
        ] {
            let c = Condition::parse(text).unwrap();
            assert_eq!(c.to_string(), text);
            assert_eq!(Condition::parse(&c.to_string()).unwrap(), c);
        }
    }
}
