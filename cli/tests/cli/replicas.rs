//! Two real `strata serve` processes on one database (a SQLite file, a PostgreSQL database):
//! what one deletes, the other stops serving within a second; and a Protobuf schema nested 800
//! deep (which used to abort the process) is refused while both keep serving.

use std::process::Child;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::serve::{spawn_serve_on_any_port, wait_up};

struct Server {
    base: String,
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start(db: &str) -> Server {
    let (child, port) = spawn_serve_on_any_port(db);
    let base = format!("http://127.0.0.1:{port}");
    wait_up(&base).await;
    Server { base, child }
}

async fn call(method: reqwest::Method, url: String, body: Option<Value>) -> (u16, Value) {
    let client = reqwest::Client::new();
    let mut req = client.request(method, url);
    if let Some(b) = body {
        req = req
            .header("Content-Type", "application/vnd.schemaregistry.v1+json")
            .body(b.to_string());
    }
    let resp = req.send().await.expect("request sent");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Poll `url` until it answers `status`. The deadline only bounds how long a broken follower
/// makes the test hang, so it is generous; the one-second bound rests on the follower reading
/// the log every 500 ms (`coherence::POLL_INTERVAL`, pinned by a unit test in strata-registry).
async fn eventually(url: String, status: u16) {
    let start = Instant::now();
    loop {
        let (got, body) = call(reqwest::Method::GET, url.clone(), None).await;
        if got == status {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{url} still answers {got} {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn two_processes_agree(db: &str) {
    let (a, b) = (start(db).await, start(db).await);
    let schema = |n: usize| {
        let fields: Vec<Value> = (0..n)
            .map(|i| json!({"name": format!("f{i}"), "type": "int", "default": 0}))
            .collect();
        json!({"schema": json!({"type": "record", "name": "R", "fields": fields}).to_string()})
    };
    let post = |s: &Server, n| {
        call(
            reqwest::Method::POST,
            format!("{}/subjects/two-value/versions", s.base),
            Some(schema(n)),
        )
    };
    assert_eq!(post(&a, 1).await.0, 200);
    let (status, body) = post(&a, 2).await;
    assert_eq!(status, 200, "{body}");
    let id2 = body["id"].as_i64().expect("id");
    // B caches version 2 and its id.
    let v2 = format!("{}/subjects/two-value/versions/2", b.base);
    assert_eq!(call(reqwest::Method::GET, v2.clone(), None).await.0, 200);
    let by_id = format!("{}/schemas/ids/{id2}", b.base);
    assert_eq!(call(reqwest::Method::GET, by_id.clone(), None).await.0, 200);

    let delete = |path: &str| call(reqwest::Method::DELETE, format!("{}{path}", a.base), None);
    assert_eq!(delete("/subjects/two-value/versions/2").await.0, 200);
    eventually(v2.clone(), 404).await;
    assert_eq!(
        delete("/subjects/two-value/versions/2?permanent=true")
            .await
            .0,
        200
    );
    eventually(by_id, 404).await;

    // A Protobuf schema nested 800 deep aborted the server: now 42201, and both keep serving.
    let mut deep = String::from("syntax = \"proto3\";\n");
    for i in 0..800 {
        deep.push_str(&format!("message M{i} {{\n"));
    }
    deep.push_str(&"}\n".repeat(800));
    let (status, body) = call(
        reqwest::Method::POST,
        format!("{}/subjects/deep/versions", b.base),
        Some(json!({"schemaType": "PROTOBUF", "schema": deep})),
    )
    .await;
    assert_eq!((status, body["error_code"].clone()), (422, json!(42201)));
    for s in [&a, &b] {
        assert_eq!(
            call(reqwest::Method::GET, format!("{}/", s.base), None)
                .await
                .0,
            200
        );
    }
}

#[tokio::test]
async fn two_serve_processes_on_one_sqlite_file_stop_serving_what_the_other_deleted() {
    let dir = tempfile::tempdir().expect("temp dir");
    two_processes_agree(&format!("sqlite://{}/r.db", dir.path().display())).await;
}

#[tokio::test]
async fn two_serve_processes_on_one_postgres_database_stop_serving_what_the_other_deleted() {
    let url = strata_e2e::postgres::TestPostgres::get().fresh_database_url();
    two_processes_agree(&url).await;
}
