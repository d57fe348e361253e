//! `/compatibility/subjects/{s}/versions[/{v}]`: test a schema without registering it.

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::params::{subject, version, Params};
use super::AppState;
use crate::entities::{CompatibilityCheckResponse, RegisterSchemaRequest};
use crate::http::{ok, Accept, JsonBody};
use crate::Result;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(against_all))
        .routes(routes!(against_version))
}

#[derive(Debug, Default, Deserialize)]
struct CompatParams {
    #[serde(default, deserialize_with = "super::params::flag")]
    normalize: bool,
    #[serde(default, deserialize_with = "super::params::flag")]
    verbose: bool,
}

#[utoipa::path(
    post,
    path = "/compatibility/subjects/{subject}/versions",
    tag = "compatibility",
    operation_id = "compatibility_against_all",
    summary = "Test a schema against a subject as a registration would",
    params(("subject" = String, Path, description = "The subject"), ("normalize" = Option<bool>, Query, description = "Normalize the schema first"), ("verbose" = Option<bool>, Query, description = "Explain incompatibilities")),
    request_body(content = crate::openapi::SchemaRequest, content_type = "application/vnd.schemaregistry.v1+json"),
    responses((status = 200, description = "The result", body = crate::openapi::CompatibilityResult), (status = 422, description = "42201: invalid schema", body = crate::openapi::ErrorBody))
)]
async fn against_all(
    State(reg): State<AppState>,
    Accept(media): Accept,
    Path(raw): Path<String>,
    Params(params): Params<CompatParams>,
    JsonBody(req): JsonBody<RegisterSchemaRequest>,
) -> Result<Response> {
    let subject = subject(&raw)?;
    respond(&reg, media, &subject, None, &req, &params).await
}

#[utoipa::path(
    post,
    path = "/compatibility/subjects/{subject}/versions/{version}",
    tag = "compatibility",
    operation_id = "compatibility_against_version",
    summary = "Test a schema against one subject version",
    params(("subject" = String, Path, description = "The subject"), ("version" = String, Path, description = "A version number, or `latest` (-1)"), ("normalize" = Option<bool>, Query, description = "Normalize the schema first"), ("verbose" = Option<bool>, Query, description = "Explain incompatibilities")),
    request_body(content = crate::openapi::SchemaRequest, content_type = "application/vnd.schemaregistry.v1+json"),
    responses((status = 200, description = "The result", body = crate::openapi::CompatibilityResult), (status = 404, description = "40401: no such subject; 40402: no such version", body = crate::openapi::ErrorBody))
)]
async fn against_version(
    State(reg): State<AppState>,
    Accept(media): Accept,
    Path((raw, raw_version)): Path<(String, String)>,
    Params(params): Params<CompatParams>,
    JsonBody(req): JsonBody<RegisterSchemaRequest>,
) -> Result<Response> {
    let subject = subject(&raw)?;
    let version = version(&raw_version)?;
    respond(&reg, media, &subject, Some(version), &req, &params).await
}

async fn respond(
    reg: &AppState,
    media: crate::http::MediaType,
    subject: &crate::types::Subject,
    version: Option<crate::types::VersionId>,
    req: &RegisterSchemaRequest,
    params: &CompatParams,
) -> Result<Response> {
    let result = reg
        .test_compatibility(subject, version, req, params.normalize, params.verbose)
        .await?;
    Ok(ok(
        media,
        &CompatibilityCheckResponse {
            is_compatible: result.is_compatible,
            messages: params.verbose.then_some(result.messages),
        },
    ))
}
