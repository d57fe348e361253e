//! `/contexts`: Strata serves the default context only.

use axum::extract::Path;
use axum::routing::{delete, get};
use axum::Router;

use super::AppState;
use crate::http::{ok, Accept};
use crate::Error;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/contexts", get(list))
        .route("/contexts/{context}", delete(remove))
}

async fn list(Accept(media): Accept) -> axum::response::Response {
    ok(media, &["."])
}

async fn remove(Path(context): Path<String>) -> Result<axum::response::Response, Error> {
    // Confluent: the default context cannot be deleted while it holds subjects, and other
    // contexts do not exist here.
    Err(Error::OperationNotPermitted(format!(
        "The specified context '{context}' cannot be deleted: Strata serves only the default context '.'"
    )))
}
