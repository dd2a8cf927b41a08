//! The `edge` role: the dashboard, API and overlay sockets for any channel.
//! Stateless: it reads PostgreSQL and follows the alert and live subjects,
//! so any number of edges can stand behind a load balancer and a page may
//! reconnect to any of them.

pub mod api;
pub mod auth;
pub mod hub;
pub mod live;
pub mod overlay;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::cluster::bus::EventBus;
use crate::cluster::metrics::ClusterMetrics;
use crate::storage::{ClusterStore, TokenKey};
use hub::ChannelHub;

/// The largest plugin upload (a package's cap).
const MAX_UPLOAD: usize = 33 * 1024 * 1024;
/// The largest JSON body.
const MAX_JSON: usize = 256 * 1024;

/// What every edge handler gets.
#[derive(Clone)]
pub struct EdgeState {
    pub store: Arc<dyn ClusterStore>,
    pub bus: EventBus,
    pub alerts: ChannelHub,
    pub live: ChannelHub,
    pub metrics: Arc<ClusterMetrics>,
    pub operator_token: Option<Arc<str>>,
    pub token_key: Option<Arc<TokenKey>>,
    /// Cancelled when the edge drains: sockets close with 1012 so pages
    /// reconnect to another edge.
    pub stop: CancellationToken,
}

impl EdgeState {
    /// Tells the workers to load a channel's plugins again.
    pub async fn plugins_changed(&self, channel: &str) {
        let Ok(subject) = crate::cluster::subjects::ChannelSubject::parse(channel) else {
            return;
        };
        if let Err(e) = self
            .bus
            .publish_control(&subject, bytes::Bytes::from_static(b"plugins"))
            .await
        {
            tracing::warn!(channel_id = %channel, "cannot tell workers about a plugin change: {e}");
        }
    }
}

/// The edge's routes.
pub fn router(state: EdgeState) -> Router {
    let api = Router::new()
        .route(
            "/channels",
            post(api::create_channel).get(api::list_channels),
        )
        .route("/channel", get(api::me))
        .route("/events", get(api::events))
        .route("/live", get(live::socket))
        .route("/overlays/{name}", get(api::overlay_queue))
        .route("/roles", get(api::roles))
        .route("/plugins", get(api::plugins))
        .route(
            "/plugins/{name}",
            put(api::put_plugin)
                .delete(api::delete_plugin)
                .layer(DefaultBodyLimit::max(MAX_UPLOAD)),
        )
        .route("/plugins/{name}/settings", put(api::put_settings))
        .route("/plugins/{name}/grants", put(api::put_grants))
        .layer(DefaultBodyLimit::max(MAX_JSON));
    Router::new()
        .nest("/api", api)
        .route("/", get(live::dashboard))
        .route("/overlay/{name}", get(overlay::page))
        .route("/overlay/{name}/ws", get(overlay::socket))
        .route("/assets/{*path}", get(crate::web::assets::asset))
        .with_state(state)
}

/// Follows every channel's alerts and live updates from NATS and hands them
/// to this edge's sockets, until `stop`.
pub async fn relay(state: EdgeState) -> Result<(), crate::cluster::bus::BusError> {
    let mut alerts = state.bus.subscribe_alerts().await?;
    let mut live = state.bus.subscribe_live().await?;
    loop {
        tokio::select! {
            _ = state.stop.cancelled() => return Ok(()),
            next = alerts.next() => match next {
                Some((channel, payload)) => {
                    state.metrics.events_in(None, 1);
                    state.alerts.publish(channel.as_str(), payload);
                }
                None => return Ok(()),
            },
            next = live.next() => match next {
                Some((channel, payload)) => {
                    state.metrics.events_in(None, 1);
                    state.live.publish(channel.as_str(), payload);
                }
                None => return Ok(()),
            },
        }
    }
}
