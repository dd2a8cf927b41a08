//! The HTTP server loop: accepts connections on the host's listener and
//! serves the router on each, with the limits a host reachable by any
//! program on the machine needs. A client must send its request headers
//! within [`HEADER_READ_TIMEOUT`] (a slow-headers client cannot hold a
//! connection open), at most so many connections are served at once
//! ([`MAX_CONNECTIONS`] by default; more wait in the listen backlog), Nagle is off (overlay alerts and
//! live updates are small messages), and each request knows its peer's
//! address (for the failed-login limit).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// How long a client has to send a request's headers.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once by default (overlay pages and the
/// dashboard's live feed each hold one); `STAGEHAND_MAX_CONNECTIONS`.
pub const MAX_CONNECTIONS: usize = 512;
/// How long open connections may take to finish at shutdown.
const DRAIN: Duration = Duration::from_secs(5);

/// Serves `app` on `listener` until `shutdown`; then stops accepting, asks
/// every connection to finish and waits (at most [`DRAIN`]) for them.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    max_connections: usize,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(max_connections));
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let builder = Arc::new(builder);
    loop {
        let slot = tokio::select! {
            _ = shutdown.cancelled() => break,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let (tcp, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: pause, go on.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot disable Nagle on a connection");
        }
        let service = app
            .clone()
            .map_request(move |mut request: axum::extract::Request<_>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            });
        let (builder, shutdown) = (builder.clone(), shutdown.clone());
        tokio::spawn(async move {
            let _slot = slot;
            serve_connection(&builder, tcp, service, shutdown).await;
        });
    }
    // Every slot back: every connection has finished.
    let all = max_connections as u32;
    if tokio::time::timeout(DRAIN, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("connections still open after {DRAIN:?}; closing them");
    }
    Ok(())
}

async fn serve_connection<S>(
    builder: &Builder<TokioExecutor>,
    tcp: tokio::net::TcpStream,
    service: S,
    shutdown: CancellationToken,
) where
    S: tower::Service<
            axum::extract::Request<hyper::body::Incoming>,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let connection = builder
        .serve_connection_with_upgrades(TokioIo::new(tcp), TowerToHyperService::new(service));
    tokio::pin!(connection);
    let mut finishing = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = shutdown.cancelled(), if !finishing => {
                connection.as_mut().graceful_shutdown();
                finishing = true;
            }
            _ = tokio::time::sleep(DRAIN), if finishing => return,
        }
    }
}

/// The peer of a request served by [`serve`].
pub fn peer(request: &axum::extract::Request) -> Option<SocketAddr> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr)
}
