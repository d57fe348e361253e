//! `/contexts`: Strata serves the default context only.

use axum::extract::Path;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use crate::http::{ok, Accept};
use crate::Error;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(remove))
}

#[utoipa::path(
    get,
    path = "/contexts",
    tag = "contexts",
    operation_id = "contexts_list",
    summary = "Contexts (only the default context `.`)",
    responses((status = 200, description = "Context names", body = Vec<String>))
)]
async fn list(Accept(media): Accept) -> axum::response::Response {
    ok(media, &["."])
}

#[utoipa::path(
    delete,
    path = "/contexts/{context}",
    tag = "contexts",
    operation_id = "contexts_remove",
    summary = "Delete a context (refused: only the default context exists)",
    params(("context" = String, Path, description = "The context")),
    responses((status = 422, description = "42205: not permitted", body = crate::openapi::ErrorBody))
)]
async fn remove(Path(context): Path<String>) -> Result<axum::response::Response, Error> {
    // Confluent: the default context cannot be deleted while it holds subjects, and other
    // contexts do not exist here.
    Err(Error::OperationNotPermitted(format!(
        "The specified context '{context}' cannot be deleted: Strata serves only the default context '.'"
    )))
}
