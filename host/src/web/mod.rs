//! The HTTP server: small handler modules assembled into one router, with
//! the state passed explicitly. `/api/*` needs the bearer token (or the
//! dashboard's session cookie, see [`auth`]); `/hooks/{name}` takes
//! services' webhooks, each checked by its own token or signature (see
//! [`hooks`]); every failure answers with a JSON error body.

pub mod assets;
pub mod auth;
pub mod dashboard;
pub mod error;
pub mod events;
pub mod eventsub;
pub mod external;
pub mod guard;
pub mod hooks;
pub mod live;
pub mod media;
pub mod media_library;
pub mod overlay;
pub mod overlay_queue;
pub mod plugin_install;
pub mod plugins;
pub mod polling;
pub mod preview;
pub mod roles;
pub mod server;
pub mod speech;
pub mod tts;
pub mod viewers;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::actions::alerts::OverlayQueue;
use crate::live::LiveFeed;
use crate::pipeline::EventSender;
use crate::plugins::PluginHost;
use crate::polling::role_sync::RoleSync;
use crate::polling::schedule::PollSchedule;
use crate::store::Store;
use crate::twitch::link::TwitchLink;
use error::ApiError;

/// Request bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// The largest media upload (`POST /api/media`): short alert videos fit.
pub const MAX_MEDIA_UPLOAD: usize = 64 * 1024 * 1024;
/// The largest plugin upload (`POST /api/plugins/install`): a package
/// holds a component of at most 32 MiB plus its manifest, gzipped.
pub const MAX_PLUGIN_UPLOAD: usize = 40 * 1024 * 1024;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub events: EventSender,
    pub feed: LiveFeed,
    pub api_token: Arc<str>,
    /// The channel test events belong to when the request names none.
    pub channel_id: Arc<str>,
    /// Cancelled when the host shuts down, so long-lived responses (the live
    /// feed, overlay sockets) end instead of holding the shutdown open.
    pub shutdown: CancellationToken,
    pub plugins: PluginHost,
    pub overlays: OverlayQueue,
    /// Chat read aloud: settings, queue, skip.
    pub speech: crate::tts::SpeechService,
    /// The key overlay pages present in their hello (regenerable).
    pub overlay_key: overlay::OverlayKey,
    /// Overlay pages connected now, per overlay name.
    pub overlay_pages: overlay::OverlayPages,
    /// The Twitch connection (its status and controls).
    pub twitch: TwitchLink,
    /// The pollers' schedule (readable and changeable without a login).
    pub polling: PollSchedule,
    /// The role sync, once logged in.
    pub role_sync: Option<RoleSync>,
    /// The streamer's media files (`GET /media/{file}`).
    pub media_dir: Arc<std::path::Path>,
    /// The uploaded ones among them (`/api/media`).
    pub media: crate::media_library::MediaLibrary,
    /// What `/healthz` reports.
    pub health: crate::health::Health,
    /// Addresses presenting wrong credentials lately.
    pub auth_failures: Arc<guard::AuthFailures>,
    /// Inbound webhooks (`/hooks/{name}`) and their counters.
    pub hooks: crate::hooks::Hooks,
    /// Addresses sending wrong hook tokens or signatures lately (counted
    /// apart from the API's: hook senders reach the host through a proxy
    /// or tunnel, whose address must not lock the dashboard out).
    pub hook_failures: Arc<guard::AuthFailures>,
    /// The Redis bridge's status (`GET /api/external`).
    pub redis: crate::external::redis::RedisStatus,
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/events", get(events::list))
        .route("/events/test", post(events::post_test))
        .route("/events/{id}/replay", post(events::replay))
        .route("/live", get(live::stream))
        .route("/plugins", get(plugins::list))
        .route(
            "/plugins/install",
            post(plugin_install::upload).layer(DefaultBodyLimit::max(MAX_PLUGIN_UPLOAD)),
        )
        .route("/plugins/install/{token}", post(plugin_install::confirm))
        .route(
            "/plugins/{name}",
            axum::routing::delete(plugin_install::remove),
        )
        .route("/plugins/{name}/grant", post(plugins::grant))
        .route("/plugins/{name}/reset", post(plugins::reset))
        .route("/plugins/{name}/reload", post(plugins::reload))
        .route("/plugins/{name}/enable", post(plugins::enable))
        .route("/plugins/{name}/disable", post(plugins::disable))
        .route(
            "/plugins/{name}/settings",
            get(plugins::get_settings)
                .put(plugins::put_settings)
                .delete(plugins::delete_settings),
        )
        .route("/plugins/{name}/preview", post(preview::preview))
        .route("/viewers", get(viewers::list))
        .route("/tts/rules", get(tts::list).post(tts::create))
        .route("/tts/rules/{login}", axum::routing::delete(tts::remove))
        .route(
            "/tts/settings",
            get(speech::get_settings).put(speech::put_settings),
        )
        .route("/tts/queue", get(speech::queue))
        .route("/tts/queue/{id}", axum::routing::delete(speech::remove))
        .route("/tts/skip", post(speech::skip))
        .route("/tts/grants", get(speech::grants).post(speech::grant))
        .route("/tts/grants/{login}", axum::routing::delete(speech::revoke))
        .route("/polling", get(polling::list))
        .route("/polling/{name}", axum::routing::put(polling::update))
        .route("/roles/sync", post(roles::sync))
        .route("/eventsub", get(eventsub::status))
        .route("/eventsub/connect", post(eventsub::connect))
        .route("/eventsub/disconnect", post(eventsub::disconnect))
        .route("/overlays", get(overlay_queue::list))
        .route("/overlays/{name}", get(overlay_queue::one))
        .route("/overlays/{name}/pause", post(overlay_queue::pause))
        .route("/overlays/{name}/resume", post(overlay_queue::resume))
        .route("/overlays/{name}/skip", post(overlay_queue::skip))
        .route("/overlays/{name}/clear", post(overlay_queue::clear))
        .route(
            "/overlays/{name}/queue/{id}",
            axum::routing::delete(overlay_queue::remove),
        )
        .route("/external", get(external::status))
        .route("/overlay/key", post(overlay::regenerate_key))
        .route(
            "/media",
            get(media_library::list)
                .post(media_library::upload)
                .layer(DefaultBodyLimit::max(MAX_MEDIA_UPLOAD)),
        )
        .route("/media/{id}", axum::routing::delete(media_library::delete))
        .route("/hooks", get(hooks::status))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_api_token,
        ));

    Router::new()
        .route("/healthz", get(healthz))
        .route("/", get(dashboard::index))
        .route("/overlay/{name}", get(overlay::page))
        .route("/overlay/{name}/ws", get(overlay::socket))
        .route("/media/{file}", get(media::serve))
        .route("/assets/{*path}", get(assets::asset))
        // The only routes without the API token: each hook checks its own
        // token or signature.
        .route("/hooks/{name}", post(hooks::receive))
        .nest("/api", api)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(|request, next| {
            guard::limit_body(request, next, MAX_BODY_BYTES)
        }))
        .layer(CatchPanicLayer::custom(panicked))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// The span of one request: method and path, never the query string,
/// which carries the API token on the dashboard's login URL.
fn request_span(request: &Request) -> tracing::Span {
    tracing::debug_span!(
        "request",
        method = %request.method(),
        path = request.uri().path(),
    )
}

/// Health, answered whatever the plugins do: 200 `ok`, or 503 `degraded`
/// with each part that is not doing its job and why (the database refusing
/// writes, a background task restarting). `plugins` says whether the first
/// load of the plugins folder has finished (`loading`, `ready`).
async fn healthz(State(state): State<AppState>) -> Response {
    let plugins = if state.plugins.loaded() {
        "ready"
    } else {
        "loading"
    };
    let problems = state.health.problems();
    let (status, word) = if problems.is_empty() {
        (axum::http::StatusCode::OK, "ok")
    } else {
        (axum::http::StatusCode::SERVICE_UNAVAILABLE, "degraded")
    };
    let body = json!({
        "status": word,
        "version": env!("CARGO_PKG_VERSION"),
        "plugins": plugins,
        "problems": problems,
    });
    (status, Json(body)).into_response()
}

async fn not_found(request: Request) -> ApiError {
    ApiError::not_found(format!(
        "no route for {} {}",
        request.method(),
        request.uri().path()
    ))
}

async fn method_not_allowed(request: Request) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{} is not allowed on {}",
            request.method(),
            request.uri().path()
        ),
    )
}

fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::new(
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "internal error; see the host's log",
    )
    .into_response()
}
