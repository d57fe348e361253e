//! A registry on a loopback port over a fresh SQLite file or PostgreSQL database, a client for
//! it, a counting TCP relay in front of it (to see which requests a client makes), and a
//! bundled broker in a temp dir.

use std::sync::{Arc, Mutex};
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

/// A TCP relay to a registry that keeps the request line (`GET /path HTTP/1.1`) of every
/// HTTP request passing through it, so tests can count what a client asked for. It relays
/// bytes unchanged: the registry behind it is the real one.
pub struct CountingRelay {
    pub url: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl CountingRelay {
    pub async fn start(registry: &Registry) -> CountingRelay {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let upstream = registry
            .url
            .strip_prefix("http://")
            .expect("an http:// registry")
            .to_string();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("relay binds");
        let url = format!("http://{}", listener.local_addr().expect("relay address"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else {
                    continue;
                };
                let seen = seen.clone();
                tokio::spawn(async move {
                    let (mut client_read, mut client_write) = client.into_split();
                    let (mut server_read, mut server_write) = server.into_split();
                    tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
                    });
                    // Request lines are found in the client's bytes: a line ending in the
                    // HTTP version, from its method on (a request after a JSON body, which
                    // ends without a line break, shares a line with that body).
                    let mut pending = Vec::new();
                    let mut buf = [0u8; 8192];
                    loop {
                        let n = match client_read.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        pending.extend_from_slice(&buf[..n]);
                        while let Some(end) = pending.windows(2).position(|w| w == b"\r\n") {
                            let line = String::from_utf8_lossy(&pending[..end]).into_owned();
                            pending.drain(..end + 2);
                            let start = ["GET /", "POST /", "PUT /", "DELETE /"]
                                .iter()
                                .filter_map(|m| line.rfind(m))
                                .max();
                            if let (Some(start), true) = (start, line.ends_with(" HTTP/1.1")) {
                                seen.lock()
                                    .expect("relay log")
                                    .push(line[start..].to_string());
                            }
                        }
                        if server_write.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        CountingRelay { url, requests }
    }

    /// A client of the registry through this relay.
    pub fn client(&self) -> RegistryClient {
        RegistryClient::new(RegistryConfig::new(&self.url)).expect("client")
    }

    /// How many requests so far had exactly this request line, e.g. `GET /schemas/ids/1`.
    pub fn count(&self, method_and_path: &str) -> usize {
        let line = format!("{method_and_path} HTTP/1.1");
        self.requests
            .lock()
            .expect("relay log")
            .iter()
            .filter(|l| **l == line)
            .count()
    }

    /// Every request line so far (for assert messages).
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("relay log").clone()
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
