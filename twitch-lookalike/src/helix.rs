//! The Helix subset the host uses, answering as Twitch does: bearer token +
//! `Client-Id` required, `Ratelimit-*` headers on every answer from a token
//! bucket per client and user, `{error, status, message}` error bodies,
//! cursor pagination, and scope checks with Twitch's messages.
//!
//! One entry point dispatches on method and path so the authorization,
//! rate limiting and headers are done once.

use std::collections::HashSet;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::hub::{ApiError, Caller, CreateRequest, Limits};
use super::ids;
use super::pagination::{MAX_FIRST, PageSlice, parse_page};
use super::params::Params;
use super::ratelimit::Verdict;
use super::state::{ChannelState, ClipInfo, UserInfo};
use super::traffic::{HelixFault, SentChatMessage};
use super::triggers::{ANONYMOUS_GIFTER_ID, ANONYMOUS_GIFTER_LOGIN, Trigger};
use super::{Shared, conduit_api as conduits, lock};

/// `GET|POST|DELETE /helix/...`: authorize, rate-limit, dispatch.
pub(super) async fn entry(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = Utc::now();
    let now_ms = epoch_ms(now);
    let caller = match authenticate(&shared, &headers, now) {
        Ok(caller) => caller,
        Err(error) => {
            let client_id = header(&headers, "client-id").unwrap_or_default();
            let verdict = lock(&shared.traffic).peek(client_id, "", now_ms);
            return error_response(&error, Some(verdict));
        }
    };
    let verdict = lock(&shared.traffic).take_point(&caller.client_id, &caller.user_id, now_ms);
    if !verdict.allowed {
        return error_response(&ApiError::new(429, "Too Many Requests"), Some(verdict));
    }
    let path = uri.path().strip_prefix("/helix").unwrap_or(uri.path());
    let params = Params::parse(uri.query());
    match route(&shared, &caller, &method, path, &params, &body, now) {
        Ok(Answer::Json(status, value)) => {
            let mut response = (status, axum::Json(value)).into_response();
            put_rate_headers(response.headers_mut(), verdict);
            response
        }
        Ok(Answer::NoContent) => {
            let mut response = StatusCode::NO_CONTENT.into_response();
            put_rate_headers(response.headers_mut(), verdict);
            response
        }
        Err(error) => error_response(&error, Some(verdict)),
    }
}

/// A successful answer.
pub(super) enum Answer {
    Json(StatusCode, Value),
    NoContent,
}

pub(super) fn ok(value: Value) -> Result<Answer, ApiError> {
    Ok(Answer::Json(StatusCode::OK, value))
}

fn route(
    shared: &Shared,
    caller: &Caller,
    method: &Method,
    path: &str,
    params: &Params,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Answer, ApiError> {
    match (method.as_str(), path.trim_end_matches('/')) {
        ("GET", "/users") => users(shared, caller, params),
        ("POST", "/eventsub/subscriptions") => create_subscription(shared, caller, body, now),
        ("GET", "/eventsub/subscriptions") => list_subscriptions(shared, caller, params),
        ("DELETE", "/eventsub/subscriptions") => delete_subscription(shared, caller, params),
        ("POST", "/eventsub/conduits") => conduits::create(shared, caller, body),
        ("GET", "/eventsub/conduits") => conduits::list(shared, caller),
        ("PATCH", "/eventsub/conduits") => conduits::update(shared, caller, body),
        ("DELETE", "/eventsub/conduits") => conduits::delete(shared, caller, params),
        ("GET", "/eventsub/conduits/shards") => conduits::shards(shared, caller, params),
        ("PATCH", "/eventsub/conduits/shards") => conduits::update_shards(shared, caller, body),
        ("GET", "/channels/followers") => followers(shared, caller, params),
        ("GET", "/subscriptions") => subscriptions(shared, caller, params),
        ("GET", "/channels/vips") => role_list(shared, caller, params, Role::Vip),
        ("GET", "/moderation/moderators") => role_list(shared, caller, params, Role::Moderator),
        ("GET", "/moderation/banned") => banned(shared, caller, params, now),
        ("GET", "/clips") => clips(shared, params),
        ("POST", "/chat/messages") => send_chat(shared, caller, body, now),
        _ => Err(ApiError::new(404, "")),
    }
}

// --- plumbing ----------------------------------------------------------------

fn epoch_ms(now: DateTime<Utc>) -> u64 {
    u64::try_from(now.timestamp_millis()).unwrap_or(0)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The token in `Authorization: <scheme> <token>` for one of `schemes`
/// (compared case-insensitively).
pub(super) fn auth_token<'a>(headers: &'a HeaderMap, schemes: &[&str]) -> Option<&'a str> {
    let value = header(headers, "authorization")?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (schemes.iter().any(|s| s.eq_ignore_ascii_case(scheme)) && !token.is_empty()).then_some(token)
}

/// Checks the bearer token and `Client-Id` (401 otherwise).
fn authenticate(
    shared: &Shared,
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> Result<Caller, ApiError> {
    let invalid = || ApiError::new(401, "Invalid OAuth token");
    let token = auth_token(headers, &["Bearer"]).ok_or_else(invalid)?;
    let access = lock(&shared.tokens)
        .validate(token, now)
        .cloned()
        .ok_or_else(invalid)?;
    let client_id = header(headers, "client-id").ok_or_else(invalid)?;
    if client_id != access.grant.client_id {
        return Err(ApiError::new(401, "Client ID and OAuth token do not match"));
    }
    Ok(Caller {
        client_id: access.grant.client_id,
        user_id: access.grant.user_id,
        scopes: access.grant.scopes,
    })
}

fn put_rate_headers(headers: &mut HeaderMap, verdict: Verdict) {
    for (name, value) in [
        ("ratelimit-limit", u64::from(verdict.limit)),
        ("ratelimit-remaining", u64::from(verdict.remaining)),
        ("ratelimit-reset", verdict.reset_epoch_secs),
    ] {
        headers.insert(name, HeaderValue::from(value));
    }
}

/// The reason phrase Twitch puts in `error`.
fn reason(status: u16) -> &'static str {
    StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error")
}

/// `{error, status, message}` with the rate-limit headers.
fn error_response(error: &ApiError, verdict: Option<Verdict>) -> Response {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({
        "error": reason(error.status),
        "status": error.status,
        "message": error.message,
    });
    let mut response = (status, axum::Json(body)).into_response();
    if let Some(verdict) = verdict {
        put_rate_headers(response.headers_mut(), verdict);
    }
    response
}

/// The answer to a request that ran into an injected fault. Helix paths
/// get Helix's error body and rate-limit headers (a 429 empties the bucket
/// and resets it `reset_after_secs` from now); others get the OAuth shape.
pub(super) fn fault_response(
    shared: &Shared,
    headers: &HeaderMap,
    path: &str,
    fault: &HelixFault,
) -> Response {
    let message = fault.message.clone().unwrap_or_default();
    if !path.starts_with("/helix") {
        let status =
            StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = json!({"status": fault.status, "message": message});
        return (status, axum::Json(body)).into_response();
    }
    let now = Utc::now();
    let now_ms = epoch_ms(now);
    let user_id = auth_token(headers, &["Bearer"])
        .and_then(|t| {
            lock(&shared.tokens)
                .validate(t, now)
                .map(|a| a.grant.user_id.clone())
        })
        .unwrap_or_default();
    let client_id = header(headers, "client-id").unwrap_or_default().to_owned();
    let mut verdict = lock(&shared.traffic).peek(&client_id, &user_id, now_ms);
    // An injected 429 says "empty until `reset_after_secs`" and means it:
    // the bucket is left alone, so the next answer after the reset agrees.
    if fault.status == 429 {
        verdict.remaining = 0;
        verdict.reset_epoch_secs = (now_ms / 1000) + fault.reset_after_secs.unwrap_or(1).max(1);
    }
    error_response(&ApiError::new(fault.status, message), Some(verdict))
}

pub(super) fn required<'a>(params: &'a Params, key: &str) -> Result<&'a str, ApiError> {
    params
        .get(key)
        .ok_or_else(|| ApiError::new(400, format!("Missing required parameter \"{key}\"")))
}

fn require_scope(caller: &Caller, accepted: &[&str]) -> Result<(), ApiError> {
    if accepted
        .iter()
        .any(|s| caller.scopes.iter().any(|g| g == s))
    {
        Ok(())
    } else {
        Err(ApiError::new(
            401,
            format!("Missing scope: {}", accepted.join(" or ")),
        ))
    }
}

fn require_broadcaster(caller: &Caller, broadcaster_id: &str) -> Result<(), ApiError> {
    if caller.user_id == broadcaster_id {
        Ok(())
    } else {
        Err(ApiError::new(
            403,
            "The ID in broadcaster_id must match the user ID found in the request's OAuth token.",
        ))
    }
}

pub(super) fn bad_request(message: String) -> ApiError {
    ApiError::new(400, message)
}

/// Helix timestamps are RFC 3339 with whole seconds.
fn helix_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A page of `rows` (already filtered) as `{data, pagination}`.
fn page_of<T>(
    rows: &[T],
    params: &Params,
    to_json: impl Fn(&T) -> Value,
) -> Result<(Vec<Value>, PageSlice), ApiError> {
    let request =
        parse_page(params.get("first"), params.get("after"), MAX_FIRST).map_err(bad_request)?;
    let slice = request.slice(rows.len());
    let data = rows[slice.start..slice.end].iter().map(to_json).collect();
    Ok((data, slice))
}

fn user_json(user: &UserInfo) -> Value {
    json!({
        "id": user.id,
        "login": user.login,
        "display_name": user.display_name,
        "type": "",
        "broadcaster_type": "",
        "description": "",
        "profile_image_url": format!(
            "https://static-cdn.jtvnw.net/user-default-pictures-uv/{}-profile_image-300x300.png",
            user.id
        ),
        "offline_image_url": "",
        "view_count": 0,
        "created_at": "2019-05-01T12:00:00Z",
    })
}

/// A user by id, or a placeholder (an id the state does not know).
fn lookup(channel: &ChannelState, id: &str) -> UserInfo {
    if id == ANONYMOUS_GIFTER_ID {
        return UserInfo::new(ANONYMOUS_GIFTER_ID, ANONYMOUS_GIFTER_LOGIN);
    }
    channel
        .find_id(id)
        .unwrap_or_else(|| UserInfo::new(id, format!("user{id}")))
}

// --- endpoints ---------------------------------------------------------------

/// `GET /users?id=&login=` (repeatable); no parameters: the token's user.
fn users(shared: &Shared, caller: &Caller, params: &Params) -> Result<Answer, ApiError> {
    let ids = params.all("id");
    let logins = params.all("login");
    if ids.len() + logins.len() > 100 {
        return Err(bad_request(
            "The sum of the number of user IDs and logins must not exceed 100".to_owned(),
        ));
    }
    let channels = lock(&shared.channels);
    let mut found: Vec<UserInfo> = Vec::new();
    if ids.is_empty() && logins.is_empty() {
        found.extend(channels.find_user_id(&caller.user_id));
    }
    found.extend(ids.iter().filter_map(|id| channels.find_user_id(id)));
    found.extend(
        logins
            .iter()
            .filter_map(|login| channels.find_user_login(login)),
    );
    let mut seen = HashSet::new();
    found.retain(|u| seen.insert(u.id.clone()));
    ok(json!({ "data": found.iter().map(user_json).collect::<Vec<_>>() }))
}

/// `GET /channels/followers`: newest first, with `total`.
fn followers(shared: &Shared, caller: &Caller, params: &Params) -> Result<Answer, ApiError> {
    let broadcaster_id = required(params, "broadcaster_id")?;
    require_scope(caller, &["moderator:read:followers"])?;
    let request =
        parse_page(params.get("first"), params.get("after"), MAX_FIRST).map_err(bad_request)?;
    let channels = lock(&shared.channels);
    let Some(channel) = channels.get(broadcaster_id) else {
        return ok(json!({"total": 0, "data": [], "pagination": {}}));
    };
    let total = channel.follower_total();
    // Only the broadcaster and moderators see who follows; others get the
    // total alone.
    let may_see = caller.user_id == broadcaster_id || channel.is_moderator(&caller.user_id);
    let row = |user: &UserInfo, at: DateTime<Utc>| {
        json!({
            "user_id": user.id,
            "user_login": user.login,
            "user_name": user.display_name,
            "followed_at": helix_time(at),
        })
    };
    if !may_see {
        return ok(json!({"total": total, "data": [], "pagination": {}}));
    }
    if let Some(user_id) = params.get("user_id") {
        let data: Vec<Value> = channel
            .followed_at(user_id)
            .map(|at| row(&lookup(channel, user_id), at))
            .into_iter()
            .collect();
        return ok(json!({"total": total, "data": data, "pagination": {}}));
    }
    let slice = request.slice(total);
    let data: Vec<Value> = channel
        .followers_page(slice.start, slice.end)
        .iter()
        .map(|(user, at)| row(user, *at))
        .collect();
    ok(json!({"total": total, "data": data, "pagination": slice.pagination()}))
}

/// `GET /subscriptions`: with `total` and `points`.
fn subscriptions(shared: &Shared, caller: &Caller, params: &Params) -> Result<Answer, ApiError> {
    let broadcaster_id = required(params, "broadcaster_id")?;
    require_scope(caller, &["channel:read:subscriptions"])?;
    require_broadcaster(caller, broadcaster_id)?;
    let channels = lock(&shared.channels);
    let Some(channel) = channels.get(broadcaster_id) else {
        return ok(json!({"data": [], "pagination": {}, "total": 0, "points": 0}));
    };
    let broadcaster = channel.broadcaster().clone();
    let wanted = params.all("user_id");
    let rows: Vec<(String, super::state::SubInfo)> = channel
        .subscribers()
        .filter(|(id, _)| wanted.is_empty() || wanted.contains(id))
        .map(|(id, sub)| (id.to_owned(), sub.clone()))
        .collect();
    let points: u64 = channel
        .subscribers()
        .map(|(_, s)| match s.tier.as_str() {
            "2000" => 2,
            "3000" => 6,
            _ => 1,
        })
        .sum();
    let total = channel.subscriber_total();
    let to_json = |(id, sub): &(String, super::state::SubInfo)| {
        let user = lookup(channel, id);
        let gifter = sub.gifter_id.as_deref().map(|g| lookup(channel, g));
        let plan = match sub.tier.as_str() {
            "2000" => "Channel Subscription (Tier 2)",
            "3000" => "Channel Subscription (Tier 3)",
            _ => "Channel Subscription",
        };
        json!({
            "broadcaster_id": broadcaster.id,
            "broadcaster_login": broadcaster.login,
            "broadcaster_name": broadcaster.display_name,
            "gifter_id": gifter.as_ref().map_or("", |g| g.id.as_str()),
            "gifter_login": gifter.as_ref().map_or("", |g| g.login.as_str()),
            "gifter_name": gifter.as_ref().map_or("", |g| g.display_name.as_str()),
            "is_gift": sub.is_gift,
            "tier": sub.tier,
            "plan_name": format!("{plan} ({})", broadcaster.login),
            "user_id": user.id,
            "user_login": user.login,
            "user_name": user.display_name,
        })
    };
    let (data, pagination) = if wanted.is_empty() {
        let (data, slice) = page_of(&rows, params, to_json)?;
        (data, slice.pagination())
    } else {
        (rows.iter().map(to_json).collect(), json!({}))
    };
    ok(json!({"data": data, "pagination": pagination, "total": total, "points": points}))
}

#[derive(Clone, Copy)]
enum Role {
    Vip,
    Moderator,
}

/// `GET /channels/vips` and `GET /moderation/moderators`.
fn role_list(
    shared: &Shared,
    caller: &Caller,
    params: &Params,
    role: Role,
) -> Result<Answer, ApiError> {
    let broadcaster_id = required(params, "broadcaster_id")?;
    match role {
        Role::Vip => require_scope(caller, &["channel:read:vips", "channel:manage:vips"])?,
        Role::Moderator => {
            require_scope(caller, &["moderation:read", "channel:manage:moderators"])?
        }
    }
    require_broadcaster(caller, broadcaster_id)?;
    let channels = lock(&shared.channels);
    let Some(channel) = channels.get(broadcaster_id) else {
        return ok(json!({"data": [], "pagination": {}}));
    };
    let wanted = params.all("user_id");
    let ids = match role {
        Role::Vip => channel.vips(),
        Role::Moderator => channel.moderators(),
    };
    let rows: Vec<&str> = ids
        .into_iter()
        .filter(|id| wanted.is_empty() || wanted.contains(id))
        .collect();
    let (data, slice) = page_of(&rows, params, |id| {
        let user = lookup(channel, id);
        json!({"user_id": user.id, "user_login": user.login, "user_name": user.display_name})
    })?;
    ok(json!({"data": data, "pagination": slice.pagination()}))
}

/// `GET /moderation/banned`: active bans and timeouts.
fn banned(
    shared: &Shared,
    caller: &Caller,
    params: &Params,
    now: DateTime<Utc>,
) -> Result<Answer, ApiError> {
    let broadcaster_id = required(params, "broadcaster_id")?;
    require_scope(
        caller,
        &["moderation:read", "moderator:manage:banned_users"],
    )?;
    require_broadcaster(caller, broadcaster_id)?;
    let channels = lock(&shared.channels);
    let Some(channel) = channels.get(broadcaster_id) else {
        return ok(json!({"data": [], "pagination": {}}));
    };
    let wanted = params.all("user_id");
    let rows: Vec<_> = channel
        .bans(now)
        .into_iter()
        .filter(|(id, _)| wanted.is_empty() || wanted.contains(id))
        .collect();
    let (data, slice) = page_of(&rows, params, |(id, ban)| {
        let user = lookup(channel, id);
        let moderator = lookup(channel, &ban.moderator_id);
        json!({
            "user_id": user.id,
            "user_login": user.login,
            "user_name": user.display_name,
            "expires_at": ban.expires_at.map(helix_time).unwrap_or_default(),
            "created_at": helix_time(ban.created_at),
            "reason": ban.reason,
            "moderator_id": moderator.id,
            "moderator_login": moderator.login,
            "moderator_name": moderator.display_name,
        })
    })?;
    ok(json!({"data": data, "pagination": slice.pagination()}))
}

fn parse_time(params: &Params, key: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    params
        .get(key)
        .map(|text| {
            crate::wire::parse_timestamp(text).ok_or_else(|| {
                bad_request(format!(
                    "The parameter \"{key}\" was malformed: the value must be an RFC3339 timestamp"
                ))
            })
        })
        .transpose()
}

/// `GET /clips?broadcaster_id=|id=&started_at=&ended_at=`: most viewed
/// first.
fn clips(shared: &Shared, params: &Params) -> Result<Answer, ApiError> {
    let broadcaster_id = params.get("broadcaster_id");
    let ids = params.all("id");
    let game_id = params.get("game_id");
    if broadcaster_id.is_none() && ids.is_empty() && game_id.is_none() {
        return Err(bad_request(
            "Missing required parameter \"broadcaster_id\", \"game_id\" or \"id\"".to_owned(),
        ));
    }
    let started_at = parse_time(params, "started_at")?;
    let ended_at = match (started_at, parse_time(params, "ended_at")?) {
        (_, Some(end)) => Some(end),
        (Some(start), None) => Some(start + TimeDelta::days(7)),
        (None, None) => None,
    };
    let featured = params.get("is_featured").map(|v| v == "true");
    if game_id.is_some() {
        return ok(json!({"data": [], "pagination": {}}));
    }
    let channels = lock(&shared.channels);
    // `broadcaster_id` picks one channel; clip ids alone may be anywhere.
    let searched: Vec<&ChannelState> = match broadcaster_id {
        Some(id) => channels.get(id).into_iter().collect(),
        None => channels.iter().collect(),
    };
    let mut rows: Vec<(&ChannelState, &ClipInfo)> = searched
        .into_iter()
        .flat_map(|channel| channel.clips().iter().map(move |clip| (channel, clip)))
        .filter(|(_, c)| ids.is_empty() || ids.contains(&c.id.as_str()))
        .filter(|(_, c)| started_at.is_none_or(|s| c.created_at >= s))
        .filter(|(_, c)| ended_at.is_none_or(|e| c.created_at <= e))
        .filter(|(_, c)| featured.is_none_or(|f| c.is_featured == f))
        .collect();
    rows.sort_by_key(|(_, clip)| std::cmp::Reverse(clip.view_count));
    let (data, slice) = page_of(&rows, params, |(channel, clip)| {
        let creator = lookup(channel, &clip.creator_id);
        let broadcaster = channel.broadcaster();
        json!({
            "id": clip.id,
            "url": format!("https://clips.twitch.tv/{}", clip.id),
            "embed_url": format!("https://clips.twitch.tv/embed?clip={}", clip.id),
            "broadcaster_id": broadcaster.id,
            "broadcaster_name": broadcaster.display_name,
            "creator_id": creator.id,
            "creator_name": creator.display_name,
            "video_id": "",
            "game_id": "509658",
            "language": "en",
            "title": clip.title,
            "view_count": clip.view_count,
            "created_at": helix_time(clip.created_at),
            "thumbnail_url": format!(
                "https://clips-media-assets2.twitch.tv/{}-preview-480x272.jpg",
                clip.id
            ),
            "duration": clip.duration,
            "vod_offset": null,
            "is_featured": clip.is_featured,
        })
    })?;
    ok(json!({"data": data, "pagination": slice.pagination()}))
}

#[derive(Deserialize)]
struct ChatBody {
    #[serde(default)]
    broadcaster_id: String,
    #[serde(default)]
    sender_id: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    reply_parent_message_id: Option<String>,
}

/// `POST /chat/messages`: recorded for tests; optionally echoed as a
/// `channel.chat.message`, as Twitch does.
fn send_chat(
    shared: &Shared,
    caller: &Caller,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Answer, ApiError> {
    let chat: ChatBody = serde_json::from_slice(body)
        .map_err(|e| bad_request(format!("The request body is not valid JSON: {e}")))?;
    for (key, value) in [
        ("broadcaster_id", &chat.broadcaster_id),
        ("sender_id", &chat.sender_id),
        ("message", &chat.message),
    ] {
        if value.is_empty() {
            return Err(bad_request(format!("Missing required parameter \"{key}\"")));
        }
    }
    require_scope(caller, &["user:write:chat"])?;
    if chat.sender_id != caller.user_id {
        return Err(ApiError::new(
            403,
            "The sender_id must match the user ID in the access token",
        ));
    }
    if chat.message.chars().count() > 500 {
        return Err(bad_request("The message is too long".to_owned()));
    }
    let message_id = ids::message_id();
    lock(&shared.traffic).record_chat(SentChatMessage {
        message_id: message_id.clone(),
        broadcaster_id: chat.broadcaster_id.clone(),
        sender_id: chat.sender_id.clone(),
        message: chat.message.clone(),
        reply_parent_message_id: chat.reply_parent_message_id.clone(),
        sent_at: now,
    });
    if shared.options.echo_sent_chat {
        let (sender, hosted) = {
            let channels = lock(&shared.channels);
            let hosted = channels.get(&chat.broadcaster_id).is_some();
            (channels.find_user_id(&chat.sender_id), hosted)
        };
        if let Some(sender) = sender.filter(|_| hosted) {
            let trigger = Trigger::new("channel.chat.message")
                .user(sender.login)
                .text(chat.message)
                .channel(chat.broadcaster_id.clone());
            if let Err(error) = shared.run_trigger(&trigger) {
                tracing::warn!(%error, "mock: could not echo a sent chat message");
            }
        }
    }
    ok(json!({"data": [{"message_id": message_id, "is_sent": true, "drop_reason": null}]}))
}

// --- EventSub subscriptions --------------------------------------------------

fn limits(shared: &Shared) -> Limits {
    Limits {
        max_total_cost: shared.options.max_total_cost,
        max_connections: shared.options.max_websocket_connections,
        max_per_connection: 300,
    }
}

/// `POST /eventsub/subscriptions` → 202.
fn create_subscription(
    shared: &Shared,
    caller: &Caller,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Answer, ApiError> {
    let request: CreateRequest = serde_json::from_slice(body)
        .map_err(|e| bad_request(format!("The request body is invalid: {e}")))?;
    // A server without this type (the Twitch CLI has no VIP or chat types)
    // answers as Twitch does for a type and version it does not offer.
    if shared.options.unsupported_types.contains(&request.kind) {
        return Err(ApiError::new(400, crate::catalog::NOT_VALID));
    }
    if request.transport.get("method").and_then(Value::as_str) == Some("conduit") {
        return create_conduit_subscription(shared, caller, request, now);
    }
    // Which ids in the condition are users the mock knows (checked before
    // taking the hub's lock, so the locks are never nested).
    let known: HashSet<String> = {
        let channels = lock(&shared.channels);
        request
            .condition
            .values()
            .filter_map(Value::as_str)
            .filter(|id| channels.find_user_id(id).is_some())
            .map(str::to_owned)
            .collect()
    };
    let (sub, totals) = lock(&shared.hub).create(
        caller,
        request,
        |id| known.contains(id),
        limits(shared),
        now,
    )?;
    Ok(Answer::Json(
        StatusCode::ACCEPTED,
        json!({
            "data": [sub],
            "total": totals.total,
            "total_cost": totals.total_cost,
            "max_total_cost": shared.options.max_total_cost,
        }),
    ))
}

/// `POST /eventsub/subscriptions` with the conduit transport → 202. Every
/// channel the look-alike hosts has authorised the client with the
/// configured scopes; other users have not.
fn create_conduit_subscription(
    shared: &Shared,
    caller: &Caller,
    request: CreateRequest,
    now: DateTime<Utc>,
) -> Result<Answer, ApiError> {
    // Which ids in the condition authorised the client (read before the
    // hub's lock, so the locks are never nested).
    let authorised: HashSet<String> = {
        let channels = lock(&shared.channels);
        request
            .condition
            .values()
            .filter_map(Value::as_str)
            .filter(|id| channels.is_broadcaster(id))
            .map(str::to_owned)
            .collect()
    };
    let (sub, totals) = lock(&shared.hub).create_on_conduit(
        caller,
        request,
        |id| authorised.contains(id),
        &shared.options.scopes,
        now,
    )?;
    Ok(Answer::Json(
        StatusCode::ACCEPTED,
        json!({
            "data": [sub],
            "total": totals.total,
            "total_cost": totals.total_cost,
            "max_total_cost": max_total_cost(shared, caller),
        }),
    ))
}

/// `max_total_cost`: app tokens have a larger budget than user tokens.
fn max_total_cost(shared: &Shared, caller: &Caller) -> u32 {
    if caller.user_id.is_empty() {
        crate::conduits::APP_MAX_TOTAL_COST
    } else {
        shared.options.max_total_cost
    }
}

/// `GET /eventsub/subscriptions` (filters `status`, `type`, `user_id`,
/// `subscription_id`; pages of up to 100).
fn list_subscriptions(
    shared: &Shared,
    caller: &Caller,
    params: &Params,
) -> Result<Answer, ApiError> {
    let hub = lock(&shared.hub);
    let subs = hub.list(
        caller,
        params.get("status"),
        params.get("type"),
        params.get("user_id"),
        params.get("subscription_id"),
    );
    let totals = hub.totals(caller);
    drop(hub);
    let request = parse_page(
        Some(params.get("first").unwrap_or("100")),
        params.get("after"),
        MAX_FIRST,
    )
    .map_err(bad_request)?;
    let slice = request.slice(subs.len());
    ok(json!({
        "data": subs[slice.start..slice.end],
        "total": totals.total,
        "total_cost": totals.total_cost,
        "max_total_cost": max_total_cost(shared, caller),
        "pagination": slice.pagination(),
    }))
}

/// `DELETE /eventsub/subscriptions?id=` → 204.
fn delete_subscription(
    shared: &Shared,
    caller: &Caller,
    params: &Params,
) -> Result<Answer, ApiError> {
    let id = required(params, "id")?;
    if lock(&shared.hub).delete(caller, id) {
        Ok(Answer::NoContent)
    } else {
        Err(ApiError::new(404, "subscription not found"))
    }
}
