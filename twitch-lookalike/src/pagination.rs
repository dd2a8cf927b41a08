//! Helix cursor pagination: `first` (1–100, default 20) and `after` (the
//! previous page's `pagination.cursor`). Cursors are opaque base64url
//! strings, as Twitch's are; inside they carry the offset of the next item
//! and the 1-based number of the page they lead to, so fault injection can
//! fail "page k" of a list. `pagination` is `{cursor}` only while more
//! items remain, and `{}` on the last page.
//!
//! Pure: no state, just arithmetic on list lengths.

use serde_json::{Value, json};

use super::ids::{base64url_decode, base64url_encode};

/// Page size when `first` is absent.
pub const DEFAULT_FIRST: usize = 20;
/// Largest `first` Twitch accepts.
pub const MAX_FIRST: usize = 100;

/// Where a request's page starts and how long it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// Items per page (`first`).
    pub first: usize,
    /// Index of the page's first item.
    pub offset: usize,
    /// 1-based page number (1 when there is no cursor).
    pub page: u32,
}

/// A page cut out of a list of `total` items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageSlice {
    /// First index (inclusive).
    pub start: usize,
    /// Last index (exclusive).
    pub end: usize,
    /// The cursor for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

impl PageSlice {
    /// The `pagination` object: `{"cursor": ...}` or `{}`.
    pub fn pagination(&self) -> Value {
        match &self.next_cursor {
            Some(cursor) => json!({ "cursor": cursor }),
            None => json!({}),
        }
    }
}

/// Reads `first` and `after`; the error is Helix's 400 message.
pub fn parse_page(
    first: Option<&str>,
    after: Option<&str>,
    max_first: usize,
) -> Result<PageRequest, String> {
    let first = match first {
        None | Some("") => DEFAULT_FIRST.min(max_first),
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=max_first).contains(&n) => n,
            Ok(0) => {
                return Err(
                    "The parameter \"first\" was malformed: the value must be greater than or equal to 1"
                        .to_owned(),
                );
            }
            Ok(_) => {
                return Err(format!(
                    "The parameter \"first\" was malformed: the value must be less than or equal to {max_first}"
                ));
            }
            Err(_) => {
                return Err(
                    "The parameter \"first\" was malformed: the value must be a number".to_owned(),
                );
            }
        },
    };
    let (offset, page) = match after {
        None | Some("") => (0, 1),
        Some(cursor) => decode_cursor(cursor).ok_or_else(|| "Invalid cursor".to_owned())?,
    };
    Ok(PageRequest {
        first,
        offset,
        page,
    })
}

impl PageRequest {
    /// The slice of a list of `total` items this request asks for.
    pub fn slice(&self, total: usize) -> PageSlice {
        let start = self.offset.min(total);
        let end = start.saturating_add(self.first).min(total);
        let next_cursor = (end < total).then(|| encode_cursor(end, self.page + 1));
        PageSlice {
            start,
            end,
            next_cursor,
        }
    }
}

/// An opaque cursor for the page starting at `offset`, page number `page`.
pub fn encode_cursor(offset: usize, page: u32) -> String {
    base64url_encode(json!({"o": offset, "p": page}).to_string().as_bytes())
}

/// The (offset, page) inside a cursor made by [`encode_cursor`].
pub fn decode_cursor(cursor: &str) -> Option<(usize, u32)> {
    let bytes = base64url_decode(cursor)?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    let offset = usize::try_from(value.get("o")?.as_u64()?).ok()?;
    let page = u32::try_from(value.get("p")?.as_u64()?).ok()?;
    Some((offset, page))
}

/// The page number a request with this `after` value asks for (1 without a
/// cursor, 0 for a cursor that is not ours).
pub fn page_number(after: Option<&str>) -> u32 {
    match after {
        None | Some("") => 1,
        Some(cursor) => decode_cursor(cursor).map_or(0, |(_, page)| page),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_to_twenty_from_the_start() {
        let request = parse_page(None, None, MAX_FIRST).unwrap();
        assert_eq!(
            request,
            PageRequest {
                first: 20,
                offset: 0,
                page: 1
            }
        );
    }

    #[test]
    fn first_must_be_between_one_and_a_hundred() {
        assert_eq!(parse_page(Some("100"), None, MAX_FIRST).unwrap().first, 100);
        assert!(
            parse_page(Some("101"), None, MAX_FIRST)
                .unwrap_err()
                .contains("100")
        );
        assert!(parse_page(Some("0"), None, MAX_FIRST).is_err());
        assert!(parse_page(Some("ten"), None, MAX_FIRST).is_err());
    }

    #[test]
    fn walking_a_list_visits_every_item_once_and_ends_with_empty_pagination() {
        let total = 45;
        let mut after: Option<String> = None;
        let mut seen = Vec::new();
        let mut pages = 0;
        loop {
            let request = parse_page(Some("20"), after.as_deref(), MAX_FIRST).unwrap();
            pages += 1;
            assert_eq!(request.page, pages);
            let slice = request.slice(total);
            seen.extend(slice.start..slice.end);
            match slice.next_cursor.clone() {
                Some(cursor) => {
                    assert_eq!(slice.pagination(), json!({"cursor": cursor}));
                    after = Some(cursor);
                }
                None => {
                    assert_eq!(slice.pagination(), json!({}));
                    break;
                }
            }
        }
        assert_eq!(pages, 3);
        assert_eq!(seen, (0..45).collect::<Vec<_>>());
    }

    #[test]
    fn an_exact_multiple_has_no_cursor_on_the_last_page() {
        let request = parse_page(Some("10"), None, MAX_FIRST).unwrap();
        assert!(request.slice(10).next_cursor.is_none());
        assert!(request.slice(0).next_cursor.is_none());
        assert!(request.slice(11).next_cursor.is_some());
    }

    #[test]
    fn cursors_are_opaque_and_checked() {
        let cursor = encode_cursor(40, 3);
        assert!(!cursor.contains("40"), "{cursor}");
        assert_eq!(decode_cursor(&cursor), Some((40, 3)));
        assert_eq!(page_number(Some(&cursor)), 3);
        assert_eq!(page_number(None), 1);
        assert_eq!(page_number(Some("garbage!")), 0);
        assert_eq!(
            parse_page(None, Some("bm9wZQ"), MAX_FIRST).unwrap_err(),
            "Invalid cursor"
        );
    }

    #[test]
    fn an_offset_past_the_end_is_an_empty_last_page() {
        let request = parse_page(None, Some(&encode_cursor(500, 9)), MAX_FIRST).unwrap();
        let slice = request.slice(10);
        assert_eq!((slice.start, slice.end), (10, 10));
        assert!(slice.next_cursor.is_none());
    }
}
