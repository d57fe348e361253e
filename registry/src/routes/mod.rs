//! The REST API: one module per Confluent resource, each with its handlers and `router()`.

mod associations;
mod compatibility;
mod config;
mod contexts;
mod health;
mod metadata;
mod mode;
mod params;
mod schemas;
mod subjects;

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;

use crate::registry::Registry;
use crate::Error;

pub(crate) use params::schema_id as parse_schema_id;

/// Shared state of every handler.
pub type AppState = Arc<Registry>;

/// The whole API.
pub fn router(state: AppState) -> Router {
    // A schema travels as a JSON string, where escaping can double its size.
    let body_limit = state
        .settings()
        .max_schema_bytes
        .saturating_mul(2)
        .saturating_add(64 * 1024);
    Router::new()
        .merge(metadata::router())
        .merge(schemas::router())
        .merge(subjects::router())
        .merge(compatibility::router())
        .merge(config::router())
        .merge(mode::router())
        .merge(contexts::router())
        .merge(associations::router())
        .merge(health::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

async fn not_found() -> Response {
    Error::NotFound.into_response()
}

async fn method_not_allowed() -> Response {
    crate::http::json_response(
        StatusCode::METHOD_NOT_ALLOWED,
        &serde_json::json!({"error_code": 405, "message": "HTTP 405 Method Not Allowed"}),
    )
}
