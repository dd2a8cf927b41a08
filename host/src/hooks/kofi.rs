//! Ko-fi's webhook: an `application/x-www-form-urlencoded` body whose field
//! `data` holds the payment as JSON (`verification_token`, `message_id`,
//! `timestamp`, `type`, `is_public`, `from_name`, `message`, `amount`,
//! `currency`, `tier_name`, and fields Stagehand never keeps: `email`,
//! `shipping`, `url`, `shop_items`, `kofi_transaction_id`).
//!
//! [`parse`] checks the verification token first (in constant time) and
//! only then reads the payment, so a request without the token learns
//! nothing but that its body was not Ko-fi's shape.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::HookError;
use crate::event::data::{Donation, check_amount, check_currency};
use crate::event::{Event, EventData, Source};

/// The longest `message_id` accepted (Ko-fi's are UUIDs).
pub const MAX_MESSAGE_ID_LEN: usize = 128;
/// The longest `type` accepted (Ko-fi's longest is "Subscription").
pub const MAX_TYPE_LEN: usize = 64;

/// One Ko-fi payment, as Stagehand keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct KofiPayment {
    /// Ko-fi's id of this message; a retry repeats it.
    pub message_id: String,
    /// When Ko-fi says the payment happened (`None` if it did not say).
    pub timestamp: Option<DateTime<Utc>>,
    /// The donation: private ones have no message (dropped here, so it is
    /// never stored or shown).
    pub donation: Donation,
}

impl KofiPayment {
    /// The event id: Ko-fi's message id under a prefix of its own, so a
    /// retried message is a duplicate and no other source's id can clash.
    pub fn event_id(&self) -> String {
        format!("kofi:{}", self.message_id)
    }

    /// The `donation` event of this payment.
    pub fn into_event(self, channel_id: &str) -> Event {
        let mut event = Event::of(
            EventData::Donation(self.donation.clone()),
            Source::External,
            channel_id,
        );
        event.id = self.event_id();
        if let Some(at) = self.timestamp {
            event = event.at(at);
        }
        event
    }
}

/// Reads Ko-fi's form body, checks its verification token against `token`
/// and returns the payment. Errors: 400 for a body that is not Ko-fi's
/// shape (naming what is wrong), 401 for a missing or wrong token.
pub fn parse(body: &[u8], token: &str) -> Result<KofiPayment, HookError> {
    let data = data_field(body)?;
    let value: Value = serde_json::from_str(&data)
        .map_err(|e| HookError::malformed(format!("the `data` field is not JSON: {e}")))?;
    let Value::Object(object) = value else {
        return Err(HookError::malformed(format!(
            "the `data` field must hold a JSON object, not {}",
            crate::event::json_type(&value)
        )));
    };
    match object.get("verification_token") {
        None | Some(Value::Null) => {
            return Err(HookError::unauthorized(
                "the payment has no verification_token",
            ));
        }
        Some(Value::String(sent))
            if crate::web::auth::constant_time_eq(sent.as_bytes(), token.as_bytes()) => {}
        Some(_) => {
            return Err(HookError::unauthorized(
                "the verification_token is not this host's Ko-fi token",
            ));
        }
    }
    read_payment(&object)
}

/// The single `data` field of a form body.
fn data_field(body: &[u8]) -> Result<String, HookError> {
    if body.is_empty() {
        return Err(HookError::malformed(
            "the body is empty: Ko-fi sends a form with a `data` field holding JSON",
        ));
    }
    let mut data = None;
    for (key, value) in url::form_urlencoded::parse(body) {
        if key == "data" {
            if data.is_some() {
                return Err(HookError::malformed(
                    "the form has more than one `data` field",
                ));
            }
            data = Some(value.into_owned());
        }
    }
    data.ok_or_else(|| {
        HookError::malformed(
            "the form has no `data` field: Ko-fi sends application/x-www-form-urlencoded with data=<JSON>",
        )
    })
}

fn read_payment(object: &Map<String, Value>) -> Result<KofiPayment, HookError> {
    let message_id = required_text(object, "message_id")?;
    if message_id.len() > MAX_MESSAGE_ID_LEN || message_id.chars().any(char::is_control) {
        return Err(HookError::malformed(format!(
            "message_id must be 1 to {MAX_MESSAGE_ID_LEN} characters without control characters"
        )));
    }
    let payment_type = required_text(object, "type")?;
    if payment_type.len() > MAX_TYPE_LEN {
        return Err(HookError::malformed(format!(
            "type is longer than {MAX_TYPE_LEN} characters"
        )));
    }
    let amount = match object.get("amount") {
        Some(Value::String(text)) => text.trim().to_owned(),
        // Ko-fi sends a string; a number is read as the digits it was sent with.
        Some(Value::Number(n)) => n.to_string(),
        None | Some(Value::Null) => {
            return Err(HookError::malformed("the payment has no amount"));
        }
        Some(other) => {
            return Err(HookError::malformed(format!(
                "amount must be a string like \"3.00\", not {}",
                crate::event::json_type(other)
            )));
        }
    };
    check_amount(&amount).map_err(HookError::malformed)?;
    let currency = required_text(object, "currency")?;
    check_currency(&currency).map_err(HookError::malformed)?;
    // Without `is_public` the payment is treated as private: hiding a
    // message is the mistake that hurts nobody.
    let is_public = match object.get("is_public") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(HookError::malformed(format!(
                "is_public must be true or false, not {}",
                crate::event::json_type(other)
            )));
        }
    };
    let timestamp = match optional_text(object, "timestamp")? {
        None => None,
        Some(text) => Some(
            DateTime::parse_from_rfc3339(&text)
                .map_err(|e| {
                    HookError::malformed(format!(
                        "timestamp {text:?} is not a time like 2022-08-21T13:04:30Z: {e}"
                    ))
                })?
                .with_timezone(&Utc),
        ),
    };
    let message = optional_text(object, "message")?.unwrap_or_default();
    let donation = Donation {
        username: optional_text(object, "from_name")?.unwrap_or_default(),
        amount,
        currency,
        // A private donation's message is for the streamer's eyes on Ko-fi
        // only: Stagehand never keeps it, so nothing can show it.
        message: if is_public { message } else { String::new() },
        is_public,
        source: "kofi".into(),
        donation_type: payment_type,
        tier_name: optional_text(object, "tier_name")?.unwrap_or_default(),
    };
    Ok(KofiPayment {
        message_id,
        timestamp,
        donation,
    })
}

/// A string field that must be there and not be empty.
fn required_text(object: &Map<String, Value>, key: &str) -> Result<String, HookError> {
    optional_text(object, key)?
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| HookError::malformed(format!("the payment has no {key}")))
}

/// A string field that may be missing or null.
fn optional_text(object: &Map<String, Value>, key: &str) -> Result<Option<String>, HookError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(other) => Err(HookError::malformed(format!(
            "{key} must be a string, not {}",
            crate::event::json_type(other)
        ))),
    }
}

/// Ko-fi's documented sample payment (a public single donation), with
/// `token` as its verification token, as the JSON that goes in `data`.
pub fn sample_data(token: &str) -> Value {
    serde_json::json!({
        "verification_token": token,
        "message_id": "3a1fac0c-f960-4506-a60e-824979a74e74",
        "timestamp": "2022-08-21T13:04:30Z",
        "type": "Donation",
        "is_public": true,
        "from_name": "Ko-fi Team",
        "message": "Good luck with the integration!",
        "amount": "3.00",
        "url": "https://ko-fi.com/Home/CoffeeShop?txid=00000000-1111-2222-3333-444444444444",
        "email": "someone@example.com",
        "currency": "USD",
        "is_subscription_payment": false,
        "is_first_subscription_payment": false,
        "kofi_transaction_id": "00000000-1111-2222-3333-444444444444",
        "shop_items": null,
        "tier_name": null,
        "shipping": null
    })
}

/// A form body as Ko-fi sends it: `data=<the JSON, url-encoded>`.
pub fn form_body(data: &Value) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("data", &data.to_string())
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;
    use serde_json::json;

    const TOKEN: &str = "kofi-token-0123456789";

    fn with(changes: Value) -> String {
        let mut data = sample_data(TOKEN);
        for (k, v) in changes.as_object().unwrap() {
            data[k] = v.clone();
        }
        form_body(&data)
    }

    #[test]
    fn the_sample_payment_becomes_a_donation_without_email_or_shipping() {
        let payment = parse(form_body(&sample_data(TOKEN)).as_bytes(), TOKEN).unwrap();
        assert_eq!(payment.message_id, "3a1fac0c-f960-4506-a60e-824979a74e74");
        assert_eq!(
            payment.timestamp.unwrap().to_rfc3339(),
            "2022-08-21T13:04:30+00:00"
        );
        assert_eq!(
            payment.donation,
            Donation {
                username: "Ko-fi Team".into(),
                amount: "3.00".into(),
                currency: "USD".into(),
                message: "Good luck with the integration!".into(),
                is_public: true,
                source: "kofi".into(),
                donation_type: "Donation".into(),
                tier_name: String::new(),
            }
        );
        let event = payment.into_event("42");
        assert_eq!(event.id, "kofi:3a1fac0c-f960-4506-a60e-824979a74e74");
        assert_eq!(event.source, Source::External);
        assert_eq!(event.kind.as_str(), "donation");
        let stored = serde_json::to_string(&event).unwrap();
        for private in ["someone@example.com", "txid", "kofi_transaction_id"] {
            assert!(!stored.contains(private), "{private} kept: {stored}");
        }
    }

    #[test]
    fn a_private_payment_loses_its_message() {
        let body = with(json!({"is_public": false, "message": "for your eyes only"}));
        let payment = parse(body.as_bytes(), TOKEN).unwrap();
        assert!(!payment.donation.is_public);
        assert_eq!(payment.donation.message, "");
        // No is_public at all: private too.
        let mut data = sample_data(TOKEN);
        data.as_object_mut().unwrap().remove("is_public");
        let payment = parse(form_body(&data).as_bytes(), TOKEN).unwrap();
        assert!(!payment.donation.is_public);
        assert_eq!(payment.donation.message, "");
    }

    #[test]
    fn subscriptions_keep_their_type_and_tier() {
        let body = with(json!({
            "type": "Subscription", "tier_name": "Gold", "message": null,
            "is_subscription_payment": true, "amount": "6.00", "currency": "EUR",
        }));
        let d = parse(body.as_bytes(), TOKEN).unwrap().donation;
        assert_eq!(d.donation_type, "Subscription");
        assert_eq!(d.tier_name, "Gold");
        assert_eq!(d.message, "");
        assert_eq!((d.amount.as_str(), d.currency.as_str()), ("6.00", "EUR"));
    }

    #[test]
    fn a_missing_or_wrong_token_is_unauthorized() {
        let mut data = sample_data(TOKEN);
        data.as_object_mut().unwrap().remove("verification_token");
        for body in [
            form_body(&data),
            with(json!({"verification_token": null})),
            with(json!({"verification_token": "kofi-token-012345678"})),
            with(json!({"verification_token": "kofi-token-0123456789x"})),
            with(json!({"verification_token": 12})),
        ] {
            let err = parse(body.as_bytes(), TOKEN).unwrap_err();
            assert_eq!(err.status, StatusCode::UNAUTHORIZED, "{body}");
        }
    }

    #[test]
    fn the_token_is_checked_before_the_payment_is_read() {
        // A wrong token with a bad amount: 401, not a hint about the amount.
        let body = with(json!({"verification_token": "nope", "amount": "lots"}));
        let err = parse(body.as_bytes(), TOKEN).unwrap_err();
        assert_eq!(err.status, StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn bodies_that_are_not_kofis_shape_say_why() {
        let raw = |s: &str| s.to_owned();
        let cases = [
            (raw(""), "body is empty"),
            (raw("payload=%7B%7D"), "no `data` field"),
            (raw("data=%7B%7D&data=%7B%7D"), "more than one"),
            (raw("data=not-json"), "not JSON"),
            (raw("data=%5B1%5D"), "JSON object"),
            (with(json!({"message_id": ""})), "no message_id"),
            (
                with(json!({"message_id": "x".repeat(200)})),
                "message_id must be",
            ),
            (with(json!({"type": null})), "no type"),
            (with(json!({"amount": "3,00"})), "not a decimal number"),
            (with(json!({"amount": "-3"})), "not a decimal number"),
            (with(json!({"amount": true})), "amount must be a string"),
            (with(json!({"amount": null})), "no amount"),
            (with(json!({"currency": "usd"})), "ISO 4217"),
            (with(json!({"is_public": "yes"})), "is_public must be"),
            (with(json!({"from_name": 5})), "from_name must be a string"),
            (with(json!({"timestamp": "yesterday"})), "timestamp"),
        ];
        for (body, needle) in cases {
            let err = parse(body.as_bytes(), TOKEN).unwrap_err();
            assert_eq!(err.status, StatusCode::BAD_REQUEST, "{body}");
            assert!(err.message.contains(needle), "{body}: {}", err.message);
        }
    }
}
