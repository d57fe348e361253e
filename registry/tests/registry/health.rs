//! `/health/live` and `/health/ready`: probes without credentials; readiness follows the
//! database.

use std::time::Duration;

use serde_json::json;
use strata_registry::Settings;

use crate::harness::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn liveness_and_readiness_answer_200_when_the_database_is_up() {
    let s = TestServer::sqlite().await;
    assert_eq!(s.get("/health/live").await, (200, json!({"status": "UP"})));
    assert_eq!(s.get("/health/ready").await, (200, json!({"status": "UP"})));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_answers_503_while_postgres_is_down_and_200_when_it_returns() {
    let pg = strata_e2e::postgres::TestPostgres::dedicated();
    let s = TestServer::start(pg.fresh_database_url(), None, Settings::default()).await;
    assert_eq!(s.get("/health/ready").await.0, 200);

    let pg = tokio::task::spawn_blocking(move || {
        pg.stop().expect("postgres stops");
        pg
    })
    .await
    .expect("stop task");
    let (status, body) = s.get("/health/ready").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "DOWN");
    let reason = body["reason"].as_str().expect("a reason");
    assert!(reason.contains("database"), "{reason}");
    // The process is alive all the same.
    assert_eq!(s.get("/health/live").await.0, 200);

    let pg = tokio::task::spawn_blocking(move || {
        pg.start_again().expect("postgres starts");
        pg
    })
    .await
    .expect("start task");
    let mut ready = false;
    for _ in 0..100 {
        if s.get("/health/ready").await.0 == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "ready again once the database is back");
    s.stop().await;
    drop(pg);
}
