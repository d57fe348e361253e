//! The connection loop: HTTP/1.1 over hyper with a header read timeout, so a client that
//! sends half its headers (slowloris) or keeps an idle connection open is disconnected after
//! `header_read_timeout`; graceful shutdown finishes the requests in flight.
//!
//! axum's `serve` offers no timeouts, hence this loop. It serves any axum [`Listener`] (plain TCP,
//! or TLS through [`crate::tls::TlsListener`]) and gives each request the connection's
//! [`RemoteAddr`] as `ConnectInfo`, which authentication and the audit log read.
//! Everything about a request (body timeout,
//! request timeout, concurrency limit, panics) is handled by the router's middleware in
//! [`crate::middleware`].

use std::future::Future;
use std::pin::pin;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::serve::Listener;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
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
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
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
        let service =
            TowerToHyperService::new(app.clone().map_request(move |req: Request<Incoming>| {
                let mut req = req.map(Body::new);
                req.extensions_mut().insert(info.clone());
                req
            }));
        let builder = builder.clone();
        let mut close_rx = close_rx.clone();
        connections.spawn(async move {
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            let mut conn = pin!(conn);
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
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
