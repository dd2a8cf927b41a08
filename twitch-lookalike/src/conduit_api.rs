//! The Helix conduit endpoints (`/eventsub/conduits` and
//! `/eventsub/conduits/shards`), answering as Twitch's "Conduits" reference
//! describes: app access tokens only, `{"data": [...]}` answers, 400s in
//! Helix's `{error, status, message}` shape for bad bodies, and per-shard
//! errors beside the updated shards. The registry itself is
//! [`crate::conduits`]; `helix.rs` authenticates, rate-limits and
//! dispatches here.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::helix::{Answer, bad_request, ok, required};
use super::hub::{ApiError, Caller};
use super::pagination::{MAX_FIRST, parse_page};
use super::params::Params;
use super::{Shared, lock};
use crate::conduits::ShardUpdate;

/// Conduits are managed with an app access token; a user token gets 401.
fn require_app(caller: &Caller) -> Result<(), ApiError> {
    if caller.user_id.is_empty() {
        Ok(())
    } else {
        Err(ApiError::new(
            401,
            "Authorization header required with an app access token",
        ))
    }
}

/// The JSON object of a request body (400 when it is not one).
fn object(body: &[u8]) -> Result<serde_json::Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(bad_request(
            "The request body must be a JSON object".to_owned(),
        )),
        Err(e) => Err(bad_request(format!("The request body is invalid: {e}"))),
    }
}

/// `shard_count` as a whole number (400 when missing or not one).
fn shard_count(body: &serde_json::Map<String, Value>) -> Result<Option<i64>, ApiError> {
    match body.get("shard_count") {
        None | Some(Value::Null) => {
            Err(bad_request("The shard_count field is required".to_owned()))
        }
        Some(value) => value
            .as_i64()
            .map(Some)
            .ok_or_else(|| bad_request("The shard_count field must be an integer".to_owned())),
    }
}

/// `POST /eventsub/conduits` `{"shard_count": N}` → 200.
pub(super) fn create(shared: &Shared, caller: &Caller, body: &[u8]) -> Result<Answer, ApiError> {
    require_app(caller)?;
    let body = object(body)?;
    let count = shard_count(&body)?;
    let conduit = lock(&shared.hub).create_conduit(&caller.client_id, count)?;
    ok(json!({ "data": [conduit] }))
}

/// `GET /eventsub/conduits` → the client's conduits.
pub(super) fn list(shared: &Shared, caller: &Caller) -> Result<Answer, ApiError> {
    require_app(caller)?;
    let conduits = lock(&shared.hub).list_conduits(&caller.client_id);
    ok(json!({ "data": conduits }))
}

/// `PATCH /eventsub/conduits` `{"id", "shard_count"}` → 200.
pub(super) fn update(shared: &Shared, caller: &Caller, body: &[u8]) -> Result<Answer, ApiError> {
    require_app(caller)?;
    let body = object(body)?;
    let id = body
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty());
    if id.is_none() {
        return Err(bad_request("The id field is required".to_owned()));
    }
    let count = shard_count(&body)?;
    let conduit = lock(&shared.hub).update_conduit(&caller.client_id, id, count)?;
    ok(json!({ "data": [conduit] }))
}

/// `DELETE /eventsub/conduits?id=` → 204 (its subscriptions go too).
pub(super) fn delete(
    shared: &Shared,
    caller: &Caller,
    params: &Params,
) -> Result<Answer, ApiError> {
    require_app(caller)?;
    let id = required(params, "id")?;
    lock(&shared.hub).delete_conduit(&caller.client_id, id)?;
    Ok(Answer::NoContent)
}

/// `GET /eventsub/conduits/shards?conduit_id=[&status=][&after=]`: shards
/// in id order, pages of 100.
pub(super) fn shards(
    shared: &Shared,
    caller: &Caller,
    params: &Params,
) -> Result<Answer, ApiError> {
    require_app(caller)?;
    let conduit_id = required(params, "conduit_id")?;
    let request = parse_page(Some("100"), params.get("after"), MAX_FIRST).map_err(bad_request)?;
    let shards =
        lock(&shared.hub).conduit_shards(&caller.client_id, conduit_id, params.get("status"))?;
    let slice = request.slice(shards.len());
    ok(json!({
        "data": shards[slice.start..slice.end],
        "pagination": slice.pagination(),
    }))
}

/// `PATCH /eventsub/conduits/shards` `{"conduit_id", "shards": [...]}` →
/// 202 with the updated shards and one error per shard that failed.
pub(super) fn update_shards(
    shared: &Shared,
    caller: &Caller,
    body: &[u8],
) -> Result<Answer, ApiError> {
    require_app(caller)?;
    let body = object(body)?;
    let conduit_id = body
        .get("conduit_id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| bad_request("The conduit_id field is required".to_owned()))?;
    let updates: Vec<ShardUpdate> = match body.get("shards") {
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|item| serde_json::from_value(item.clone()))
            .collect::<Result<_, _>>()
            .map_err(|e| bad_request(format!("The shards field is invalid: {e}")))?,
        _ => return Err(bad_request("The shards field is required".to_owned())),
    };
    let (data, errors) =
        lock(&shared.hub).update_shards(&caller.client_id, conduit_id, &updates)?;
    Ok(Answer::Json(
        StatusCode::ACCEPTED,
        json!({ "data": data, "errors": errors }),
    ))
}
