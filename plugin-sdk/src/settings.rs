//! A plugin's settings: the JSON object of its `plugin.toml` `[settings]`
//! (or what the streamer saved), with typed getters that fall back to a
//! default instead of failing on a missing or mistyped value.

use serde_json::{Map, Value};

/// The settings a plugin is built with.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    values: Map<String, Value>,
}

impl Settings {
    /// Reads the settings JSON the host passes; anything but an object is
    /// an error the streamer sees.
    pub fn parse(json: &str) -> Result<Settings, String> {
        if json.trim().is_empty() {
            return Ok(Settings::default());
        }
        match serde_json::from_str(json) {
            Ok(Value::Object(values)) => Ok(Settings { values }),
            Ok(_) => Err("settings must be a JSON object".into()),
            Err(e) => Err(format!("settings are not valid JSON: {e}")),
        }
    }

    /// Settings from a JSON value (for tests).
    pub fn from_json(value: Value) -> Settings {
        match value {
            Value::Object(values) => Settings { values },
            _ => Settings::default(),
        }
    }

    /// The raw value of `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.values.get(key)
    }

    /// A text setting.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.values.get(key)?.as_str()
    }

    /// A text setting, or `default`.
    pub fn str_or(&self, key: &str, default: &str) -> String {
        self.str(key).unwrap_or(default).to_owned()
    }

    /// A whole-number setting (a number, or a string holding one).
    pub fn u64(&self, key: &str) -> Option<u64> {
        match self.values.get(key)? {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// A number setting.
    pub fn f64(&self, key: &str) -> Option<f64> {
        match self.values.get(key)? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// A boolean setting.
    pub fn bool(&self, key: &str) -> Option<bool> {
        self.values.get(key)?.as_bool()
    }

    /// The whole object.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.values
    }

    /// As a JSON value.
    pub fn to_json(&self) -> Value {
        Value::Object(self.values.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn getters_read_what_is_there_and_nothing_else() {
        let s = Settings::from_json(json!({"a": "x", "n": 5, "m": "7", "b": true, "f": 1.5}));
        assert_eq!(s.str("a"), Some("x"));
        assert_eq!(s.str_or("missing", "d"), "d");
        assert_eq!(s.u64("n"), Some(5));
        assert_eq!(s.u64("m"), Some(7));
        assert_eq!(s.u64("a"), None);
        assert_eq!(s.bool("b"), Some(true));
        assert_eq!(s.f64("f"), Some(1.5));
        assert!(Settings::parse("[1]").is_err());
        assert!(Settings::parse("{").unwrap_err().contains("not valid JSON"));
    }
}
