//! A generic hook's JSON body turned into an event: `hook.<name>` carrying
//! the object as it came, or a typed `donation` read through the hook's
//! field mapping.

use serde_json::{Map, Value};

use super::HookError;
use crate::config::{DONATION_FIELDS, HookKind};
use crate::event::{
    Details, Event, EventData, EventKind, Source, Strictness, json_type, new_event_id,
};

/// The longest event id a sender may give.
pub const MAX_ID_LEN: usize = 128;

/// Builds the event of hook `name` from its (already authenticated) body.
/// `header_id` is `X-Stagehand-Event-Id`, which wins over the body's `id`.
pub fn to_event(
    name: &str,
    kind: &HookKind,
    body: &[u8],
    header_id: Option<&str>,
    channel_id: &str,
) -> Result<Event, HookError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| HookError::malformed(format!("the body is not JSON: {e}")))?;
    let Value::Object(object) = value else {
        return Err(HookError::malformed(format!(
            "the body must be a JSON object, not {}",
            json_type(&value)
        )));
    };
    let sender_id = match header_id {
        Some(id) => Some(id.to_owned()),
        None => body_id(&object)?,
    };
    let id = match sender_id {
        Some(id) => {
            if id.is_empty() || id.len() > MAX_ID_LEN || id.chars().any(char::is_control) {
                return Err(HookError::malformed(format!(
                    "the event id must be 1 to {MAX_ID_LEN} characters without control characters"
                )));
            }
            // Under the hook's name, so no sender can collide with another
            // source's ids.
            format!("hook:{name}:{id}")
        }
        None => new_event_id(),
    };
    let mut event = match kind {
        HookKind::Other => Event::new(
            EventKind::Other(format!("hook.{name}")),
            Source::External,
            channel_id,
        )
        .with_data(EventData::Other(object)),
        HookKind::Donation { fields } => {
            let details = donation_details(name, fields, &object)?;
            let data = EventData::from_details(&EventKind::Donation, &details, Strictness::Strict)
                .map_err(|e| HookError::malformed(e.to_string()))?;
            Event::of(data, Source::External, channel_id)
        }
    };
    event.id = id;
    Ok(event)
}

/// The body's `id`, if it has one: a string, or a whole number.
fn body_id(object: &Map<String, Value>) -> Result<Option<String>, HookError> {
    match object.get("id") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => Ok(Some(n.to_string())),
        Some(other) => Err(HookError::malformed(format!(
            "id must be a string or a whole number, not {}",
            json_type(other)
        ))),
    }
}

/// A donation's details read from `object` through `fields` (donation
/// field → dotted path; unlisted fields are read from their own name).
/// A private donation's message is dropped here, before anything keeps it.
fn donation_details(
    name: &str,
    fields: &std::collections::BTreeMap<String, String>,
    object: &Map<String, Value>,
) -> Result<Details, HookError> {
    let mut details = Details::new();
    for field in DONATION_FIELDS {
        let path = fields.get(field).map_or(field, String::as_str);
        match lookup(object, path) {
            None | Some(Value::Null) => {}
            // Amounts sent as JSON numbers keep the digits they were sent with.
            Some(Value::Number(n)) if field == "amount" => {
                details.insert(field.into(), Value::String(n.to_string()));
            }
            Some(value) => {
                details.insert(field.into(), value.clone());
            }
        }
    }
    // Without `is_public` a donation is private: hiding a message is the
    // mistake that hurts nobody.
    let is_public = match details.get("is_public") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(HookError::malformed(format!(
                "is_public must be true or false, not {}",
                json_type(other)
            )));
        }
    };
    details.insert("is_public".into(), Value::Bool(is_public));
    if !is_public {
        details.remove("message");
    }
    details.insert("source".into(), Value::String(name.to_owned()));
    if !details.contains_key("donation_type") {
        details.insert("donation_type".into(), Value::String("Donation".into()));
    }
    Ok(details)
}

/// The value at a dotted path (`donor.name`, `items.0.price`).
fn lookup<'a>(object: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut value = object.get(parts.next()?)?;
    for key in parts {
        value = match value {
            Value::Object(map) => map.get(key)?,
            Value::Array(items) => items.get(key.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn donation_kind(pairs: &[(&str, &str)]) -> HookKind {
        HookKind::Donation {
            fields: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    #[test]
    fn other_hooks_carry_their_json_under_their_own_kind() {
        let body = json!({"id": 7, "build": {"status": "green"}}).to_string();
        let e = to_event("deploys", &HookKind::Other, body.as_bytes(), None, "1").unwrap();
        assert_eq!(e.kind.as_str(), "hook.deploys");
        assert_eq!(e.source, Source::External);
        assert_eq!(e.id, "hook:deploys:7");
        assert_eq!(e.details()["build"]["status"], json!("green"));
        let e = to_event(
            "deploys",
            &HookKind::Other,
            body.as_bytes(),
            Some("abc"),
            "1",
        )
        .unwrap();
        assert_eq!(e.id, "hook:deploys:abc", "the header wins");
        let e = to_event("deploys", &HookKind::Other, b"{}", None, "1").unwrap();
        assert!(!e.id.starts_with("hook:"), "no id: a fresh one");
    }

    #[test]
    fn donations_are_read_through_the_mapping() {
        let kind = donation_kind(&[
            ("username", "donor.name"),
            ("amount", "payment.value"),
            ("message", "note"),
            ("is_public", "public"),
        ]);
        let body = json!({
            "donor": {"name": "Ann", "email": "ann@example.com"},
            "payment": {"value": 12.5},
            "currency": "EUR",
            "note": "keep going",
            "public": true,
        })
        .to_string();
        let e = to_event("tips", &kind, body.as_bytes(), None, "1").unwrap();
        let EventData::Donation(d) = &e.data else {
            panic!("a donation: {e:?}");
        };
        assert_eq!(d.username, "Ann");
        assert_eq!(d.amount, "12.5");
        assert_eq!(d.currency, "EUR");
        assert_eq!(d.message, "keep going");
        assert!(d.is_public);
        assert_eq!(d.source, "tips");
        assert_eq!(d.donation_type, "Donation");
        assert!(
            !serde_json::to_string(&e)
                .unwrap()
                .contains("ann@example.com")
        );
    }

    #[test]
    fn a_private_donation_is_kept_without_its_message() {
        let kind = donation_kind(&[]);
        for body in [
            json!({"amount": "5", "currency": "USD", "message": "secret", "is_public": false}),
            json!({"amount": "5", "currency": "USD", "message": "secret"}),
        ] {
            let e = to_event("tips", &kind, body.to_string().as_bytes(), None, "1").unwrap();
            let EventData::Donation(d) = &e.data else {
                panic!("a donation");
            };
            assert!(!d.is_public);
            assert_eq!(d.message, "");
        }
    }

    #[test]
    fn bad_bodies_are_refused_with_a_reason() {
        let kind = donation_kind(&[]);
        let cases: [(&HookKind, String, Option<&str>, &str); 8] = [
            (&HookKind::Other, "not json".into(), None, "not JSON"),
            (&HookKind::Other, "[1]".into(), None, "JSON object"),
            (
                &HookKind::Other,
                json!({"id": 1.5}).to_string(),
                None,
                "id must be",
            ),
            (
                &HookKind::Other,
                json!({"id": ""}).to_string(),
                None,
                "event id must be",
            ),
            (
                &HookKind::Other,
                "{}".into(),
                Some(&"x".repeat(200)),
                "event id must be",
            ),
            (
                &kind,
                json!({"currency": "USD"}).to_string(),
                None,
                "details.amount",
            ),
            (
                &kind,
                json!({"amount": "1e5", "currency": "USD"}).to_string(),
                None,
                "details.amount",
            ),
            (
                &kind,
                json!({"amount": "5", "currency": "USD", "is_public": "yes"}).to_string(),
                None,
                "is_public must be",
            ),
        ];
        for (kind, body, header, needle) in cases {
            let err = to_event("tips", kind, body.as_bytes(), header, "1").unwrap_err();
            assert_eq!(err.status, StatusCode::BAD_REQUEST, "{body}");
            assert!(err.message.contains(needle), "{body}: {}", err.message);
        }
    }
}
