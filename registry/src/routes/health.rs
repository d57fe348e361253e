//! `/health/live` and `/health/ready`: probes for orchestrators, answered without credentials.
//! Live: the process serves HTTP. Ready: the database answers (migrations ran before the
//! server started listening, so a serving registry is migrated); 503 with the reason when not.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use crate::http::json_response;

/// How long readiness waits for the database before answering 503.
pub const READY_TIMEOUT: Duration = Duration::from_secs(2);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(live))
        .routes(routes!(ready))
}

#[utoipa::path(
    get,
    path = "/health/live",
    tag = "operations",
    operation_id = "operations_live",
    summary = "Liveness: the process serves HTTP",
    responses((status = 200, description = "UP", body = crate::openapi::HealthBody))
)]
async fn live() -> Response {
    json_response(StatusCode::OK, &json!({"status": "UP"}))
}

#[utoipa::path(
    get,
    path = "/health/ready",
    tag = "operations",
    operation_id = "operations_ready",
    summary = "Readiness: the database answers",
    responses((status = 200, description = "UP", body = crate::openapi::HealthBody), (status = 503, description = "DOWN, with the reason", body = crate::openapi::HealthBody))
)]
async fn ready(State(reg): State<AppState>) -> Response {
    let reason = match tokio::time::timeout(READY_TIMEOUT, reg.ping()).await {
        Ok(Ok(())) => return json_response(StatusCode::OK, &json!({"status": "UP"})),
        Ok(Err(crate::Error::Store(e))) => format!("the database is not reachable: {e}"),
        Ok(Err(e)) => format!("the database is not reachable: {e}"),
        Err(_) => format!(
            "the database did not answer within {} s",
            READY_TIMEOUT.as_secs()
        ),
    };
    tracing::warn!(%reason, "not ready");
    json_response(
        StatusCode::SERVICE_UNAVAILABLE,
        &json!({"status": "DOWN", "reason": reason}),
    )
}
