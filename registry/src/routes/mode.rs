//! `/mode` and `/mode/{s}`: READWRITE, READONLY, READONLY_OVERRIDE, IMPORT (and FORWARD,
//! global only).

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::json;

use super::params::{subject, Params};
use super::AppState;
use crate::http::{ok, Accept, JsonBody};
use crate::registry::Scope;
use crate::types::Mode;
use crate::{Error, Result};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/mode",
            get(get_global).put(put_global).delete(delete_global),
        )
        .route(
            "/mode/{subject}",
            get(get_subject).put(put_subject).delete(delete_subject),
        )
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

async fn get_global(State(reg): State<AppState>, Accept(media): Accept) -> Result<Response> {
    Ok(ok(
        media,
        &json!({"mode": reg.global_mode().await?.as_str()}),
    ))
}

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

async fn delete_global(State(reg): State<AppState>, Accept(media): Accept) -> Result<Response> {
    let previous = reg.delete_mode(&Scope::Global).await?.unwrap_or_default();
    Ok(ok(media, &json!({"mode": previous.as_str()})))
}

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
