//! Query-string and form parameters as Twitch reads them: keys may repeat
//! (`?login=a&login=b`), and the OAuth endpoints accept the same
//! parameters in the query or in a form body.

use url::form_urlencoded;

/// Decoded `key=value` pairs, in order, repeats kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parses a query string or `application/x-www-form-urlencoded` body.
    pub fn parse(text: Option<&str>) -> Self {
        let pairs = text
            .map(|t| {
                form_urlencoded::parse(t.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        Params(pairs)
    }

    /// Query parameters followed by form-body parameters.
    pub fn merged(query: Option<&str>, body: &[u8]) -> Self {
        let mut params = Params::parse(query);
        if let Ok(body) = std::str::from_utf8(body) {
            params.0.extend(Params::parse(Some(body)).0);
        }
        params
    }

    /// The first value of `key` (empty values count as absent).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Every non-empty value of `key`.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_and_merging() {
        let params = Params::merged(
            Some("login=a&login=b&first="),
            b"client_id=x&scopes=a%3Ab+c",
        );
        assert_eq!(params.all("login"), ["a", "b"]);
        assert_eq!(params.get("first"), None);
        assert_eq!(params.get("client_id"), Some("x"));
        assert_eq!(params.get("scopes"), Some("a:b c"));
        assert_eq!(Params::parse(None), Params::default());
    }
}
