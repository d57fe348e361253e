//! `/`, `/v1/metadata/id`, `/v1/metadata/version`: liveness and server identity.

use axum::routing::get;
use axum::Router;
use serde_json::json;

use super::AppState;
use crate::http::{ok, Accept};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(root).post(root))
        .route("/v1/metadata/id", get(id))
        .route("/v1/metadata/version", get(version))
        .route("/v1/metadata/deployment", get(deployment))
}

async fn root(Accept(media): Accept) -> axum::response::Response {
    ok(media, &json!({}))
}

async fn id(Accept(media): Accept) -> axum::response::Response {
    ok(
        media,
        &json!({"scope": {"path": [], "clusters": {"schema-registry-cluster": "schema-registry"}}}),
    )
}

async fn version(Accept(media): Accept) -> axum::response::Response {
    ok(
        media,
        &json!({"version": env!("CARGO_PKG_VERSION"), "commitId": "strata"}),
    )
}

async fn deployment(Accept(media): Accept) -> axum::response::Response {
    ok(media, &json!({"attributes": ["strata"]}))
}
