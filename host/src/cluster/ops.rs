//! The operations endpoint every cluster role serves (on its own port, for
//! the orchestrator and Prometheus, never for the public):
//!
//! - `GET /healthz`: the process is alive. 200 `{"status":"ok"}` unless a
//!   check marked fatal fails (a state only a restart fixes), then 503.
//!   Orchestrators restart on it, so ordinary trouble (NATS down for a
//!   moment) must not fail it.
//! - `GET /readyz`: the node can do its work. 200 only when every
//!   readiness check passes, else 503 with the failing checks and their
//!   reasons; 503 `draining` once shutdown began, so load balancers stop
//!   sending before the node stops.
//! - `GET /metrics`: [`ClusterMetrics`] in the OpenMetrics text format.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::metrics::{CONTENT_TYPE, ClusterMetrics};

/// A check's name as reported when the node is draining.
pub const DRAINING: &str = "draining";

type Probe = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// Where a check's result comes from.
#[derive(Clone)]
enum Source {
    /// Set by the role when the state changes.
    Set(Result<(), String>),
    /// Asked on every request (a connection state that is cheap to read).
    Probe(Probe),
}

#[derive(Clone)]
struct Check {
    source: Source,
    /// Failing it fails `/healthz` too.
    fatal: bool,
}

impl Check {
    fn result(&self) -> Result<(), String> {
        match &self.source {
            Source::Set(result) => result.clone(),
            Source::Probe(probe) => probe(),
        }
    }
}

/// A check that fails, as `/readyz` and `/healthz` list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failing {
    pub check: String,
    pub reason: String,
}

/// The named checks of a node ("nats connected", "database reachable",
/// "holds partitions", …), updated by the parts that know. Cheap to clone;
/// clones share the checks.
#[derive(Clone, Default)]
pub struct Readiness {
    checks: Arc<Mutex<BTreeMap<String, Check>>>,
}

impl Readiness {
    /// No checks yet: ready until a role registers one.
    pub fn new() -> Readiness {
        Readiness::default()
    }

    fn put(&self, name: &str, check: Check) {
        let mut checks = self.checks.lock().unwrap_or_else(|e| e.into_inner());
        checks.insert(name.to_owned(), check);
    }

    /// Records a readiness check's result. Register a check failing ("not
    /// yet") at startup, so the node is not ready before it is checked.
    pub fn set(&self, name: &str, result: Result<(), String>) {
        self.put(
            name,
            Check {
                source: Source::Set(result),
                fatal: false,
            },
        );
    }

    /// Records a check whose failure means the process is broken for good
    /// (it fails `/healthz`, so the orchestrator restarts the node).
    pub fn set_fatal(&self, name: &str, result: Result<(), String>) {
        self.put(
            name,
            Check {
                source: Source::Set(result),
                fatal: true,
            },
        );
    }

    /// A readiness check asked on every request, e.g. the bus's
    /// [`connection_check`](crate::cluster::bus::EventBus::connection_check).
    /// It must be quick and must not block.
    pub fn probe(
        &self,
        name: &str,
        probe: impl Fn() -> Result<(), String> + Send + Sync + 'static,
    ) {
        self.put(
            name,
            Check {
                source: Source::Probe(Arc::new(probe)),
                fatal: false,
            },
        );
    }

    /// Drops a check (a role part that stopped).
    pub fn remove(&self, name: &str) {
        let mut checks = self.checks.lock().unwrap_or_else(|e| e.into_inner());
        checks.remove(name);
    }

    /// The failing checks (all of them, or only the fatal ones), by name.
    fn failing(&self, only_fatal: bool) -> Vec<Failing> {
        // Probes run outside the lock: one may take a moment or use
        // another lock.
        let checks: Vec<(String, Check)> = {
            let checks = self.checks.lock().unwrap_or_else(|e| e.into_inner());
            checks
                .iter()
                .filter(|(_, c)| c.fatal || !only_fatal)
                .map(|(n, c)| (n.clone(), c.clone()))
                .collect()
        };
        checks
            .into_iter()
            .filter_map(|(check, c)| c.result().err().map(|reason| Failing { check, reason }))
            .collect()
    }

    /// The failing checks: empty when the node is ready (draining aside).
    pub fn failing_checks(&self) -> Vec<Failing> {
        self.failing(false)
    }
}

/// Whether shutdown began: once it has, `/readyz` answers 503 `draining`.
/// Shares the token of [`Shutdown::stop_token`](crate::cluster::drain::Shutdown::stop_token),
/// so the first signal flips it without anyone having to remember to.
#[derive(Clone, Default)]
pub struct Draining(CancellationToken);

impl Draining {
    /// Not draining.
    pub fn new() -> Draining {
        Draining::default()
    }

    /// Marks shutdown begun.
    pub fn begin(&self) {
        self.0.cancel();
    }

    /// Whether shutdown began.
    pub fn is_draining(&self) -> bool {
        self.0.is_cancelled()
    }
}

impl From<CancellationToken> for Draining {
    fn from(token: CancellationToken) -> Draining {
        Draining(token)
    }
}

/// What the endpoint reports on.
#[derive(Clone)]
pub struct Ops {
    pub readiness: Readiness,
    pub draining: Draining,
    pub metrics: Arc<ClusterMetrics>,
}

/// The ops endpoint's routes.
pub fn router(ops: Ops) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(ops)
}

/// Health answers must never be cached by a proxy in front.
fn no_store(status: StatusCode, body: serde_json::Value) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

async fn healthz(State(ops): State<Ops>) -> Response {
    let failing = ops.readiness.failing(true);
    if failing.is_empty() {
        no_store(StatusCode::OK, json!({"status": "ok"}))
    } else {
        no_store(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"status": "failing", "failing": failing}),
        )
    }
}

async fn readyz(State(ops): State<Ops>) -> Response {
    let mut failing = ops.readiness.failing(false);
    if ops.draining.is_draining() {
        failing.insert(
            0,
            Failing {
                check: DRAINING.to_owned(),
                reason: "shutting down: finishing work in flight".to_owned(),
            },
        );
        return no_store(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"status": "draining", "failing": failing}),
        );
    }
    if failing.is_empty() {
        no_store(StatusCode::OK, json!({"status": "ready"}))
    } else {
        no_store(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"status": "not ready", "failing": failing}),
        )
    }
}

async fn metrics(State(ops): State<Ops>) -> Response {
    (
        [
            (header::CONTENT_TYPE, CONTENT_TYPE),
            (header::CACHE_CONTROL, "no-store"),
        ],
        ops.metrics.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use serde_json::Value;
    use std::sync::atomic::{AtomicBool, Ordering};
    use tower::ServiceExt;

    fn ops() -> Ops {
        Ops {
            readiness: Readiness::new(),
            draining: Draining::new(),
            metrics: Arc::new(ClusterMetrics::new("worker")),
        }
    }

    async fn get(ops: &Ops, path: &str) -> (StatusCode, String, String) {
        let response = router(ops.clone())
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let kind = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, kind, String::from_utf8(body.to_vec()).unwrap())
    }

    async fn get_json(ops: &Ops, path: &str) -> (StatusCode, Value) {
        let (status, _, body) = get(ops, path).await;
        (status, serde_json::from_str(&body).unwrap())
    }

    #[tokio::test]
    async fn ready_only_when_every_check_passes() {
        let ops = ops();
        assert_eq!(
            get_json(&ops, "/readyz").await,
            (StatusCode::OK, json!({"status": "ready"}))
        );

        ops.readiness.set("nats connected", Ok(()));
        ops.readiness
            .set("holds partitions", Err("no partition lease yet".into()));
        ops.readiness
            .set("database reachable", Err("connection refused".into()));
        let (status, body) = get_json(&ops, "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            body,
            json!({"status": "not ready", "failing": [
                {"check": "database reachable", "reason": "connection refused"},
                {"check": "holds partitions", "reason": "no partition lease yet"},
            ]})
        );
        // Not ready is not dead.
        assert_eq!(
            get_json(&ops, "/healthz").await,
            (StatusCode::OK, json!({"status": "ok"}))
        );

        ops.readiness.set("holds partitions", Ok(()));
        ops.readiness.set("database reachable", Ok(()));
        assert_eq!(get_json(&ops, "/readyz").await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn probes_are_asked_on_every_request() {
        let ops = ops();
        let up = Arc::new(AtomicBool::new(false));
        let seen = up.clone();
        ops.readiness.probe("nats connected", move || {
            if seen.load(Ordering::SeqCst) {
                Ok(())
            } else {
                Err("NATS connection is disconnected".into())
            }
        });
        let (status, body) = get_json(&ops, "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["failing"][0]["check"], "nats connected");
        up.store(true, Ordering::SeqCst);
        assert_eq!(get_json(&ops, "/readyz").await.0, StatusCode::OK);
        ops.readiness.remove("nats connected");
        assert_eq!(get_json(&ops, "/readyz").await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn a_fatal_check_fails_health_and_readiness() {
        let ops = ops();
        ops.readiness
            .set_fatal("plugin engine", Err("cannot create the engine".into()));
        let (status, body) = get_json(&ops, "/healthz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            body,
            json!({"status": "failing", "failing": [
                {"check": "plugin engine", "reason": "cannot create the engine"}
            ]})
        );
        assert_eq!(
            get_json(&ops, "/readyz").await.0,
            StatusCode::SERVICE_UNAVAILABLE
        );
        ops.readiness.set_fatal("plugin engine", Ok(()));
        assert_eq!(get_json(&ops, "/healthz").await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn draining_turns_readiness_off_but_not_health() {
        let stop = CancellationToken::new();
        let ops = Ops {
            draining: Draining::from(stop.clone()),
            ..ops()
        };
        ops.readiness.set("nats connected", Ok(()));
        assert_eq!(get_json(&ops, "/readyz").await.0, StatusCode::OK);
        // The shutdown's token, cancelled as the first SIGTERM would.
        stop.cancel();
        let (status, body) = get_json(&ops, "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["status"], "draining");
        assert_eq!(body["failing"][0]["check"], DRAINING);
        assert_eq!(get_json(&ops, "/healthz").await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn metrics_are_served_as_openmetrics() {
        let ops = ops();
        ops.metrics.init_partition(2);
        ops.metrics.events_in(2, 3);
        ops.metrics.plugin_fault("alert-box");
        ops.metrics.set_queue_depth("alerts", 1);
        let (status, kind, body) = get(&ops, "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert!(kind.starts_with("application/openmetrics-text"), "{kind}");
        for family in [
            "# TYPE stagehand_events_in counter",
            "# TYPE stagehand_events_out counter",
            "# TYPE stagehand_duplicates counter",
            "# TYPE stagehand_redeliveries counter",
            "# TYPE stagehand_consumer_lag gauge",
            "# TYPE stagehand_plugin_faults counter",
            "# TYPE stagehand_queue_depth gauge",
            "# TYPE stagehand_event_stored_latency_seconds histogram",
            "# TYPE stagehand_event_overlay_latency_seconds histogram",
            "# TYPE stagehand_event_stored_latency_p99_seconds gauge",
            "# TYPE stagehand_event_overlay_latency_p99_seconds gauge",
            r#"stagehand_events_in_total{role="worker",partition="2"} 3"#,
        ] {
            assert!(body.contains(family), "{family} missing from\n{body}");
        }
        assert!(body.ends_with("# EOF\n"), "{body}");
    }
}
