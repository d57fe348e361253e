//! `/compatibility/subjects/{s}/versions[/{v}]`: test a schema without registering it.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use serde::Deserialize;

use super::params::{subject, version, Params};
use super::AppState;
use crate::entities::{CompatibilityCheckResponse, RegisterSchemaRequest};
use crate::http::{ok, Accept, JsonBody};
use crate::Result;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/compatibility/subjects/{subject}/versions",
            post(against_all),
        )
        .route(
            "/compatibility/subjects/{subject}/versions/{version}",
            post(against_version),
        )
}

#[derive(Debug, Default, Deserialize)]
struct CompatParams {
    #[serde(default, deserialize_with = "super::params::flag")]
    normalize: bool,
    #[serde(default, deserialize_with = "super::params::flag")]
    verbose: bool,
}

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
