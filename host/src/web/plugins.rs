//! The Plugins screen: `GET /api/plugins` (status, last error,
//! permissions), and per plugin `POST .../grant` (the "Allow" button),
//! `POST .../reset` (out of quarantine), `POST .../enable` and
//! `POST .../disable`, `POST .../reload` (load again from its files), and
//! `GET`/`PUT`/`DELETE .../settings` (settings that replace the
//! `[settings]` of its `plugin.toml`; with a `[[setting]]` schema they are
//! checked against it, and a misfit answers 422
//! `{"error": "invalid_settings", "field": "<dotted path>", "message": ...}`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;

use super::AppState;
use super::error::{ApiError, ApiJson};
use crate::plugins::settings_schema::Invalid;
use crate::plugins::worker::Status;
use crate::plugins::{PluginSettings, SettingsError};

/// Every plugin: name, version, status, last error, permissions.
pub async fn list(State(state): State<AppState>) -> Json<Vec<Status>> {
    Json(state.plugins.list())
}

fn no_plugin(name: &str) -> ApiError {
    ApiError::not_found(format!("no plugin named {name:?}"))
}

fn store_failed(e: impl std::fmt::Display) -> ApiError {
    ApiError::unavailable(format!("cannot store the change: {e}"))
}

/// The streamer allows everything the plugin's manifest asks for.
pub async fn grant(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Status>, ApiError> {
    match state.plugins.grant(&name).await {
        Ok(Some(status)) => Ok(Json(status)),
        Ok(None) => Err(no_plugin(&name)),
        Err(e) => Err(ApiError::unavailable(format!(
            "cannot store the grant: {e}"
        ))),
    }
}

/// Takes a plugin out of quarantine (or retries a failed load).
pub async fn reset(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Status>, ApiError> {
    state
        .plugins
        .reset(&name)
        .await
        .map(Json)
        .ok_or_else(|| no_plugin(&name))
}

/// Loads the plugin again from its files, even unchanged (a fresh
/// instance; its stored data is kept). Answers its status afterwards, whose
/// `last_error` says if the reload failed.
pub async fn reload(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Status>, ApiError> {
    state
        .plugins
        .reload(&name)
        .await
        .map(Json)
        .ok_or_else(|| no_plugin(&name))
}

/// Turns a disabled plugin back on (remembered across restarts).
pub async fn enable(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Status>, ApiError> {
    set_enabled(state, name, true).await
}

/// Turns a plugin off without deleting its files: it gets no more events
/// until enabled (remembered across restarts).
pub async fn disable(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Status>, ApiError> {
    set_enabled(state, name, false).await
}

async fn set_enabled(state: AppState, name: String, on: bool) -> Result<Json<Status>, ApiError> {
    match state.plugins.set_enabled(&name, on).await {
        Ok(Some(status)) => Ok(Json(status)),
        Ok(None) => Err(no_plugin(&name)),
        Err(e) => Err(store_failed(e)),
    }
}

/// What the plugin runs with, its manifest's defaults, whether the
/// streamer's settings replace them, and its settings schema (or null).
pub async fn get_settings(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<PluginSettings>, SettingsRejection> {
    match state.plugins.settings(&name).await {
        Ok(Some(settings)) => Ok(Json(settings)),
        Ok(None) => Err(no_plugin(&name).into()),
        Err(e) => Err(e.into()),
    }
}

/// Body of `PUT /api/plugins/{name}/settings`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSettings {
    /// A JSON object, as the manifest's `[settings]` table would be.
    settings: Value,
}

/// Replaces the plugin's settings. They are checked against its settings
/// schema (422 `invalid_settings` naming the field), then the plugin is
/// started with them; 422 with its reason when it refuses them. Nothing
/// changes on either refusal.
pub async fn put_settings(
    State(state): State<AppState>,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<NewSettings>,
) -> Result<Json<Status>, SettingsRejection> {
    if !body.settings.is_object() {
        return Err(ApiError::bad_request(format!(
            "settings must be a JSON object, not {}",
            crate::event::json_type(&body.settings)
        ))
        .into());
    }
    change_settings(state, name, Some(body.settings)).await
}

/// Goes back to the settings in the plugin's manifest.
pub async fn delete_settings(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Status>, SettingsRejection> {
    change_settings(state, name, None).await
}

async fn change_settings(
    state: AppState,
    name: String,
    settings: Option<Value>,
) -> Result<Json<Status>, SettingsRejection> {
    match state.plugins.set_settings(&name, settings).await {
        Ok(Some(status)) => Ok(Json(status)),
        Ok(None) => Err(no_plugin(&name).into()),
        Err(e) => Err(e.into()),
    }
}

/// Why a settings request failed: an ordinary API error, or settings that
/// do not fit the plugin's schema (answered with the field they name, so
/// the dashboard can show the message beside it).
#[derive(Debug)]
pub enum SettingsRejection {
    /// Answered in the usual `{"error": {"code", "message"}}` shape.
    Api(ApiError),
    /// 422 `{"error": {"code": "invalid_settings", "message", "field"}}`:
    /// the usual shape with the field's dotted path added.
    Invalid(Invalid),
}

impl From<ApiError> for SettingsRejection {
    fn from(e: ApiError) -> Self {
        SettingsRejection::Api(e)
    }
}

impl From<SettingsError> for SettingsRejection {
    fn from(e: SettingsError) -> Self {
        match e {
            SettingsError::Invalid(invalid) => SettingsRejection::Invalid(invalid),
            SettingsError::Refused(why) => SettingsRejection::Api(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "settings_refused",
                format!("the plugin does not start with these settings: {why}"),
            )),
            SettingsError::Unreadable(why) => SettingsRejection::Api(ApiError::unavailable(
                format!("cannot read the plugin: {why}"),
            )),
            SettingsError::Store(e) => SettingsRejection::Api(store_failed(e)),
        }
    }
}

impl IntoResponse for SettingsRejection {
    fn into_response(self) -> Response {
        match self {
            SettingsRejection::Api(e) => e.into_response(),
            SettingsRejection::Invalid(Invalid { field, message }) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(serde_json::json!({
                    "error": {"code": "invalid_settings", "message": message, "field": field},
                })),
            )
                .into_response(),
        }
    }
}
