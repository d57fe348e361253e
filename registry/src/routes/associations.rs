//! `/associations/…`: not supported. confluent-kafka for Python 2.16 asks here first and falls
//! back to topic-name subjects only on a 404 with a Confluent error body, so that is the answer.
//! Being unsupported, these routes are left out of the OpenAPI document (`UNDOCUMENTED`).

use axum::routing::any;
use utoipa_axum::router::OpenApiRouter;

use super::AppState;
use crate::Error;

/// The routes served here but absent from the OpenAPI document.
pub const UNDOCUMENTED: [&str; 2] = ["/associations", "/associations/{*rest}"];

pub fn router() -> OpenApiRouter<AppState> {
    UNDOCUMENTED
        .iter()
        .fold(OpenApiRouter::new(), |router, path| {
            router.route(path, any(not_found))
        })
}

async fn not_found() -> Error {
    Error::AssociationNotFound("Association not found".into())
}
