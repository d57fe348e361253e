//! `/associations/…`: not supported. confluent-kafka for Python 2.16 asks here first and falls
//! back to topic-name subjects only on a 404 with a Confluent error body, so that is the answer.

use axum::routing::any;
use axum::Router;

use super::AppState;
use crate::Error;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/associations", any(not_found))
        .route("/associations/{*rest}", any(not_found))
}

async fn not_found() -> Error {
    Error::AssociationNotFound("Association not found".into())
}
