//! `GET /metrics`: scraped over HTTP and read by an OpenMetrics text-format parser
//! (`openmetrics-parser`, which refuses an exposition that breaks the format), with counters
//! checked to move after requests.

use openmetrics_parser::openmetrics::parse_openmetrics;
use openmetrics_parser::{MetricsExposition, OpenMetricsType, OpenMetricsValue};
use serde_json::json;
use strata_registry::auth::password::{self, Algorithm};
use strata_registry::{Application, ServerConfig, Settings};

use crate::harness::{record, TestServer};

pub type Exposition = MetricsExposition<OpenMetricsType, OpenMetricsValue>;

async fn scrape_url(client: &reqwest::Client, url: &str) -> Exposition {
    let resp = client.get(url).send().await.expect("scrape sent");
    assert_eq!(resp.status().as_u16(), 200);
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = resp.text().await.expect("scrape read");
    parse_openmetrics(&text).unwrap_or_else(|e| panic!("the exposition parses: {e:?}\n{text}"))
}

pub async fn scrape(s: &TestServer) -> Exposition {
    scrape_url(&s.client, &format!("{}/metrics", s.base)).await
}

/// The sum of the samples of `family` whose labels include `labels` (0 when there is none):
/// a counter's or gauge's value, a histogram's count.
pub fn value(scrape: &Exposition, family: &str, labels: &[(&str, &str)]) -> f64 {
    let Some(family) = scrape.families.get(family) else {
        return 0.0;
    };
    family
        .iter_samples()
        .filter(|s| {
            let set = s.get_labelset().expect("labels");
            labels
                .iter()
                .all(|(k, v)| set.get_label_value(k) == Some(*v))
        })
        .map(|s| match &s.value {
            OpenMetricsValue::Counter(c) => c.value.as_f64(),
            OpenMetricsValue::Gauge(n) | OpenMetricsValue::Unknown(n) => n.as_f64(),
            OpenMetricsValue::Histogram(h) => h.count.unwrap_or(0) as f64,
            OpenMetricsValue::Info => 1.0,
            other => panic!("unexpected sample {other:?}"),
        })
        .sum()
}

/// Every label value of every sample.
fn label_values(scrape: &Exposition) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for (name, family) in &scrape.families {
        for sample in family.iter_samples() {
            for (k, v) in sample.get_labelset().expect("labels").iter() {
                out.push((name.clone(), k.clone(), v.clone()));
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_parse_as_prometheus_text_and_counters_move_after_requests() {
    let s = TestServer::sqlite().await;
    let before = scrape(&s).await;
    let by_id = [("route", "/schemas/ids/{id}"), ("method", "GET")];

    let id = s
        .register_ok("metrics-value", &record("M", &[("a", "int", None)]))
        .await;
    for _ in 0..3 {
        assert_eq!(s.get(&format!("/schemas/ids/{id}")).await.0, 200);
    }
    assert_eq!(s.get("/schemas/ids/9999").await.0, 404);
    // Incompatible: a new field without a default under BACKWARD.
    let (status, _) = s
        .register(
            "metrics-value",
            &record("M", &[("a", "int", None), ("b", "int", None)]),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(s.get("/no/such/path").await.0, 404);

    let after = scrape(&s).await;
    let ok = [by_id[0], by_id[1], ("status", "200")];
    assert_eq!(
        value(&after, "strata_http_requests", &ok) - value(&before, "strata_http_requests", &ok),
        3.0
    );
    assert_eq!(
        value(
            &after,
            "strata_http_requests",
            &[by_id[0], ("status", "404")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &after,
            "strata_http_requests",
            &[("route", "unmatched"), ("status", "404")]
        ),
        1.0
    );
    // Latency: every answered request is counted by the histogram.
    assert_eq!(
        value(&after, "strata_http_request_duration_seconds", &by_id),
        4.0
    );
    // Route templates only: no subject name, no id in any label.
    for (family, k, v) in label_values(&after) {
        assert!(
            !v.contains("metrics-value") && v != id.to_string(),
            "{family}{{{k}={v}}}"
        );
    }
    let delta = |name: &str, labels: &[(&str, &str)]| {
        value(&after, name, labels) - value(&before, name, labels)
    };
    assert!(delta("strata_cache_hits", &[("cache", "schemas")]) >= 3.0);
    assert!(delta("strata_cache_misses", &[("cache", "schemas")]) >= 1.0);
    assert!(value(&after, "strata_cache_bytes", &[("cache", "schemas")]) > 0.0);
    assert_eq!(
        value(&after, "strata_cache_evictions", &[("cache", "schemas")]),
        0.0
    );
    assert_eq!(delta("strata_registrations", &[]), 1.0);
    assert_eq!(
        delta("strata_compatibility_checks", &[("result", "incompatible")]),
        1.0
    );
    assert_eq!(value(&after, "strata_schemas", &[]), 1.0);
    assert_eq!(value(&after, "strata_subjects", &[]), 1.0);
    assert_eq!(value(&after, "strata_versions", &[]), 1.0);
    assert!(
        value(&after, "strata_db_connections", &[("state", "idle")])
            + value(&after, "strata_db_connections", &[("state", "in_use")])
            >= 1.0
    );
    assert_eq!(value(&after, "strata_db_query_errors", &[]), 0.0);
    assert_eq!(
        value(
            &after,
            "strata_build",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_answer_without_credentials_when_credentials_are_required() {
    let dir = tempfile::tempdir().unwrap();
    let salt = password::random_salt(Algorithm::Sha256);
    let users = json!({
        "users": [{"username": "admin", "algorithm": "sha256", "salt": salt, "iterations": 1000,
            "password_hash": password::hash(Algorithm::Sha256, &salt, "pw", 1000).unwrap()}],
        "permissions": [{"username": "admin", "operation": "Write", "resource": ".*"}]
    });
    let path = dir.path().join("users.json");
    std::fs::write(&path, users.to_string()).unwrap();
    let s = TestServer::sqlite_with_auth(&path).await;
    assert_eq!(s.get("/subjects").await.0, 401);
    let scraped = scrape(&s).await;
    assert_eq!(
        value(
            &scraped,
            "strata_http_requests",
            &[("route", "/subjects"), ("status", "401")]
        ),
        1.0
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_listen_serves_metrics_on_its_own_address_and_not_on_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/registry.db", dir.path().display());
    let app = Application::build(ServerConfig {
        listen: "127.0.0.1:0".into(),
        database_url: url.clone(),
        settings: Settings::default(),
    })
    .await
    .unwrap()
    .with_metrics_listen("127.0.0.1:0")
    .await
    .unwrap();
    let metrics_addr = app.metrics_addr().expect("a metrics address");
    assert_ne!(metrics_addr, app.local_addr());
    let s = TestServer::serve(app, url, Some(dir));
    assert_eq!(s.get("/metrics").await.0, 404);
    assert_eq!(s.get("/subjects").await.0, 200);
    let scraped = scrape_url(&s.client, &format!("http://{metrics_addr}/metrics")).await;
    assert_eq!(
        value(
            &scraped,
            "strata_http_requests",
            &[("route", "/subjects"), ("status", "200")]
        ),
        1.0
    );
    s.stop().await;
}
