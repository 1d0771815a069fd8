//! Serving a router on a socket with connection budgets, and graceful shutdown: the signal every
//! service stops on, and serving until told to stop while answering every request in flight.
//!
//! A client that opens connections and sends nothing, or sends its headers a byte at a time,
//! costs a task and a socket each: [`serve_until`] caps how many connections are served at once
//! (more wait in the kernel's accept queue) and closes a connection whose request headers do not
//! arrive in time. Each request carries the peer's address as an
//! [`axum::extract::ConnectInfo`] extension, for per-address rate limits.

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// Catches SIGINT and SIGTERM from this call on, so that neither ends the process any more, and
/// answers a future that resolves on the first of them (on platforms without Unix signals, on
/// Ctrl-C, caught from its first poll).
///
/// Call it inside a tokio runtime, before the service says in any way that it is ready (a line
/// on standard output, an answered request): a signal sent as soon as the service is ready must
/// shut it down gracefully, not kill it with the signal's default action.
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {},
                _ = terminate.recv() => {},
            }
        })
    }
    #[cfg(not(unix))]
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

/// Connections served at once; further ones wait in the kernel's accept queue until one closes.
pub const MAX_CONNECTIONS: usize = 1024;
/// Longest wait for a request's complete headers (the first request's, and each next one's on a
/// kept-alive connection); then the connection is closed.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` until `stop` resolves; then takes no new connection, answers every
/// request in flight and returns. At most [`MAX_CONNECTIONS`] connections are served at once, and
/// each gets [`HEADER_TIMEOUT`] for each request's headers. Must run inside a tokio runtime.
pub async fn serve_until(
    listener: std::net::TcpListener,
    app: Router,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    tokio::pin!(stop);
    loop {
        // `stop` is polled first: once it has resolved, no connection is taken.
        let slot = tokio::select! {
            biased;
            () = &mut stop => break,
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
        };
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let service = app
            .clone()
            .map_request(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req.map(axum::body::Body::new)
            });
        let conn = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::trace!(%peer, error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// The peer address of a request served by [`serve_until`], if it has one.
pub fn peer(req: &axum::extract::Request) -> Option<SocketAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
}
