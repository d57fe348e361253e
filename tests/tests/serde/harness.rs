//! A registry on a loopback port over a fresh SQLite file or PostgreSQL database, a client for
//! it, its REST API as another client would call it (registering versions with metadata,
//! reading versions, subjects and references back), a counting TCP relay in front of it (to
//! see which requests a client makes), and a bundled broker in a temp dir; and the test data
//! the format files share.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use strata_registry::{Application, ServerConfig};
use strata_schema::{Dependency, SchemaType};
use strata_serde::{RegistryClient, RegistryConfig, SerializerConfig};
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

    /// The JSON answer to `GET path` (percent-encoded: `/subjects/common%2Fmoney.proto/versions`).
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        reqwest::get(format!("{}{path}", self.url))
            .await
            .expect("the registry answers")
            .json()
            .await
            .expect("a JSON answer")
    }

    /// The latest version of `subject` (percent-encoded), as the REST API shows it.
    pub async fn latest(&self, subject: &str) -> serde_json::Value {
        self.get_json(&format!("/subjects/{subject}/versions/latest"))
            .await
    }

    /// The registry's subjects, sorted.
    pub async fn subjects(&self) -> Vec<String> {
        let answer = self.get_json("/subjects").await;
        let mut subjects: Vec<String> =
            serde_json::from_value(answer.clone()).unwrap_or_else(|e| panic!("{e}: {answer}"));
        subjects.sort();
        subjects
    }

    /// Register a version under `subject` (percent-encoded) through the REST API, as another
    /// client would: `body` is the request (`schema`, `schemaType`, `references`, `metadata`).
    /// The JSON answer.
    pub async fn post_version(&self, subject: &str, body: serde_json::Value) -> serde_json::Value {
        reqwest::Client::new()
            .post(format!("{}/subjects/{subject}/versions", self.url))
            .json(&body)
            .send()
            .await
            .expect("the registry answers")
            .json()
            .await
            .expect("a JSON answer")
    }

    /// Register `schema` of `schema_type` under `subject` with these metadata properties (a
    /// version `use_latest_with_metadata` can pick); its id.
    pub async fn register_with_metadata(
        &self,
        subject: &str,
        schema_type: SchemaType,
        schema: &str,
        properties: &[(&str, &str)],
    ) -> i32 {
        let properties: serde_json::Map<String, serde_json::Value> = properties
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
            .collect();
        let body = self
            .post_version(
                subject,
                serde_json::json!({
                    "schemaType": schema_type.as_str(),
                    "schema": schema,
                    "metadata": {"properties": properties},
                }),
            )
            .await;
        body["id"].as_i64().unwrap_or_else(|| panic!("{body}")) as i32
    }

    /// Assert that the latest version of `subject` (percent-encoded) references exactly
    /// `expected`, `(name, subject)` pairs, each at version 1, in this order.
    pub async fn assert_references(&self, subject: &str, expected: &[(&str, &str)]) {
        let version = self.latest(subject).await;
        let expected: Vec<serde_json::Value> = expected
            .iter()
            .map(|(name, subject)| {
                serde_json::json!({"name": name, "subject": subject, "version": 1})
            })
            .collect();
        assert_eq!(
            version["references"],
            serde_json::Value::from(expected),
            "{subject}: {version}"
        );
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
    down: Arc<std::sync::atomic::AtomicBool>,
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
        let down = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let is_down = down.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if is_down.load(std::sync::atomic::Ordering::SeqCst) {
                    // An outage: the connection is closed before any answer.
                    drop(client);
                    continue;
                }
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
        CountingRelay {
            url,
            requests,
            down,
        }
    }

    /// Simulate a registry outage: while down, new connections are closed unanswered.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, std::sync::atomic::Ordering::SeqCst);
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

/// Serializer options writing with the latest version whose metadata holds all `properties`
/// (registering nothing, as `use_latest_with_metadata` requires).
pub fn use_latest_with_metadata(properties: &[(&str, &str)]) -> SerializerConfig {
    SerializerConfig {
        auto_register_schemas: false,
        use_latest_with_metadata: Some(
            properties
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
        ..SerializerConfig::default()
    }
}

/// A Protobuf file imported as `name`, registered under its import path as version 1, with
/// its own imports.
pub fn proto_dependency(name: &str, schema: &str, dependencies: Vec<Dependency>) -> Dependency {
    Dependency {
        name: name.into(),
        subject: name.into(),
        version: 1,
        schema_type: SchemaType::Protobuf,
        schema: schema.into(),
        dependencies,
    }
}

/// The value at `path` in a dynamic message: field names through nested messages, and list
/// indexes, dot-separated (`total.cents`, `lines.0.price.cents`).
pub fn proto_field(message: &prost_reflect::DynamicMessage, path: &str) -> prost_reflect::Value {
    use prost_reflect::{ReflectMessage, Value};
    let mut value = Value::Message(message.clone());
    for step in path.split('.') {
        value = match &value {
            Value::Message(m) => m
                .get_field_by_name(step)
                .unwrap_or_else(|| {
                    panic!(
                        "{path}: no field '{step}' in {}",
                        m.descriptor().full_name()
                    )
                })
                .into_owned(),
            Value::List(items) => step
                .parse::<usize>()
                .ok()
                .and_then(|i| items.get(i).cloned())
                .unwrap_or_else(|| panic!("{path}: no item '{step}' in {items:?}")),
            other => panic!("{path}: '{step}' is inside {other:?}, not a message or list"),
        };
    }
    value
}
