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

mod cache;
mod coherence;
mod entities;
mod error;
mod http;
pub mod limits;
mod lru;
mod middleware;
mod registry;
mod routes;
mod server;
pub mod storage;
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
}

/// A built, bound registry server.
pub struct Application {
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
    registry: Arc<Registry>,
    storage: storage::SqlStorage,
    /// Follows other instances' deletes (see `coherence`); stopped with the application.
    follower: AbortOnDrop,
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
        Ok(Application {
            listener,
            addr,
            registry,
            storage,
            follower,
        })
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
        let limits = self.registry.settings().limits.clone();
        let result = server::serve(self.listener, app, &limits, shutdown)
            .await
            .map_err(StartError::Serve);
        drop(self.follower);
        self.storage.close().await;
        result
    }
}
