//! strata-registry: the Confluent-compatible schema registry server.
//!
//! It knows HTTP (axum) and SQL (sqlx over SQLite and PostgreSQL) and asks strata-schema for
//! everything about schemas. [`Application::build`] opens the storage, runs migrations, binds
//! the listener and returns the bound address, so tests can bind port 0:
//!
//! ```no_run
//! # async fn run() -> Result<(), strata_registry::StartError> {
//! let app = strata_registry::Application::build(strata_registry::ServerConfig {
//!     listen: "127.0.0.1:0".into(),
//!     database_url: "sqlite://./strata-data/registry.db".into(),
//!     settings: Default::default(),
//! })
//! .await?;
//! println!("listening on {}", app.local_addr());
//! app.run_until(std::future::pending()).await?;
//! # Ok(()) }
//! ```

mod audit;
pub mod auth;
mod cache;
mod coherence;
mod entities;
mod error;
mod http;
pub mod limits;
mod lru;
pub mod metrics;
mod middleware;
mod openapi;
mod registry;
mod routes;
mod server;
pub mod storage;
pub mod tls;
mod types;
pub mod work;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

pub use error::{Error, Result};
pub use registry::{Registry, Settings};
pub use types::{Mode, Subject, VersionId};

/// What `strata serve` is configured with.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on, e.g. `0.0.0.0:8081` (port 0 picks a free one).
    pub listen: String,
    /// `sqlite://PATH` or `postgres://…`.
    pub database_url: String,
    /// Behaviour switches.
    pub settings: Settings,
}

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The storage could not be opened.
    #[error(transparent)]
    Storage(#[from] storage::StorageError),
    /// The listen address could not be bound.
    #[error("could not listen on {addr}: {source}. Is another process using the port? Choose another with --listen")]
    Bind {
        /// The address.
        addr: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("the server failed: {0}")]
    Serve(#[source] std::io::Error),
    /// The users file (`--auth-file`) could not be loaded.
    #[error(transparent)]
    Auth(#[from] auth::UsersFileError),
    /// The OIDC settings could not be used.
    #[error(transparent)]
    Oidc(#[from] auth::bearer::OidcError),
    /// Bearer tokens were asked for without a users file to take permissions from.
    #[error("bearer tokens (OIDC) need a users file (--auth-file) for their users' permissions")]
    OidcWithoutUsersFile,
    /// The TLS certificate or key (`--tls-cert`, `--tls-key`) could not be used.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
}

/// A built, bound registry server.
pub struct Application {
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
    registry: Arc<Registry>,
    storage: storage::SqlStorage,
    /// Follows other instances' deletes (see `coherence`); stopped with the application.
    follower: AbortOnDrop,
    auth: Option<Arc<auth::Authenticator>>,
    #[cfg(unix)]
    sighup: Option<tokio::signal::unix::Signal>,
    bearer: Option<Arc<auth::bearer::BearerValidator>>,
    tls: Option<(Arc<tls::CertificateStore>, Arc<rustls::ServerConfig>)>,
    #[cfg(unix)]
    tls_sighup: Option<tokio::signal::unix::Signal>,
    metrics: Arc<metrics::Metrics>,
    /// `--metrics-listen`: `/metrics` served there instead of on the API's address.
    metrics_listener: Option<(tokio::net::TcpListener, SocketAddr)>,
}

/// A background task that ends when its owner is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Open the storage (creating and migrating it) and bind the listener.
    pub async fn build(config: ServerConfig) -> Result<Self, StartError> {
        let storage = storage::open(&config.database_url).await?;
        let listener = tokio::net::TcpListener::bind(&config.listen)
            .await
            .map_err(|source| StartError::Bind {
                addr: config.listen.clone(),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: config.listen.clone(),
            source,
        })?;
        let registry = Arc::new(Registry::new(Arc::new(storage.clone()), config.settings));
        let follower = AbortOnDrop(tokio::spawn(coherence::follow(
            registry.clone(),
            storage.clone(),
        )));
        let metrics = metrics::Metrics::new(registry.clone(), storage.clone());
        Ok(Application {
            listener,
            addr,
            registry,
            storage,
            follower,
            auth: None,
            #[cfg(unix)]
            sighup: None,
            bearer: None,
            tls: None,
            #[cfg(unix)]
            tls_sighup: None,
            metrics,
            metrics_listener: None,
        })
    }

    /// Serve `GET /metrics` on `addr` (plain HTTP, no credentials) instead of on the API's
    /// address.
    pub async fn with_metrics_listen(mut self, addr: &str) -> Result<Self, StartError> {
        let bind_error = |source| StartError::Bind {
            addr: addr.to_string(),
            source,
        };
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(bind_error)?;
        let bound = listener.local_addr().map_err(bind_error)?;
        self.metrics_listener = Some((listener, bound));
        Ok(self)
    }

    /// Where `GET /metrics` is served when not on the API's address (`--metrics-listen`).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener.as_ref().map(|(_, addr)| *addr)
    }

    /// Also accept `Authorization: Bearer <JWT>` checked against `config` (after
    /// [`Application::with_auth_file`], whose permissions apply to the token's user). A JWKS
    /// URL is fetched now, and kept fresh while the server runs.
    pub async fn with_oidc(mut self, config: auth::bearer::OidcConfig) -> Result<Self, StartError> {
        if self.auth.is_none() {
            return Err(StartError::OidcWithoutUsersFile);
        }
        self.bearer = Some(Arc::new(auth::bearer::BearerValidator::load(config).await?));
        Ok(self)
    }

    /// Serve HTTPS with the certificate chain and private key of these PEM files (re-read on
    /// SIGHUP; a pair that does not load then keeps the previous one and logs why).
    /// With `client_ca`, clients must present a certificate issued by that CA (mTLS); with a
    /// users file, its subject CN names the user when the request carries no credentials.
    pub fn with_tls(
        mut self,
        cert: &std::path::Path,
        key: &std::path::Path,
        client_ca: Option<&std::path::Path>,
    ) -> Result<Self, StartError> {
        let store = Arc::new(tls::CertificateStore::load(cert, key)?);
        let config = store.server_config(client_ca)?;
        #[cfg(unix)]
        {
            self.tls_sighup =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        }
        self.tls = Some((store, config));
        Ok(self)
    }

    /// Require credentials from the users file at `path` (Karapace's `registry_authfile`
    /// format). The file is re-read on SIGHUP and when it changes; a file that does not load
    /// then keeps the previous one in force and logs why.
    pub fn with_auth_file(mut self, path: &std::path::Path) -> Result<Self, StartError> {
        let authenticator = auth::Authenticator::load(path)?;
        #[cfg(unix)]
        {
            // Registered now, so a SIGHUP from here on reloads rather than ends the process.
            self.sighup =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        }
        self.auth = Some(Arc::new(authenticator));
        Ok(self)
    }

    /// The users file in force, when credentials are required.
    pub fn authenticator(&self) -> Option<Arc<auth::Authenticator>> {
        self.auth.clone()
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The registry behind the server.
    pub fn registry(&self) -> Arc<Registry> {
        self.registry.clone()
    }

    /// Serve until `shutdown` completes, then finish in-flight requests and close the storage.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        let app = routes::router(self.registry.clone());
        let mut reloader = None;
        let jwks_refresher = self
            .bearer
            .clone()
            .map(|bearer| AbortOnDrop(tokio::spawn(bearer.keep_fresh())));
        let mut authorization = None;
        match &self.auth {
            Some(authenticator) => {
                authorization = Some(auth::middleware::AuthState {
                    authenticator: authenticator.clone(),
                    registry: self.registry.clone(),
                    bearer: self.bearer.clone(),
                });
                #[cfg(unix)]
                let sighup = self.sighup;
                #[cfg(not(unix))]
                let sighup = None;
                reloader = Some(tokio::spawn(auth::reload::watch(
                    authenticator.clone(),
                    sighup,
                )));
            }
            None => {
                if let Some(warning) = unauthenticated_exposure(self.addr) {
                    tracing::warn!("{warning}");
                }
            }
        }
        let app = audit::layer(app, authorization);
        let limits = self.registry.settings().limits.clone();
        let (app, metrics_server) = match self.metrics_listener {
            None => (
                metrics::layer(
                    app.merge(metrics::router(self.metrics.clone())),
                    self.metrics.clone(),
                ),
                None,
            ),
            Some((listener, _)) => {
                let scrapes =
                    metrics::layer(metrics::router(self.metrics.clone()), self.metrics.clone());
                let limits = limits.clone();
                let server = tokio::spawn(async move {
                    let serving = server::serve(
                        listener,
                        scrapes,
                        &limits,
                        tls::tcp_remote,
                        std::future::pending(),
                    );
                    if let Err(e) = serving.await {
                        tracing::error!(error = %e, "the metrics listener failed");
                    }
                });
                (
                    metrics::layer(app, self.metrics.clone()),
                    Some(AbortOnDrop(server)),
                )
            }
        };
        let result = match self.tls {
            Some((store, config)) => {
                #[cfg(unix)]
                let cert_reloader = self.tls_sighup.map(|mut signal| {
                    tokio::spawn(async move {
                        while signal.recv().await.is_some() {
                            store.reload_and_log();
                        }
                    })
                });
                #[cfg(not(unix))]
                let cert_reloader: Option<tokio::task::JoinHandle<()>> = {
                    let _ = store;
                    None
                };
                let listener =
                    tls::TlsListener::new(self.listener, config).map_err(StartError::Serve)?;
                let result = server::serve(listener, app, &limits, tls::tls_remote, shutdown)
                    .await
                    .map_err(StartError::Serve);
                if let Some(task) = cert_reloader {
                    task.abort();
                }
                result
            }
            None => server::serve(self.listener, app, &limits, tls::tcp_remote, shutdown)
                .await
                .map_err(StartError::Serve),
        };
        drop(metrics_server);
        drop(jwks_refresher);
        drop(self.follower);
        if let Some(task) = reloader {
            task.abort();
        }
        self.storage.close().await;
        result
    }
}

/// The warning logged at start when the registry listens beyond loopback without a users file.
pub fn unauthenticated_exposure(addr: SocketAddr) -> Option<String> {
    (!addr.ip().is_loopback()).then(|| {
        format!(
            "listening on {addr} without authentication: anyone who reaches this port can change \
             or delete every schema. Give a users file with --auth-file (STRATA_AUTH_FILE), or \
             listen on 127.0.0.1"
        )
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_non_loopback_addresses_without_auth_are_warned_about() {
        let warn = |a: &str| super::unauthenticated_exposure(a.parse().unwrap());
        assert!(warn("0.0.0.0:8081").is_some_and(|w| w.contains("--auth-file")));
        assert!(warn("10.1.2.3:8081").is_some());
        assert!(warn("[::]:8081").is_some());
        assert!(warn("127.0.0.1:8081").is_none());
        assert!(warn("[::1]:8081").is_none());
    }
}
