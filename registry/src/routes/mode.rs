//! `/mode` and `/mode/{s}`: READWRITE, READONLY, READONLY_OVERRIDE, IMPORT (and FORWARD,
//! global only).

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::params::{subject, Params};
use super::AppState;
use crate::http::{ok, Accept, JsonBody};
use crate::registry::Scope;
use crate::types::Mode;
use crate::{Error, Result};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_global, put_global, delete_global))
        .routes(routes!(get_subject, put_subject, delete_subject))
}

#[derive(Debug, Deserialize)]
struct ModeBody {
    mode: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct PutParams {
    #[serde(default, deserialize_with = "super::params::flag")]
    force: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetParams {
    #[serde(default, deserialize_with = "super::params::flag")]
    default_to_global: bool,
}

fn parse_mode(body: &ModeBody) -> Result<Mode> {
    body.mode.as_deref().ok_or(Error::InvalidMode)?.parse()
}

#[utoipa::path(
    get,
    path = "/mode",
    tag = "mode",
    operation_id = "mode_get_global",
    summary = "The global mode",
    responses((status = 200, description = "The mode", body = crate::openapi::ModeBody))
)]
async fn get_global(State(reg): State<AppState>, Accept(media): Accept) -> Result<Response> {
    Ok(ok(
        media,
        &json!({"mode": reg.global_mode().await?.as_str()}),
    ))
}

#[utoipa::path(
    put,
    path = "/mode",
    tag = "mode",
    operation_id = "mode_put_global",
    summary = "Change the global mode",
    params(("force" = Option<bool>, Query, description = "Apply even if it would break something (mode change with subjects)")),
    request_body(content = crate::openapi::ModeBody, content_type = "application/vnd.schemaregistry.v1+json"),
    responses((status = 200, description = "The mode", body = crate::openapi::ModeBody), (status = 422, description = "42204: invalid mode", body = crate::openapi::ErrorBody))
)]
async fn put_global(
    State(reg): State<AppState>,
    Accept(media): Accept,
    Params(params): Params<PutParams>,
    JsonBody(body): JsonBody<ModeBody>,
) -> Result<Response> {
    let mode = reg
        .set_mode(&Scope::Global, parse_mode(&body)?, params.force)
        .await?;
    Ok(ok(media, &json!({"mode": mode.as_str()})))
}

#[utoipa::path(
    delete,
    path = "/mode",
    tag = "mode",
    operation_id = "mode_delete_global",
    summary = "Reset the global mode",
    responses((status = 200, description = "The mode removed", body = crate::openapi::ModeBody))
)]
async fn delete_global(State(reg): State<AppState>, Accept(media): Accept) -> Result<Response> {
    let previous = reg.delete_mode(&Scope::Global).await?.unwrap_or_default();
    Ok(ok(media, &json!({"mode": previous.as_str()})))
}

#[utoipa::path(
    get,
    path = "/mode/{subject}",
    tag = "mode",
    operation_id = "mode_get_subject",
    summary = "A subject's mode",
    params(("subject" = String, Path, description = "The subject"), ("defaultToGlobal" = Option<bool>, Query, description = "Fall back to the global setting")),
    responses((status = 200, description = "The mode", body = crate::openapi::ModeBody), (status = 404, description = "40409: no mode for the subject", body = crate::openapi::ErrorBody))
)]
async fn get_subject(
    State(reg): State<AppState>,
    Accept(media): Accept,
    Path(raw): Path<String>,
    Params(params): Params<GetParams>,
) -> Result<Response> {
    let subject = subject(&raw)?;
    let mode = match reg.stored_mode(&Scope::Subject(subject.clone())).await? {
        Some(m) => m,
        None if params.default_to_global => reg.global_mode().await?,
        None => return Err(Error::SubjectModeNotFound(subject.to_string())),
    };
    Ok(ok(media, &json!({"mode": mode.as_str()})))
}

#[utoipa::path(
    put,
    path = "/mode/{subject}",
    tag = "mode",
    operation_id = "mode_put_subject",
    summary = "Change a subject's mode",
    params(("subject" = String, Path, description = "The subject"), ("force" = Option<bool>, Query, description = "Apply even if it would break something (mode change with subjects)")),
    request_body(content = crate::openapi::ModeBody, content_type = "application/vnd.schemaregistry.v1+json"),
    responses((status = 200, description = "The mode", body = crate::openapi::ModeBody), (status = 422, description = "42204: invalid mode", body = crate::openapi::ErrorBody))
)]
async fn put_subject(
    State(reg): State<AppState>,
    Accept(media): Accept,
    Path(raw): Path<String>,
    Params(params): Params<PutParams>,
    JsonBody(body): JsonBody<ModeBody>,
) -> Result<Response> {
    let subject = subject(&raw)?;
    let mode = reg
        .set_mode(&Scope::Subject(subject), parse_mode(&body)?, params.force)
        .await?;
    Ok(ok(media, &json!({"mode": mode.as_str()})))
}

#[utoipa::path(
    delete,
    path = "/mode/{subject}",
    tag = "mode",
    operation_id = "mode_delete_subject",
    summary = "Remove a subject's mode",
    params(("subject" = String, Path, description = "The subject")),
    responses((status = 200, description = "The mode removed", body = crate::openapi::ModeBody), (status = 404, description = "40401: no such subject", body = crate::openapi::ErrorBody))
)]
async fn delete_subject(
    State(reg): State<AppState>,
    Accept(media): Accept,
    Path(raw): Path<String>,
) -> Result<Response> {
    let subject = subject(&raw)?;
    match reg.delete_mode(&Scope::Subject(subject.clone())).await? {
        Some(previous) => Ok(ok(media, &json!({"mode": previous.as_str()}))),
        None => Err(Error::SubjectNotFound(subject.to_string())),
    }
}
