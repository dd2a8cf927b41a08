//! The edge's API: channels for the operator; events, plugins and overlay
//! queues for a channel's dashboard. Every channel route takes its channel
//! from the token ([`ChannelAuth`]).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::EdgeState;
use super::auth::{ChannelAuth, OperatorAuth, digest};
use crate::actions::alerts::valid_overlay_name;
use crate::cluster::subjects::ChannelSubject;
use crate::plugins::install::read_upload;
use crate::plugins::manifest::valid_name;
use crate::plugins::package::{Package, Problem};
use crate::storage::{ChannelEvent, ChannelPlugin, Member, MemberList, StorageError};
use crate::web::error::{ApiError, ApiJson, ApiQuery};

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NoChannel(_) => ApiError::not_found(e.to_string()),
            StorageError::ChannelExists(_) => {
                ApiError::new(StatusCode::CONFLICT, "channel_exists", e.to_string())
            }
            other => {
                tracing::warn!("storage: {other}");
                ApiError::unavailable("the database is unavailable; try again")
            }
        }
    }
}

/// `POST /api/channels` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewChannel {
    /// The broadcaster's Twitch user id.
    id: String,
    login: String,
    /// The broadcaster's Twitch user token (sealed before it is stored).
    #[serde(default)]
    user_token: Option<String>,
}

/// `POST /api/channels` (operator): adds a channel and answers its dashboard
/// token and overlay key, shown this once (only their digests are kept).
pub async fn create_channel(
    _: OperatorAuth,
    State(state): State<EdgeState>,
    ApiJson(body): ApiJson<NewChannel>,
) -> Result<Response, ApiError> {
    if ChannelSubject::parse(&body.id).is_err() {
        return Err(ApiError::bad_request(
            "id must be the broadcaster's Twitch user id: 1 to 20 digits",
        ));
    }
    let login = body.login.trim().to_ascii_lowercase();
    if login.is_empty()
        || login.len() > 25
        || !login.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(ApiError::bad_request(
            "login must be a Twitch login: 1 to 25 of a-z, 0-9 and _",
        ));
    }
    let sealed = match (&body.user_token, &state.token_key) {
        (Some(token), Some(key)) => Some(key.seal(&body.id, token)),
        (Some(_), None) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "no_token_key",
                "this edge has no STAGEHAND_TOKEN_KEY, so it cannot store a Twitch token",
            ));
        }
        (None, _) => None,
    };
    let channel = state.store.create_channel(&body.id, &login).await?;
    let dashboard_token = crate::secrets::generate();
    let overlay_key = crate::secrets::generate();
    state
        .store
        .set_dashboard_token_digest(&channel.id, &digest(&dashboard_token))
        .await?;
    state
        .store
        .set_overlay_key_digest(&channel.id, &digest(&overlay_key))
        .await?;
    if let Some(sealed) = sealed {
        state
            .store
            .set_sealed_user_token(&channel.id, Some(&sealed))
            .await?;
    }
    tracing::info!(channel_id = %channel.id, login = %channel.login, "channel added");
    Ok((
        StatusCode::CREATED,
        ApiJson(json!({
            "id": channel.id,
            "login": channel.login,
            "dashboard_token": dashboard_token,
            "overlay_key": overlay_key,
        })),
    )
        .into_response())
}

/// `GET /api/channels` (operator).
pub async fn list_channels(
    _: OperatorAuth,
    State(state): State<EdgeState>,
) -> Result<ApiJson<Value>, ApiError> {
    let channels = state.store.channels().await?;
    Ok(ApiJson(json!({
        "channels": channels.iter().map(|c| json!({
            "id": c.id, "login": c.login, "created_at": c.created_at,
        })).collect::<Vec<_>>()
    })))
}

/// `GET /api/channel`: the channel the token belongs to.
pub async fn me(
    ChannelAuth(channel): ChannelAuth,
    State(state): State<EdgeState>,
) -> Result<ApiJson<Value>, ApiError> {
    let found = state
        .store
        .channel(&channel)
        .await?
        .ok_or_else(|| ApiError::not_found("this channel was removed"))?;
    Ok(ApiJson(json!({"id": found.id, "login": found.login})))
}

/// `GET /api/events` query.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    #[serde(default)]
    limit: Option<u32>,
    /// A `seq`: events before it.
    #[serde(default)]
    before: Option<i64>,
}

/// `GET /api/events`: the channel's newest events.
pub async fn events(
    ChannelAuth(channel): ChannelAuth,
    State(state): State<EdgeState>,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> Result<ApiJson<Value>, ApiError> {
    let limit = query.limit.unwrap_or(50).clamp(1, 500);
    let events = state
        .store
        .recent_events(&channel, limit, query.before)
        .await?;
    Ok(ApiJson(json!({
        "events": events.iter().map(event_json).collect::<Vec<_>>(),
    })))
}

/// An event as the API shows it.
pub fn event_json(e: &ChannelEvent) -> Value {
    json!({
        "seq": e.seq,
        "id": e.id,
        "kind": e.kind,
        "source": e.source,
        "occurred_at": e.occurred_at,
        "stored_at": e.stored_at,
        "event": e.body,
        "display": e.display,
    })
}

/// `GET /api/roles`: the channel's VIPs and moderators as its pollers last
/// found them (in cluster mode these lists are the role state), and how
/// many subscribers and bans. Empty until the lists' first poll.
pub async fn roles(
    ChannelAuth(channel): ChannelAuth,
    State(state): State<EdgeState>,
) -> Result<ApiJson<Value>, ApiError> {
    let list = |list| {
        let (store, channel) = (&state.store, &channel);
        async move {
            Ok::<_, StorageError>(
                store
                    .members(channel, list)
                    .await?
                    .map(|m| m.members)
                    .unwrap_or_default(),
            )
        }
    };
    let (vips, moderators, subscribers, banned) = futures_util::try_join!(
        list(MemberList::Vips),
        list(MemberList::Moderators),
        list(MemberList::Subscribers),
        list(MemberList::Banned),
    )?;
    let people = |members: &[Member]| {
        members
            .iter()
            .map(|m| json!({"id": m.user_id, "login": m.login, "display_name": m.display_name}))
            .collect::<Vec<_>>()
    };
    Ok(ApiJson(json!({
        "vips": people(&vips),
        "moderators": people(&moderators),
        "subscribers": subscribers.len(),
        "banned": banned.len(),
    })))
}

/// `GET /api/overlays/{name}`: what waits for that overlay.
pub async fn overlay_queue(
    ChannelAuth(channel): ChannelAuth,
    State(state): State<EdgeState>,
    Path(name): Path<String>,
) -> Result<ApiJson<Value>, ApiError> {
    if !valid_overlay_name(&name) {
        return Err(ApiError::not_found(format!("no overlay named {name:?}")));
    }
    let waiting = state.store.unacked_alerts(&channel, &name, 50).await?;
    Ok(ApiJson(json!({
        "overlay": name,
        "queued": waiting.iter().map(|a| json!({
            "id": a.id, "position": a.position, "event_id": a.event_id,
            "plugin": a.plugin, "queued_at": a.queued_at,
            "title": a.body["title"],
        })).collect::<Vec<_>>(),
    })))
}

/// `GET /api/plugins`: the channel's plugins.
pub async fn plugins(
    ChannelAuth(channel): ChannelAuth,
    State(state): State<EdgeState>,
) -> Result<ApiJson<Value>, ApiError> {
    let plugins = state.store.plugins(&channel).await?;
    let mut out = Vec::new();
    for p in &plugins {
        out.push(plugin_json(p));
    }
    Ok(ApiJson(json!({ "plugins": out })))
}

fn plugin_json(p: &ChannelPlugin) -> Value {
    let manifest = Package::from_bytes(&p.package)
        .or_else(|_| Package::from_wasm(&p.name, p.package.clone()))
        .ok()
        .map(|pkg| pkg.summary());
    let requested: Vec<String> = manifest
        .as_ref()
        .map(|m| m.permissions.clone())
        .unwrap_or_default();
    let pending: Vec<&String> = requested
        .iter()
        .filter(|k| !p.granted.contains(k))
        .collect();
    json!({
        "name": p.name,
        "digest": p.digest,
        "enabled": p.enabled,
        "granted": p.granted,
        "pending_permissions": pending,
        "settings": p.settings,
        "updated_at": p.updated_at,
        "package": manifest,
    })
}

/// `PUT /api/plugins/{name}`: installs or replaces a plugin of the channel
/// from a package (or bare component). Checked without running it; the
/// workers load it at the channel's next event.
pub async fn put_plugin(
    ChannelAuth(channel): ChannelAuth,
    State(state): State<EdgeState>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    if !valid_name(&name) {
        return Err(ApiError::bad_request(format!(
            "{name:?} is not a plugin name: 1 to 64 of a-z, 0-9 and -"
        )));
    }
    let bytes = body.to_vec();
    let checked = tokio::task::spawn_blocking({
        let bytes = bytes.clone();
        let name = name.clone();
        move || read_upload(bytes, Some(&name))
    })
    .await
    .map_err(|e| ApiError::unavailable(format!("checking the package: {e}")))?;
    let package = checked.map_err(|e| {
        let status = if e.problem == Problem::TooLarge {
            StatusCode::PAYLOAD_TOO_LARGE
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        ApiError::new(status, e.problem.code(), e.message.clone())
    })?;
    let existing = state
        .store
        .plugins(&channel)
        .await?
        .into_iter()
        .find(|p| p.name == name);
    let (granted, settings) = match existing {
        Some(old) => (old.granted, old.settings),
        None => (Vec::new(), Value::Null),
    };
    let digest = hex::encode(Sha256::digest(&bytes));
    state
        .store
        .put_plugin(ChannelPlugin {
            channel_id: channel.clone(),
            name: name.clone(),
            package: bytes,
            digest,
            granted,
            settings,
            enabled: true,
            updated_at: Utc::now(),
        })
        .await?;
    state.plugins_changed(&channel).await;
    let summary = package.summary();
    tracing::info!(channel_id = %channel, plugin = %name, version = %summary.version, "plugin installed");
    Ok((StatusCode::OK, ApiJson(json!({ "installed": summary }))).into_response())
}

/// `PUT /api/plugins/{name}/settings`: checked against the plugin's schema
/// (422 naming the field) before anything is stored.
pub async fn put_settings(
    ChannelAuth(channel): ChannelAuth,
    State(state): State<EdgeState>,
    Path(name): Path<String>,
    ApiJson(settings): ApiJson<Value>,
) -> Result<ApiJson<Value>, ApiError> {
    let plugin = find_plugin(&state, &channel, &name).await?;
    let package = Package::from_bytes(&plugin.package)
        .or_else(|_| Package::from_wasm(&name, plugin.package.clone()))
        .map_err(|e| ApiError::unavailable(format!("stored package unreadable: {e}")))?;
    if let Err(invalid) = package.manifest.settings_for(Some(&settings)) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_settings",
            invalid.to_string(),
        ));
    }
    state
        .store
        .set_plugin_settings(&channel, &name, &settings)
        .await?;
    state.plugins_changed(&channel).await;
    Ok(ApiJson(json!({ "settings": settings })))
}

/// `PUT /api/plugins/{name}/grants` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grants {
    granted: Vec<String>,
}

/// `PUT /api/plugins/{name}/grants`: the permissions the streamer allows.
/// Only permissions the plugin asks for can be granted.
pub async fn put_grants(
    ChannelAuth(channel): ChannelAuth,
    State(state): State<EdgeState>,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<Grants>,
) -> Result<ApiJson<Value>, ApiError> {
    let plugin = find_plugin(&state, &channel, &name).await?;
    let asked: Vec<String> = Package::from_bytes(&plugin.package)
        .or_else(|_| Package::from_wasm(&name, plugin.package.clone()))
        .map(|p| p.summary().permissions)
        .unwrap_or_default();
    if let Some(stray) = body.granted.iter().find(|g| !asked.contains(g)) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_requested",
            format!("{name} does not ask for {stray:?}"),
        ));
    }
    state
        .store
        .set_plugin_grants(&channel, &name, &body.granted)
        .await?;
    state.plugins_changed(&channel).await;
    Ok(ApiJson(json!({ "granted": body.granted })))
}

/// `DELETE /api/plugins/{name}`: removes the plugin and its data.
pub async fn delete_plugin(
    ChannelAuth(channel): ChannelAuth,
    State(state): State<EdgeState>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    if !state.store.remove_plugin(&channel, &name).await? {
        return Err(ApiError::not_found(format!("no plugin named {name:?}")));
    }
    state.plugins_changed(&channel).await;
    Ok(StatusCode::NO_CONTENT)
}

async fn find_plugin(
    state: &EdgeState,
    channel: &str,
    name: &str,
) -> Result<ChannelPlugin, ApiError> {
    state
        .store
        .plugins(channel)
        .await?
        .into_iter()
        .find(|p| p.name == name)
        .ok_or_else(|| ApiError::not_found(format!("no plugin named {name:?}")))
}
