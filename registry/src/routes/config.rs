//! `/config` and `/config/{s}`: compatibility level and the other per-scope settings.
//! GET answers Confluent's `Config` shape (`compatibilityLevel`); PUT takes and echoes a
//! `ConfigUpdateRequest` (`compatibility`) and merges: an absent field keeps its value, `null`
//! clears it.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::params::{subject, Params};
use super::AppState;
use crate::http::{ok, Accept, JsonBody};
use crate::registry::{Config, Scope};
use crate::{Error, Result};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/config",
            get(get_global).put(put_global).delete(delete_global),
        )
        .route(
            "/config/{subject}",
            get(get_subject).put(put_subject).delete(delete_subject),
        )
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

async fn get_global(State(reg): State<AppState>, Accept(media): Accept) -> Result<Response> {
    Ok(ok(media, &reg.global_config().await?.to_map()))
}

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
