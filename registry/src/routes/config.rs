//! `/config` and `/config/{s}`: compatibility level and the other per-scope settings.
//! GET answers Confluent's `Config` shape (`compatibilityLevel`); PUT takes and echoes a
//! `ConfigUpdateRequest` (`compatibility`) and merges: an absent field keeps its value, `null`
//! clears it.

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::params::{subject, Params};
use super::AppState;
use crate::http::{ok, Accept, JsonBody};
use crate::registry::{Config, Scope};
use crate::{Error, Result};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_global, put_global, delete_global))
        .routes(routes!(get_subject, put_subject, delete_subject))
}

/// The PUT echo names the level `compatibility`, as the request does.
fn as_update(config: &Config) -> Map<String, Value> {
    let mut map = config.to_map();
    if let Some(level) = map.shift_remove("compatibilityLevel") {
        map.insert("compatibility".into(), level);
    }
    map
}

fn body_object(body: Value) -> Result<Map<String, Value>> {
    match body {
        Value::Object(map) => Ok(map),
        _ => Err(Error::BadRequest(
            "The config body must be a JSON object such as {\"compatibility\": \"BACKWARD\"}"
                .into(),
        )),
    }
}

#[utoipa::path(
    get,
    path = "/config",
    tag = "config",
    operation_id = "config_get_global",
    summary = "The global configuration",
    responses((status = 200, description = "The configuration", body = crate::openapi::ConfigBody))
)]
async fn get_global(State(reg): State<AppState>, Accept(media): Accept) -> Result<Response> {
    Ok(ok(media, &reg.global_config().await?.to_map()))
}

#[utoipa::path(
    put,
    path = "/config",
    tag = "config",
    operation_id = "config_put_global",
    summary = "Change the global configuration",
    request_body(content = crate::openapi::ConfigBody, content_type = "application/vnd.schemaregistry.v1+json"),
    responses((status = 200, description = "The change", body = crate::openapi::ConfigBody), (status = 422, description = "42203: invalid level", body = crate::openapi::ErrorBody))
)]
async fn put_global(
    State(reg): State<AppState>,
    Accept(media): Accept,
    JsonBody(body): JsonBody<Value>,
) -> Result<Response> {
    let updated = reg
        .update_config(&Scope::Global, &body_object(body)?)
        .await?;
    Ok(ok(media, &as_update(&updated)))
}

#[utoipa::path(
    delete,
    path = "/config",
    tag = "config",
    operation_id = "config_delete_global",
    summary = "Reset the global configuration",
    responses((status = 200, description = "The configuration removed", body = crate::openapi::ConfigBody))
)]
async fn delete_global(State(reg): State<AppState>, Accept(media): Accept) -> Result<Response> {
    let previous = reg.global_config().await?;
    reg.delete_config(&Scope::Global).await?;
    Ok(ok(media, &previous.to_map()))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetParams {
    #[serde(default, deserialize_with = "super::params::flag")]
    default_to_global: bool,
}

#[utoipa::path(
    get,
    path = "/config/{subject}",
    tag = "config",
    operation_id = "config_get_subject",
    summary = "A subject's configuration",
    params(("subject" = String, Path, description = "The subject"), ("defaultToGlobal" = Option<bool>, Query, description = "Fall back to the global setting")),
    responses((status = 200, description = "The configuration", body = crate::openapi::ConfigBody), (status = 404, description = "40408: no configuration for the subject", body = crate::openapi::ErrorBody))
)]
async fn get_subject(
    State(reg): State<AppState>,
    Accept(media): Accept,
    Path(raw): Path<String>,
    Params(params): Params<GetParams>,
) -> Result<Response> {
    let subject = subject(&raw)?;
    if params.default_to_global {
        return Ok(ok(media, &reg.config_in_scope(&subject).await?.to_map()));
    }
    match reg.stored_config(&Scope::Subject(subject.clone())).await? {
        Some(config) => Ok(ok(media, &config.to_map())),
        None => Err(Error::SubjectConfigNotFound(subject.to_string())),
    }
}

#[utoipa::path(
    put,
    path = "/config/{subject}",
    tag = "config",
    operation_id = "config_put_subject",
    summary = "Change a subject's configuration",
    params(("subject" = String, Path, description = "The subject")),
    request_body(content = crate::openapi::ConfigBody, content_type = "application/vnd.schemaregistry.v1+json"),
    responses((status = 200, description = "The change", body = crate::openapi::ConfigBody), (status = 422, description = "42203: invalid level", body = crate::openapi::ErrorBody))
)]
async fn put_subject(
    State(reg): State<AppState>,
    Accept(media): Accept,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Response> {
    let subject = subject(&raw)?;
    let updated = reg
        .update_config(&Scope::Subject(subject), &body_object(body)?)
        .await?;
    Ok(ok(media, &as_update(&updated)))
}

#[utoipa::path(
    delete,
    path = "/config/{subject}",
    tag = "config",
    operation_id = "config_delete_subject",
    summary = "Remove a subject's configuration",
    params(("subject" = String, Path, description = "The subject")),
    responses((status = 200, description = "The configuration removed", body = crate::openapi::ConfigBody), (status = 404, description = "40401: no such subject", body = crate::openapi::ErrorBody))
)]
async fn delete_subject(
    State(reg): State<AppState>,
    Accept(media): Accept,
    Path(raw): Path<String>,
) -> Result<Response> {
    let subject = subject(&raw)?;
    match reg.delete_config(&Scope::Subject(subject.clone())).await? {
        Some(previous) => Ok(ok(media, &previous.to_map())),
        None => Err(Error::SubjectNotFound(subject.to_string())),
    }
}
