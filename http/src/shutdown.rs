//! Serving a router on a socket with connection budgets, and graceful shutdown: the signal every
//! service stops on, and serving until told to stop while answering the requests in flight
//! (within a grace period).
//!
//! A client that opens connections and sends nothing, sends its headers a byte at a time, or
//! stops reading its answers costs a task and a socket each: [`serve_with`] caps how many
//! connections are served at once (more wait in the kernel's accept queue) and how many one
//! client network holds, bounds the request head it reads, and closes a connection whose request
//! headers do not arrive in time or whose peer stops reading. Each request carries the peer's address as an
//! [`axum::extract::ConnectInfo`] extension, for per-address rate limits.

use crate::counts::count_down;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Semaphore;
use tokio::time::Sleep;
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

/// How [`serve_with`] bounds the connections it serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServeLimits {
    /// Connections served at once; further ones wait in the kernel's accept queue until one
    /// closes.
    pub max_connections: usize,
    /// Connections served at once for one client network (an IPv4 address, an IPv6 /64); a
    /// further one is closed as soon as it is accepted.
    pub per_address: usize,
    /// Longest wait for a request's complete headers (the first request's, and each next one's
    /// on a kept-alive connection); then the connection is closed.
    pub header_timeout: Duration,
    /// Longest time a connection's writes may make no progress (a peer that stops reading its
    /// answers); then the connection is closed.
    pub write_timeout: Duration,
    /// Largest request head (request line and headers) read, in bytes; a longer one is answered
    /// `431`.
    pub max_head: usize,
    /// Longest wait, once told to stop, for the requests in flight; then [`serve_with`]
    /// returns without them (their tasks end with the runtime).
    pub shutdown_grace: Duration,
}

impl Default for ServeLimits {
    /// 1,024 connections, 128 for one network, 10 s for a request's headers, 30 s for a stalled
    /// write, 64 KiB of request head and two minutes to finish the requests in flight (longer
    /// than any service's request timeout).
    fn default() -> Self {
        Self {
            max_connections: 1024,
            per_address: 128,
            header_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
            max_head: 64 * 1024,
            shutdown_grace: Duration::from_secs(120),
        }
    }
}

/// Serves `app` on `listener` until `stop` resolves, with the default [`ServeLimits`]: see
/// [`serve_with`].
pub async fn serve_until(
    listener: std::net::TcpListener,
    app: Router,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, app, stop, ServeLimits::default()).await
}

/// Serves `app` on `listener` until `stop` resolves; then takes no new connection, answers every
/// request in flight (waiting at most `limits.shutdown_grace` for them) and returns. Connections are bounded
/// by `limits`, in all and per client network; a connection is closed when a request's headers
/// do not arrive in time or when its peer stops reading its answers. Must run inside a tokio
/// runtime.
pub async fn serve_with(
    listener: std::net::TcpListener,
    app: Router,
    stop: impl Future<Output = ()> + Send + 'static,
    limits: ServeLimits,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let networks = Arc::new(Mutex::new(HashMap::new()));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_header_size(limits.max_head);
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
        let Some(held) = NetworkSlot::take(&networks, network(peer.ip()), limits.per_address)
        else {
            tracing::debug!(%peer, "connection closed: its network has as many as it may");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = app
            .clone()
            .map_request(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req.map(axum::body::Body::new)
            });
        let stream = WriteDeadline::new(stream, limits.write_timeout);
        let conn = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::trace!(%peer, error = %e, "connection ended with an error");
            }
            drop((held, slot));
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after the shutdown grace period: dropped");
    }
    Ok(())
}

/// One connection counted against its client network; given back when dropped.
struct NetworkSlot {
    networks: Arc<Mutex<HashMap<IpAddr, usize>>>,
    network: IpAddr,
}

impl NetworkSlot {
    /// Counts one more connection of `network`, if it has fewer than `most`. The map holds only
    /// networks with a connection open, so it is bounded by the connection limit.
    fn take(
        networks: &Arc<Mutex<HashMap<IpAddr, usize>>>,
        network: IpAddr,
        most: usize,
    ) -> Option<Self> {
        let mut open = networks.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(network).or_insert(0);
        if *n >= most.max(1) {
            return None;
        }
        *n += 1;
        Some(Self {
            networks: networks.clone(),
            network,
        })
    }
}

impl Drop for NetworkSlot {
    fn drop(&mut self) {
        let mut open = self.networks.lock().unwrap_or_else(|e| e.into_inner());
        count_down(&mut open, &self.network);
    }
}

/// A connection's socket whose writes fail once they have made no progress for a while: a peer
/// that stops reading cannot hold its connection (and the answer's buffers) open for ever.
struct WriteDeadline<S> {
    inner: S,
    timeout: Duration,
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<S> WriteDeadline<S> {
    fn new(inner: S, timeout: Duration) -> Self {
        Self {
            inner,
            timeout,
            stalled: None,
        }
    }

    /// `polled` with the deadline applied: progress clears it, a first stall starts it.
    fn watch<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if polled.is_ready() {
            self.stalled = None;
            return polled;
        }
        let timeout = self.timeout;
        let stalled = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match stalled.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the peer stopped reading",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteDeadline<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.watch(cx, polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.watch(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_flush(cx);
        this.watch(cx, polled)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.watch(cx, polled)
    }
}

/// The peer address of a request served by [`serve_until`], if it has one.
pub fn peer(req: &axum::extract::Request) -> Option<SocketAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
}

/// The client network of an address, by which connections are counted and admission charges:
/// an IPv4 address itself, an IPv6 address its /64 (one host usually holds a whole /64).
pub(crate) fn network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}
