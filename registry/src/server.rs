//! The connection loop: HTTP/1.1 over hyper with two connection timeouts, and graceful
//! shutdown that finishes the requests in flight.
//!
//! - `header_read_timeout`: from the first byte of a request to the end of its headers; a
//!   client that sends half its headers (slowloris) is disconnected after it.
//! - `idle_timeout`: a connection with no request in flight that has neither read nor written a
//!   byte for this long (a keep-alive connection between requests, or one that never sent
//!   anything) is closed.
//!
//! hyper's own header read timeout also runs while a keep-alive connection waits, so it cannot
//! tell the two apart: both are timed here, from what the connection's I/O and its requests
//! report ([`Activity`]), by one timer per connection.
//!
//! axum's `serve` offers no timeouts, hence this loop. It serves any axum [`Listener`] (plain TCP,
//! or TLS through [`crate::tls::TlsListener`]) and gives each request the connection's
//! [`RemoteAddr`] as `ConnectInfo`, which authentication and the audit log read.
//! Everything about a request (body timeout,
//! request timeout, concurrency limit, panics) is handled by the router's middleware in
//! [`crate::middleware`].

use std::future::Future;
use std::io;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::serve::Listener;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tower::ServiceExt;

use crate::limits::Limits;
use crate::tls::RemoteAddr;

/// Serve `app` on `listener` until `shutdown` completes, then stop accepting, let every open
/// connection finish its current request, and return. `remote` tells who a new connection is
/// (and may tune its socket).
pub async fn serve<L: Listener>(
    mut listener: L,
    app: Router,
    limits: &Limits,
    remote: impl Fn(&L::Io, L::Addr) -> RemoteAddr,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut builder = hyper::server::conn::http1::Builder::new();
    // Both connection timeouts are timed by `expiry` (see the module docs).
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        .keep_alive(true);
    let timeouts = Timeouts {
        header_read: limits.header_read_timeout,
        idle: limits.idle_timeout,
    };
    let (close_tx, close_rx) = tokio::sync::watch::channel(());
    let mut connections = tokio::task::JoinSet::new();
    let mut shutdown = pin!(shutdown);
    loop {
        // axum's listeners retry failed accepts (out of descriptors and the like) themselves,
        // pausing between tries instead of spinning.
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        // Finished connection tasks are reaped as we go so the set stays small.
        while connections.try_join_next().is_some() {}
        let info = ConnectInfo(remote(&stream, peer));
        let activity = Arc::new(Activity::new());
        let (on_request, on_response) = (activity.clone(), activity.clone());
        let service = TowerToHyperService::new(
            app.clone()
                .map_request(move |req: Request<Incoming>| {
                    on_request.request_started();
                    let mut req = req.map(Body::new);
                    req.extensions_mut().insert(info.clone());
                    req
                })
                .map_response(move |res| {
                    on_response.request_ended();
                    res
                }),
        );
        let builder = builder.clone();
        let mut close_rx = close_rx.clone();
        let io = Watched {
            inner: stream,
            activity: activity.clone(),
        };
        connections.spawn(async move {
            let conn = builder.serve_connection(TokioIo::new(io), service);
            let mut conn = pin!(conn);
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                }
                why = expiry(&activity, timeouts) => {
                    // Dropping the connection closes it: nothing is in flight (idle), or the
                    // request never finished its headers.
                    tracing::debug!(timeout = why, "connection closed");
                }
                _ = close_rx.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
    drop(listener);
    let _ = close_tx.send(());
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// The two connection timeouts.
#[derive(Debug, Clone, Copy)]
struct Timeouts {
    header_read: Duration,
    idle: Duration,
}

/// What one connection has been doing, as its I/O ([`Watched`]) and its requests report it.
/// Times are milliseconds since `start`.
#[derive(Debug)]
struct Activity {
    start: Instant,
    /// The last byte read or written.
    last_io_ms: AtomicU64,
    /// When the first byte of a request not yet handed to the router was read, plus one (0:
    /// none is being read).
    head_started_ms: AtomicU64,
    /// Requests handed to the router whose response has not been produced.
    in_flight: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        Activity {
            start: Instant::now(),
            last_io_ms: AtomicU64::new(0),
            head_started_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Bytes were read: between requests, they begin one (its headers are now being timed).
    fn read(&self) {
        let now = self.now_ms();
        self.last_io_ms.store(now, Ordering::Relaxed);
        if self.in_flight.load(Ordering::Relaxed) == 0 {
            let _ = self.head_started_ms.compare_exchange(
                0,
                now + 1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
    }

    fn wrote(&self) {
        self.last_io_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    /// hyper parsed a request's headers and hands it to the router.
    fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.head_started_ms.store(0, Ordering::Relaxed);
    }

    /// The router produced the response (hyper writes it next, which counts as I/O).
    fn request_ended(&self) {
        self.last_io_ms.store(self.now_ms(), Ordering::Relaxed);
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Completes when one of the connection's timeouts has run out, naming it.
async fn expiry(activity: &Activity, timeouts: Timeouts) -> &'static str {
    // While a request runs, neither timeout applies (its body and run time have their own);
    // its end is noticed at the next look, at most this long after.
    let recheck = timeouts
        .idle
        .min(timeouts.header_read)
        .clamp(Duration::from_millis(10), Duration::from_secs(1));
    loop {
        let now = activity.now_ms();
        let head = activity.head_started_ms.load(Ordering::Relaxed);
        let deadline = if head != 0 {
            Some((head - 1, timeouts.header_read, "header_read_timeout"))
        } else if activity.in_flight.load(Ordering::Relaxed) == 0 {
            let last = activity.last_io_ms.load(Ordering::Relaxed);
            Some((last, timeouts.idle, "idle_timeout"))
        } else {
            None
        };
        let wait = match deadline {
            Some((since, limit, name)) => {
                let limit_ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX);
                let due = since.saturating_add(limit_ms);
                if now >= due {
                    return name;
                }
                Duration::from_millis(due - now).min(recheck)
            }
            None => recheck,
        };
        tokio::time::sleep(wait).await;
    }
}

/// A connection's I/O, reporting to its [`Activity`] when bytes move.
struct Watched<I> {
    inner: I,
    activity: Arc<Activity>,
}

impl<I: AsyncRead + Unpin> AsyncRead for Watched<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read();
        }
        polled
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Watched<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
