//! `stagehand cluster ROLE`: reads the settings, connects to NATS and the
//! database, serves the operations endpoint and runs the role until a
//! signal, then drains within the deadline.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::bus::{BusConfig, EventBus};
use super::drain::Shutdown;
use super::edge::{self, EdgeState, hub::ChannelHub};
use super::ingest::{self, IngestOptions, IngestShared, publisher::Publisher, twitch_app};
use super::metrics::ClusterMetrics;
use super::ops::{self, Draining, Ops, Readiness};
use super::worker::{self, ChannelDirectory, WorkerOptions, WorkerShared, plugins::PluginSet};
use crate::plugins::runtime::Runtime;
use crate::storage::{ClusterStore, PostgresStore, SqliteStore, TokenKey};

/// Which role this process plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// EventSub through a conduit → the event stream.
    Ingest,
    /// The event stream → PostgreSQL, plugins, alerts.
    Worker,
    /// Dashboard, API and overlay sockets.
    Edge,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Ingest => "ingest",
            Role::Worker => "worker",
            Role::Edge => "edge",
        }
    }

    fn default_ops(self) -> &'static str {
        match self {
            Role::Ingest => "127.0.0.1:9101",
            Role::Worker => "127.0.0.1:9102",
            Role::Edge => "127.0.0.1:9103",
        }
    }
}

/// `stagehand cluster ROLE [options]`.
#[derive(Debug, clap::Args)]
pub struct ClusterArgs {
    /// The role: ingest, worker or edge.
    #[arg(value_enum)]
    pub role: Role,
    /// NATS server(s), comma-separated.
    #[arg(
        long,
        env = "STAGEHAND_NATS_URL",
        default_value = "nats://127.0.0.1:4222"
    )]
    pub nats: String,
    /// The database: postgres://user@host/db (or sqlite:PATH to try the
    /// roles on one machine).
    #[arg(long, env = "STAGEHAND_DATABASE_URL")]
    pub database: String,
    /// This node's name in leases and logs (default: host, pid, random).
    #[arg(long, env = "STAGEHAND_NODE_ID")]
    pub node_id: Option<String>,
    /// Subject prefix (several clusters on one NATS server).
    #[arg(long, env = "STAGEHAND_NATS_PREFIX", default_value = "stagehand")]
    pub prefix: String,
    /// Stream partitions (fixed when the stream is created).
    #[arg(long, default_value_t = 16)]
    pub partitions: u32,
    /// The edge's address (dashboard, API, overlays, and its /healthz,
    /// /readyz and /metrics).
    #[arg(long, env = "STAGEHAND_ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Where ingest and worker nodes answer /healthz, /readyz, /metrics
    /// (default 127.0.0.1:9101 for ingest, :9102 for workers).
    #[arg(long, env = "STAGEHAND_OPS_ADDR")]
    pub ops: Option<SocketAddr>,
    /// Seconds a lease lasts without renewal: a killed node's work moves
    /// within this.
    #[arg(long, default_value_t = 10)]
    pub lease_secs: u64,
    /// Seconds a drain may take after SIGTERM.
    #[arg(long, default_value_t = 30)]
    pub drain_secs: u64,
    /// Conduit shards each ingest node keeps a session on.
    #[arg(long, default_value_t = 2)]
    pub shards_per_node: u32,
    /// Seconds between follower polls of a channel.
    #[arg(long, default_value_t = 60)]
    pub poll_secs: u64,
    /// Seconds between polls of a channel's subscriber, VIP, moderator and
    /// ban lists.
    #[arg(long, default_value_t = 300)]
    pub roles_poll_secs: u64,
    /// Events a worker handles per batch.
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    /// Channels whose plugin instances a worker keeps in memory.
    #[arg(long, default_value_t = worker::plugins::DEFAULT_CHANNEL_CAPACITY)]
    pub plugin_channels: usize,
    /// Where workers cache compiled plugins (default: none).
    #[arg(long)]
    pub plugin_cache: Option<PathBuf>,
    /// Database connections per node.
    #[arg(long, default_value_t = 8)]
    pub pool: usize,
}

/// Runs the role; the answer is the process's exit code.
pub fn run(args: ClusterArgs) -> Result<i32> {
    if std::env::var_os(crate::logging::FORMAT_VAR).is_none() {
        // Operators collect cluster logs: JSON unless asked otherwise.
        crate::logging::init(crate::config::LogFormat::Json);
    } else {
        crate::logging::init_from_env().context("STAGEHAND_LOG_FORMAT")?;
    }
    // One TLS provider for every client (Twitch, NATS over TLS).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("stagehand-cluster")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(args: ClusterArgs) -> Result<i32> {
    let role = args.role;
    let node = args.node_id.clone().unwrap_or_else(default_node_id);
    if node.is_empty()
        || node.len() > 64
        || !node
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        bail!("--node-id must be 1 to 64 of a-z, A-Z, 0-9, '-', '_' and '.'");
    }
    // Leases are held per incarnation: a node restarted under the same id
    // never mistakes its dead predecessor's leases for its own work (they
    // run out and are taken over like any other).
    let holder = format!("{node}.{:06x}", rand::random::<u32>() & 0xff_ffff);
    let shutdown = Shutdown::new();
    shutdown
        .listen_for_signals()
        .context("listening for SIGTERM and SIGINT")?;
    let metrics = Arc::new(ClusterMetrics::new(role.name()));
    let readiness = Readiness::new();
    tracing::info!(role = role.name(), node = %node, holder = %holder, "starting");

    let store = connect_store(&args.database, args.pool).await?;
    readiness.set("database", Ok(()));
    let bus = EventBus::connect(
        &args.nats,
        BusConfig {
            prefix: args.prefix.clone(),
            partitions: args.partitions,
            client_name: format!("stagehand-{}-{node}", role.name()),
            ..BusConfig::default()
        },
    )
    .await
    .context("connecting to NATS")?;
    {
        let bus = bus.clone();
        readiness.probe("nats", move || bus.connection_check());
    }
    let ops = Ops {
        readiness: readiness.clone(),
        draining: Draining::from(shutdown.stop_token()),
        metrics: metrics.clone(),
    };
    let lease_ttl = Duration::from_secs(args.lease_secs.max(3));

    let stop = shutdown.stop_token();
    let main = match role {
        Role::Worker => {
            serve_ops(args.ops, role, ops).await?;
            let runtime = Runtime::new(args.plugin_cache.clone())
                .map_err(|e| anyhow::anyhow!("plugin runtime: {}", e.0))?;
            let plugins = Arc::new(PluginSet::new(runtime, store.clone(), args.plugin_channels));
            let shared = Arc::new(WorkerShared {
                node: holder.clone(),
                store: store.clone(),
                committer: worker::committer::GroupCommitter::start(store.clone()),
                bus: bus.clone(),
                plugins,
                metrics: metrics.clone(),
                ready: readiness.clone(),
                options: WorkerOptions {
                    batch: args.batch.max(1),
                    lease_ttl,
                    ..WorkerOptions::default()
                },
                channels: ChannelDirectory::default(),
                webhooks: crate::actions::webhook::WebhookSender::new()
                    .map_err(|e| anyhow::anyhow!(e))?,
            });
            shutdown.spawn(worker::run(shared, args.partitions, stop.clone()))
        }
        Role::Ingest => {
            serve_ops(args.ops, role, ops).await?;
            let creds = twitch_credentials()?;
            let token_key = token_key()?;
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .build()
                .context("HTTP client")?;
            let (publisher, published) = Publisher::start(bus.clone(), metrics.clone());
            let (recovered, recovered_done) = Publisher::start(bus.clone(), metrics.clone());
            let shared = Arc::new(IngestShared {
                node: holder.clone(),
                app: Arc::new(twitch_app::TwitchApp::new(http, creds)),
                store: store.clone(),
                bus: bus.clone(),
                publisher,
                recovered,
                metrics: metrics.clone(),
                ready: readiness.clone(),
                eventsub_url: std::env::var("TWITCH_EVENTSUB_URL")
                    .unwrap_or_else(|_| "wss://eventsub.wss.twitch.tv/ws".to_owned()),
                token_key,
                shard_disabled: tokio::sync::Notify::new(),
                options: IngestOptions {
                    shards_per_node: args.shards_per_node.max(1),
                    lease_ttl,
                    poll_every: Duration::from_secs(args.poll_secs.max(1)),
                    lists_every: Duration::from_secs(args.roles_poll_secs.max(1)),
                    ..IngestOptions::default()
                },
            });
            let stop = stop.clone();
            shutdown.spawn(async move {
                if let Err(why) = ingest::run(shared.clone(), stop).await {
                    tracing::error!("ingest stopped: {why}");
                }
                // The last publishes are acknowledged before the node exits.
                drop(shared);
                let _ = published.await;
                let _ = recovered_done.await;
            })
        }
        Role::Edge => {
            let state = EdgeState {
                store: store.clone(),
                bus: bus.clone(),
                alerts: ChannelHub::default(),
                live: ChannelHub::default(),
                metrics: metrics.clone(),
                operator_token: std::env::var("STAGEHAND_OPERATOR_TOKEN")
                    .ok()
                    .filter(|t| !t.trim().is_empty())
                    .map(|t| Arc::from(t.trim())),
                token_key: token_key()?,
                stop: stop.clone(),
            };
            let relay = {
                let state = state.clone();
                tokio::spawn(async move {
                    if let Err(e) = edge::relay(state).await {
                        tracing::error!("alert relay stopped: {e}");
                    }
                })
            };
            let app = edge::router(state).merge(ops::router(ops));
            let listener = tokio::net::TcpListener::bind(args.listen)
                .await
                .with_context(|| format!("binding {}", args.listen))?;
            tracing::info!(addr = %listener.local_addr()?, "edge listening");
            let stop = stop.clone();
            shutdown.spawn(async move {
                let served = axum::serve(listener, app)
                    .with_graceful_shutdown(async move { stop.cancelled().await })
                    .await;
                if let Err(e) = served {
                    tracing::error!("edge server stopped: {e}");
                }
                relay.abort();
            })
        }
    };
    if role == Role::Edge {
        readiness.set("serving", Ok(()));
    }

    stop.cancelled().await;
    let drained = shutdown
        .wait_drained(Duration::from_secs(args.drain_secs))
        .await;
    let _ = bus.flush().await;
    drop(main);
    tracing::info!(result = ?drained, "stopped");
    Ok(drained.exit_code())
}

/// Serves /healthz, /readyz and /metrics for ingest and worker nodes.
async fn serve_ops(addr: Option<SocketAddr>, role: Role, ops: Ops) -> Result<()> {
    let addr = match addr {
        Some(a) => a,
        None => role.default_ops().parse().context("default ops address")?,
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the operations endpoint {addr}"))?;
    tracing::info!(addr = %listener.local_addr()?, "operations endpoint listening");
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, ops::router(ops)).await {
            tracing::error!("operations endpoint stopped: {e}");
        }
    });
    Ok(())
}

/// PostgreSQL for a cluster; SQLite to try the roles on one machine.
pub async fn connect_store(url: &str, pool: usize) -> Result<Arc<dyn ClusterStore>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = PostgresStore::connect(url, pool.max(2))
            .await
            .context("connecting to PostgreSQL")?;
        Ok(Arc::new(store))
    } else if let Some(path) = url.strip_prefix("sqlite:") {
        let store = SqliteStore::open(std::path::Path::new(path)).context("opening SQLite")?;
        Ok(Arc::new(store))
    } else {
        bail!("--database must be postgres://… or sqlite:PATH")
    }
}

fn twitch_credentials() -> Result<twitch_app::AppCredentials> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let client_id =
        var("TWITCH_CLIENT_ID").context("TWITCH_CLIENT_ID is required for ingest nodes")?;
    let client_secret = var("TWITCH_CLIENT_SECRET")
        .context("TWITCH_CLIENT_SECRET is required for ingest nodes (app access token)")?;
    Ok(twitch_app::AppCredentials {
        client_id,
        client_secret,
        auth_url: var("TWITCH_AUTH_URL")
            .unwrap_or_else(|| "https://id.twitch.tv/oauth2".to_owned()),
        api_url: var("TWITCH_API_URL").unwrap_or_else(|| "https://api.twitch.tv/helix".to_owned()),
    })
}

/// The token sealing key, if configured (a malformed one is an error, not
/// silently ignored).
fn token_key() -> Result<Option<Arc<TokenKey>>> {
    match std::env::var("STAGEHAND_TOKEN_KEY") {
        Ok(text) if !text.trim().is_empty() => Ok(Some(Arc::new(
            TokenKey::from_base64(text.trim()).context("STAGEHAND_TOKEN_KEY")?,
        ))),
        _ => Ok(None),
    }
}

fn default_node_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| {
            h.trim()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect::<String>()
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node".to_owned());
    let suffix: u32 = rand::random();
    format!("{host}-{}-{:06x}", std::process::id(), suffix & 0xff_ffff)
}
