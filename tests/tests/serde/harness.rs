//! A registry on a loopback port over a fresh SQLite file or PostgreSQL database, a client for
//! it, and a bundled broker in a temp dir.

use std::time::Duration;

use strata_registry::{Application, ServerConfig};
use strata_serde::{RegistryClient, RegistryConfig};
use tokio::sync::oneshot;

pub struct Registry {
    pub url: String,
    shutdown: Option<oneshot::Sender<()>>,
    _dir: Option<tempfile::TempDir>,
}

/// Runs each listed test, an `async fn NAME(registry: Registry)` of the invoking module, once
/// against a registry on SQLite (`sqlite::NAME`) and once on PostgreSQL (`postgres::NAME`, a
/// fresh database on the throwaway server `strata_e2e::postgres` starts).
#[macro_export]
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::harness::Registry::start().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::harness::Registry::start_postgres().await).await;
                }
            )*
        }
    };
}

impl Registry {
    /// A registry over a fresh SQLite file.
    pub async fn start() -> Registry {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/r.db", dir.path().display());
        Self::start_on(url, Some(dir)).await
    }

    /// A registry over a fresh database of the throwaway PostgreSQL server.
    pub async fn start_postgres() -> Registry {
        let url = tokio::task::spawn_blocking(|| {
            strata_e2e::postgres::TestPostgres::get().fresh_database_url()
        })
        .await
        .expect("PostgreSQL starts");
        Self::start_on(url, None).await
    }

    async fn start_on(database_url: String, dir: Option<tempfile::TempDir>) -> Registry {
        let app = Application::build(ServerConfig {
            listen: "127.0.0.1:0".into(),
            database_url,
            settings: Default::default(),
        })
        .await
        .expect("registry starts");
        let url = format!("http://{}", app.local_addr());
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = app
                .run_until(async {
                    let _ = rx.await;
                })
                .await;
        });
        Registry {
            url,
            shutdown: Some(tx),
            _dir: dir,
        }
    }

    pub fn client(&self) -> RegistryClient {
        let mut config = RegistryConfig::new(&self.url);
        config.request_timeout = Duration::from_secs(10);
        RegistryClient::new(config).expect("client")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub struct TestBroker {
    pub broker: strata_broker::Broker,
    _dir: tempfile::TempDir,
}

impl TestBroker {
    pub fn new(topics: &[&str]) -> TestBroker {
        let dir = tempfile::tempdir().expect("temp dir");
        let broker = strata_broker::Broker::open_or_create(dir.path()).expect("broker opens");
        for t in topics {
            broker
                .create_topic(t, 1, strata_broker::TopicConfig::default())
                .expect("topic created");
        }
        TestBroker { broker, _dir: dir }
    }

    /// The end offset of partition 0 of `topic`.
    pub fn end_offset(&self, topic: &str) -> i64 {
        self.broker.offsets(topic, 0).expect("offsets").1
    }
}
