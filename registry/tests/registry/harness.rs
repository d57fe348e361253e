//! A registry server on a loopback port, over a fresh SQLite file or PostgreSQL database, and
//! a small JSON client for it.

use reqwest::Method;
use serde_json::Value;
use strata_registry::{Application, ServerConfig, Settings};
use tokio::sync::oneshot;

pub struct TestServer {
    pub base: String,
    pub database_url: String,
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _dir: Option<tempfile::TempDir>,
}

impl TestServer {
    pub async fn sqlite() -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/registry.db", dir.path().display());
        Self::start(url, Some(dir), Settings::default()).await
    }

    pub async fn postgres() -> TestServer {
        let url = strata_e2e::postgres::TestPostgres::get().fresh_database_url();
        Self::start(url, None, Settings::default()).await
    }

    pub async fn start(
        database_url: String,
        dir: Option<tempfile::TempDir>,
        settings: Settings,
    ) -> TestServer {
        // Tracing is silent in tests unless TEST_LOG=1.
        if std::env::var("TEST_LOG").is_ok_and(|v| v == "1") {
            let _ = tracing_subscriber::fmt().with_test_writer().try_init();
        }
        let app = Application::build(ServerConfig {
            listen: "127.0.0.1:0".into(),
            database_url: database_url.clone(),
            settings,
        })
        .await
        .expect("registry starts");
        Self::serve(app, database_url, dir)
    }

    /// A registry over a fresh SQLite file that requires the credentials of `auth_file`.
    pub async fn sqlite_with_auth(auth_file: &std::path::Path) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/registry.db", dir.path().display());
        Self::with_auth(url, Some(dir), auth_file).await
    }

    /// A registry over `database_url` that requires the credentials of `auth_file`.
    pub async fn with_auth(
        database_url: String,
        dir: Option<tempfile::TempDir>,
        auth_file: &std::path::Path,
    ) -> TestServer {
        if std::env::var("TEST_LOG").is_ok_and(|v| v == "1") {
            let _ = tracing_subscriber::fmt().with_test_writer().try_init();
        }
        let app = Application::build(ServerConfig {
            listen: "127.0.0.1:0".into(),
            database_url: database_url.clone(),
            settings: Settings::default(),
        })
        .await
        .expect("registry starts")
        .with_auth_file(auth_file)
        .expect("users file loads");
        Self::serve(app, database_url, dir)
    }

    pub fn serve(
        app: Application,
        database_url: String,
        dir: Option<tempfile::TempDir>,
    ) -> TestServer {
        let base = format!("http://{}", app.local_addr());
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(async move {
            app.run_until(async {
                let _ = rx.await;
            })
            .await
            .expect("server runs");
        });
        TestServer {
            base,
            database_url,
            client: reqwest::Client::new(),
            shutdown: Some(tx),
            task: Some(task),
            _dir: dir,
        }
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/vnd.schemaregistry.v1+json")
                .body(b.to_string());
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body read");
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.call(Method::DELETE, path, None).await
    }

    /// Register an Avro schema; returns (status, body).
    pub async fn register(&self, subject: &str, schema: &str) -> (u16, Value) {
        self.post(
            &format!("/subjects/{subject}/versions"),
            serde_json::json!({ "schema": schema }),
        )
        .await
    }

    /// Register an Avro schema that must succeed; returns its id.
    pub async fn register_ok(&self, subject: &str, schema: &str) -> i64 {
        let (status, body) = self.register(subject, schema).await;
        assert_eq!(status, 200, "registering under {subject}: {body}");
        body["id"].as_i64().expect("id in register response")
    }
}

/// A record schema with the given fields (each `(name, type, default)`).
pub fn record(name: &str, fields: &[(&str, &str, Option<Value>)]) -> String {
    let fields: Vec<Value> = fields
        .iter()
        .map(|(n, t, d)| {
            let mut f = serde_json::json!({"name": n, "type": t});
            if let Some(d) = d {
                f["default"] = d.clone();
            }
            f
        })
        .collect();
    serde_json::json!({"type": "record", "name": name, "fields": fields}).to_string()
}
