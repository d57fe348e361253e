//! `/health/live` and `/health/ready`: probes for orchestrators, answered without credentials.
//! Live: the process serves HTTP. Ready: the database answers (migrations ran before the
//! server started listening, so a serving registry is migrated); 503 with the reason when not.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::json;

use super::AppState;
use crate::http::json_response;

/// How long readiness waits for the database before answering 503.
pub const READY_TIMEOUT: Duration = Duration::from_secs(2);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
}

async fn live() -> Response {
    json_response(StatusCode::OK, &json!({"status": "UP"}))
}

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
