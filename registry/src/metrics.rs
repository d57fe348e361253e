//! `GET /metrics`: the registry's metrics in the Prometheus exposition format (OpenMetrics text,
//! which Prometheus negotiates by default), through `prometheus-client`, the Prometheus
//! project's own Rust client.
//!
//! What is measured, and where:
//! - `strata_http_requests_total{route,method,status}` and
//!   `strata_http_request_duration_seconds{route,method}`: by [`layer`], around every route. The
//!   route is the matched template (`/subjects/{subject}/versions`), never the raw path, so
//!   subject names never become label values; unmatched paths count as `route="unmatched"`.
//! - `strata_cache_{hits,misses,evictions}_total{cache}`, `strata_cache_{bytes,entries}{cache}`:
//!   read from the caches' own counters at scrape time (`crate::lru`).
//! - `strata_schemas`, `strata_subjects`, `strata_versions`: counted in the database at scrape
//!   time (live subjects and versions; every schema id).
//! - `strata_registrations_total` (new versions) and
//!   `strata_compatibility_checks_total{result}`: counted by the registry ([`Events`]).
//! - `strata_db_connections{state="in_use"|"idle"}` and `strata_db_query_errors_total` (requests
//!   answered 500 because a query failed); `strata_db_pool_acquires_total`: connections taken
//!   from the pool, one per query or transaction (a cached read takes none).
//! - `strata_build_info{version}`.
//!
//! `/metrics` needs no credentials, as Karapace serves it (Confluent's registry has no HTTP
//! metrics, only JMX): it shows route templates and totals, never a subject, a schema or a user.
//! To keep it off the API's port, give `--metrics-listen` (then only that address serves it).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::info::Info;

use crate::registry::Registry;
use crate::storage::SqlStorage;

/// The path metrics are served on.
pub const METRICS_PATH: &str = "/metrics";

/// The content type of the OpenMetrics text format.
pub const CONTENT_TYPE_OPENMETRICS: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// How long a scrape waits for the database counts before leaving them out.
const COUNT_TIMEOUT: Duration = Duration::from_secs(2);

/// What the registry counts itself (the rest is read at scrape time).
#[derive(Debug, Default)]
pub struct Events {
    registrations: AtomicU64,
    compatible: AtomicU64,
    incompatible: AtomicU64,
}

impl Events {
    /// A new version was registered.
    pub fn registered(&self) {
        self.registrations.fetch_add(1, Ordering::Relaxed);
    }

    /// A compatibility check ended (in a registration or a compatibility test).
    pub fn compatibility_checked(&self, compatible: bool) {
        let counter = if compatible {
            &self.compatible
        } else {
            &self.incompatible
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Left in a response's extensions by `Error::into_response` when a database query failed.
#[derive(Debug, Clone, Copy)]
pub struct QueryFailed;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: String,
}

type LatencyFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 100 µs to about 3.3 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

/// The registry's metrics: what the request layer records and what a scrape reads.
#[derive(Debug)]
pub struct Metrics {
    exposition: prometheus_client::registry::Registry,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    schemas: Gauge,
    subjects: Gauge,
    versions: Gauge,
    storage: SqlStorage,
    query_errors: Counter,
}

/// A cache metric: name, help and how to read it from a cache's statistics.
type Described<T> = (&'static str, &'static str, fn(&crate::lru::CacheStats) -> T);

/// The values read from the registry and the pool at each scrape.
#[derive(Debug)]
struct Live {
    registry: Arc<Registry>,
    storage: SqlStorage,
}

impl Collector for Live {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let caches = self.registry.caches().stats();
        let counters: [Described<u64>; 3] = [
            (
                "strata_cache_hits",
                "Cache reads that found their entry.",
                |s| s.hits,
            ),
            (
                "strata_cache_misses",
                "Cache reads that did not find their entry (and went to the database).",
                |s| s.misses,
            ),
            (
                "strata_cache_evictions",
                "Cache entries evicted to stay within cache_max_bytes.",
                |s| s.evictions,
            ),
        ];
        for (name, help, value) in counters {
            let mut family = encoder.encode_descriptor(
                name,
                help,
                None,
                prometheus_client::metrics::MetricType::Counter,
            )?;
            for (cache, stats) in &caches {
                let labels = [("cache", *cache)];
                ConstCounter::new(value(stats)).encode(family.encode_family(&labels)?)?;
            }
        }
        let gauges: [Described<i64>; 2] = [
            (
                "strata_cache_bytes",
                "Bytes a cache holds (estimated).",
                |s| s.bytes as i64,
            ),
            ("strata_cache_entries", "Entries a cache holds.", |s| {
                s.entries as i64
            }),
        ];
        for (name, help, value) in gauges {
            let mut family = encoder.encode_descriptor(
                name,
                help,
                None,
                prometheus_client::metrics::MetricType::Gauge,
            )?;
            for (cache, stats) in &caches {
                let labels = [("cache", *cache)];
                ConstGauge::new(value(stats)).encode(family.encode_family(&labels)?)?;
            }
        }
        let events = self.registry.events();
        let registrations = ConstCounter::new(events.registrations.load(Ordering::Relaxed));
        registrations.encode(encoder.encode_descriptor(
            "strata_registrations",
            "Schema versions registered.",
            None,
            registrations.metric_type(),
        )?)?;
        let mut checks = encoder.encode_descriptor(
            "strata_compatibility_checks",
            "Compatibility checks (registrations and compatibility tests) by result.",
            None,
            prometheus_client::metrics::MetricType::Counter,
        )?;
        for (result, counter) in [
            ("compatible", &events.compatible),
            ("incompatible", &events.incompatible),
        ] {
            ConstCounter::new(counter.load(Ordering::Relaxed))
                .encode(checks.encode_family(&[("result", result)])?)?;
        }
        let (in_use, idle) = self.storage.pool_usage();
        let mut pool = encoder.encode_descriptor(
            "strata_db_connections",
            "Database pool connections by state.",
            None,
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        ConstGauge::new(i64::from(in_use)).encode(pool.encode_family(&[("state", "in_use")])?)?;
        ConstGauge::new(idle as i64).encode(pool.encode_family(&[("state", "idle")])?)?;
        let acquires = ConstCounter::new(self.storage.acquires());
        acquires.encode(encoder.encode_descriptor(
            "strata_db_pool_acquires",
            "Connections taken from the database pool: one per query or transaction, background \
             work included (a cached read takes none).",
            None,
            acquires.metric_type(),
        )?)?;
        Ok(())
    }
}

impl Metrics {
    /// Metrics of `registry` over `storage`.
    pub fn new(registry: Arc<Registry>, storage: SqlStorage) -> Arc<Self> {
        let mut exposition = prometheus_client::registry::Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        exposition.register(
            "strata_http_requests",
            "HTTP requests by route template, method and status.",
            requests.clone(),
        );
        let latency: LatencyFamily = Family::new_with_constructor(latency_histogram);
        exposition.register(
            "strata_http_request_duration_seconds",
            "Time to answer HTTP requests, by route template and method.",
            latency.clone(),
        );
        let schemas = Gauge::default();
        exposition.register("strata_schemas", "Schema ids stored.", schemas.clone());
        let subjects = Gauge::default();
        exposition.register(
            "strata_subjects",
            "Subjects with at least one live (not deleted) version.",
            subjects.clone(),
        );
        let versions = Gauge::default();
        exposition.register(
            "strata_versions",
            "Live (not deleted) subject versions.",
            versions.clone(),
        );
        let query_errors = Counter::default();
        exposition.register(
            "strata_db_query_errors",
            "Requests that failed because a database query failed.",
            query_errors.clone(),
        );
        exposition.register(
            "strata_build",
            "The running build.",
            Info::new([("version", env!("CARGO_PKG_VERSION"))]),
        );
        exposition.register_collector(Box::new(Live {
            registry,
            storage: storage.clone(),
        }));
        Arc::new(Metrics {
            exposition,
            requests,
            latency,
            schemas,
            subjects,
            versions,
            storage,
            query_errors,
        })
    }

    fn record(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        let labels = RouteLabels {
            route: route.to_string(),
            method: method.to_string(),
        };
        self.latency
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        self.requests
            .get_or_create(&RequestLabels {
                route: labels.route,
                method: labels.method,
                status,
            })
            .inc();
    }

    /// The exposition, with the database counts refreshed (left as they were when the database
    /// does not answer in time).
    pub async fn render(&self) -> String {
        match tokio::time::timeout(COUNT_TIMEOUT, self.storage.counts()).await {
            Ok(Ok((schemas, subjects, versions))) => {
                self.schemas.set(schemas);
                self.subjects.set(subjects);
                self.versions.set(versions);
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "metrics: counting schemas failed"),
            Err(_) => tracing::warn!("metrics: counting schemas timed out"),
        }
        let mut text = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &self.exposition) {
            tracing::error!(error = %e, "metrics: encoding failed");
        }
        text
    }
}

/// Record every request of `router` (its routes must be in place: the layer reads the matched
/// route).
pub fn layer(router: Router, metrics: Arc<Metrics>) -> Router {
    router.layer(axum::middleware::from_fn_with_state(metrics, measure))
}

async fn measure(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req.extensions().get::<MatchedPath>().cloned();
    let method = req.method().clone();
    let response = next.run(req).await;
    if response.extensions().get::<QueryFailed>().is_some() {
        metrics.query_errors.inc();
    }
    metrics.record(
        route.as_ref().map_or("unmatched", MatchedPath::as_str),
        method.as_str(),
        response.status().as_u16(),
        start.elapsed(),
    );
    response
}

fn routes() -> utoipa_axum::router::OpenApiRouter<Arc<Metrics>> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(serve))
}

/// The router serving `GET /metrics` alone.
pub fn router(metrics: Arc<Metrics>) -> Router {
    routes().split_for_parts().0.with_state(metrics)
}

/// The OpenAPI description of `GET /metrics`.
pub fn document() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

/// The metrics in the OpenMetrics text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    operation_id = "operations_metrics",
    summary = "Metrics for Prometheus (served on --metrics-listen instead when given)",
    responses((status = 200, description = "The metrics, in the OpenMetrics text format",
        content_type = "application/openmetrics-text", body = String))
)]
pub(crate) async fn serve(State(metrics): State<Arc<Metrics>>) -> Response {
    let mut response = (StatusCode::OK, metrics.render().await).into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(CONTENT_TYPE_OPENMETRICS),
    );
    response
}
