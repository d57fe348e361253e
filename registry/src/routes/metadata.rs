//! `/`, `/v1/metadata/id`, `/v1/metadata/version`: liveness and server identity.

use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use crate::http::{ok, Accept};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(root, root_post))
        .routes(routes!(id))
        .routes(routes!(version))
        .routes(routes!(deployment))
}

#[utoipa::path(
    get,
    path = "/",
    tag = "metadata",
    operation_id = "metadata_root",
    summary = "The root: an empty JSON object",
    responses((status = 200, description = "An empty object", body = Object))
)]
async fn root(Accept(media): Accept) -> axum::response::Response {
    ok(media, &json!({}))
}

#[utoipa::path(
    get,
    path = "/v1/metadata/id",
    tag = "metadata",
    operation_id = "metadata_id",
    summary = "The cluster id",
    responses((status = 200, description = "The cluster id", body = Object))
)]
async fn id(Accept(media): Accept) -> axum::response::Response {
    ok(
        media,
        &json!({"scope": {"path": [], "clusters": {"schema-registry-cluster": "schema-registry"}}}),
    )
}

#[utoipa::path(
    get,
    path = "/v1/metadata/version",
    tag = "metadata",
    operation_id = "metadata_version",
    summary = "The server version",
    responses((status = 200, description = "Version and commit", body = Object))
)]
async fn version(Accept(media): Accept) -> axum::response::Response {
    ok(
        media,
        &json!({"version": env!("CARGO_PKG_VERSION"), "commitId": "strata"}),
    )
}

#[utoipa::path(
    get,
    path = "/v1/metadata/deployment",
    tag = "metadata",
    operation_id = "metadata_deployment",
    summary = "Deployment attributes",
    responses((status = 200, description = "Attributes", body = Object))
)]
async fn deployment(Accept(media): Accept) -> axum::response::Response {
    ok(media, &json!({"attributes": ["strata"]}))
}

#[utoipa::path(
    post,
    path = "/",
    tag = "metadata",
    operation_id = "metadata_root_post",
    summary = "The root, posted to: an empty JSON object",
    responses((status = 200, description = "An empty object", body = Object))
)]
async fn root_post(accept: Accept) -> axum::response::Response {
    root(accept).await
}
