//! The HTTP server loop: hyper's HTTP/1.1 connection builder with a timer, so
//! a connection that dribbles its headers (slowloris) is closed after
//! `server.header_read_timeout_seconds`, and graceful shutdown that lets
//! in-flight requests finish — until the caller says it is time to close the
//! connections that linger (a stalled client must not hold up shutdown).

use std::{net::SocketAddr, time::Duration};

use axum::{Router, extract::ConnectInfo};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
};
use tokio::{net::TcpListener, task::JoinSet};
use tokio_util::sync::CancellationToken;
use tower::Service as _;

/// Serves `router` on `listener` until `shutdown` is cancelled, then waits
/// for open connections to finish their current request, or until
/// `close_connections` is cancelled: then the remaining ones are dropped.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    header_read_timeout: Duration,
    shutdown: CancellationToken,
    close_connections: CancellationToken,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.cancelled() => break,
            // Reap finished connection tasks so the set stays small.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let (stream, peer) = match accepted {
            Ok((stream, peer)) => {
                // Small responses go out at once, not after a delayed ACK.
                if let Err(err) = stream.set_nodelay(true) {
                    tracing::debug!(error = %err, "could not set TCP_NODELAY");
                }
                (stream, peer)
            }
            Err(err) => {
                // Usually out of file descriptors: back off instead of spinning.
                tracing::warn!(error = %err, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let connection = http.serve_connection(TokioIo::new(stream), service(router.clone(), peer));
        let connection = graceful.watch(connection);
        connections.spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("HTTP server stopped: every connection finished"),
        () = close_connections.cancelled() => {
            tracing::warn!(open = connections.len(), "HTTP server stopped: closing connections that did not finish");
            connections.abort_all();
        }
    }
}

/// The router for one connection, with the peer's address available to
/// handlers as `ConnectInfo<SocketAddr>` (the quarantine records it).
fn service(
    router: Router,
    peer: SocketAddr,
) -> impl hyper::service::Service<
    hyper::Request<Incoming>,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future = impl Future<Output = Result<axum::response::Response, std::convert::Infallible>>
             + Send
             + 'static,
> + Clone {
    hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        // A Router is always ready; `call` needs no `poll_ready` first.
        router.clone().call(request)
    })
}
