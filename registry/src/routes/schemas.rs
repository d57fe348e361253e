//! `/schemas`: schemas by id and GUID, the type list, and the listing of all schemas.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use strata_schema::SchemaType;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::params::{paginate, schema_id, subject_prefix, Params};
use super::AppState;
use crate::auth::Access;
use crate::cache::CachedSchema;
use crate::entities::{SchemaEntity, SchemaStringEntity, SubjectVersionEntity};
use crate::http::{bytes_response, ok, Accept};
use crate::{Error, Result};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(types))
        .routes(routes!(by_id))
        .routes(routes!(raw_by_id))
        .routes(routes!(subjects_of_id))
        .routes(routes!(versions_of_id))
        .routes(routes!(by_guid))
        .routes(routes!(ids_of_guid))
}

#[utoipa::path(
    get,
    path = "/schemas/types",
    tag = "schemas",
    operation_id = "schemas_types",
    summary = "The schema types served",
    responses((status = 200, description = "AVRO, PROTOBUF, JSON", body = Vec<String>))
)]
async fn types(Accept(media): Accept) -> Response {
    let names: Vec<&str> = SchemaType::ALL.iter().map(|t| t.as_str()).collect();
    ok(media, &names)
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IdParams {
    format: Option<String>,
    #[serde(default, deserialize_with = "super::params::flag")]
    fetch_max_id: bool,
}

/// The hot path: a cached id answers from memory with pre-serialised bytes.
#[utoipa::path(
    get,
    path = "/schemas/ids/{id}",
    tag = "schemas",
    operation_id = "schemas_by_id",
    summary = "A schema by id",
    params(("id" = i64, Path, description = "The schema id"), ("format" = Option<String>, Query, description = "Schema format (e.g. `resolved` for Avro, `serialized` for Protobuf)"), ("fetchMaxId" = Option<bool>, Query, description = "Also answer the largest id in use"), ("subject" = Option<String>, Query, description = "Only this subject")),
    responses((status = 200, description = "The schema", body = crate::openapi::SchemaById), (status = 404, description = "40403: no such schema", body = crate::openapi::ErrorBody))
)]
async fn by_id(
    State(reg): State<AppState>,
    Accept(media): Accept,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let id = schema_id(&raw)?;
    if query.as_deref().is_none_or(str::is_empty) {
        if let Some(cached) = reg.cached_schema(id) {
            return Ok(bytes_response(StatusCode::OK, media, id_body(&cached)?));
        }
    }
    let params: IdParams = serde_urlencoded_params(query.as_deref())?;
    let cached = reg
        .schema(id)
        .await?
        .ok_or_else(|| Error::SchemaIdNotFound(id.to_string()))?;
    if params.format.is_none() && !params.fetch_max_id {
        return Ok(bytes_response(StatusCode::OK, media, id_body(&cached)?));
    }
    let text = formatted(&reg, id, params.format.as_deref()).await?;
    let mut entity = SchemaStringEntity::new(
        &cached.record,
        text.as_deref().unwrap_or(&cached.record.schema),
    );
    if params.fetch_max_id {
        entity.max_id = Some(reg.max_schema_id().await?);
    }
    Ok(ok(media, &entity))
}

/// The body of `GET /schemas/ids/{id}` without parameters, rendered once per cached schema.
fn id_body(cached: &CachedSchema) -> Result<Bytes> {
    if let Some(body) = cached.rendered.get() {
        return Ok(body.clone());
    }
    let record = &cached.record;
    let body = serde_json::to_vec(&SchemaStringEntity::new(record, &record.schema))
        .map_err(|e| Error::Internal(e.to_string()))?;
    Ok(cached.rendered.get_or_init(|| Bytes::from(body)).clone())
}

fn serde_urlencoded_params<T: serde::de::DeserializeOwned + Default>(
    query: Option<&str>,
) -> Result<T> {
    match query {
        None | Some("") => Ok(T::default()),
        Some(q) => axum::extract::Query::<T>::try_from_uri(
            &format!("/?{q}")
                .parse()
                .map_err(|_| Error::BadRequest("Invalid query string".into()))?,
        )
        .map(|axum::extract::Query(v)| v)
        .map_err(|e| Error::BadRequest(format!("Invalid query parameter: {}", e.body_text()))),
    }
}

/// The schema text in a requested `format` (`None`: the stored canonical text).
pub(crate) async fn formatted(
    reg: &AppState,
    id: i64,
    format: Option<&str>,
) -> Result<Option<String>> {
    match format.map(str::trim).filter(|f| !f.is_empty()) {
        None | Some("default") => Ok(None),
        Some(format) => {
            let parsed = reg.parsed(id).await?;
            parsed
                .formatted(format)
                .map(Some)
                .map_err(|e| Error::BadRequest(e.to_string()))
        }
    }
}

#[utoipa::path(
    get,
    path = "/schemas/ids/{id}/schema",
    tag = "schemas",
    operation_id = "schemas_raw_by_id",
    summary = "The schema text alone, by id",
    params(("id" = i64, Path, description = "The schema id"), ("format" = Option<String>, Query, description = "Schema format (e.g. `resolved` for Avro, `serialized` for Protobuf)"), ("subject" = Option<String>, Query, description = "Only this subject")),
    responses((status = 200, description = "The schema text as JSON", body = Object), (status = 404, description = "40403: no such schema", body = crate::openapi::ErrorBody))
)]
async fn raw_by_id(
    State(reg): State<AppState>,
    Accept(media): Accept,
    Path(raw): Path<String>,
    Params(params): Params<IdParams>,
) -> Result<Response> {
    let id = schema_id(&raw)?;
    let cached = reg
        .schema(id)
        .await?
        .ok_or_else(|| Error::SchemaIdNotFound(id.to_string()))?;
    let text = formatted(&reg, id, params.format.as_deref())
        .await?
        .unwrap_or_else(|| cached.record.schema.clone());
    Ok(bytes_response(StatusCode::OK, media, text.into()))
}

#[derive(Debug, Default, Deserialize)]
struct ListParams {
    #[serde(default, deserialize_with = "super::params::flag")]
    deleted: bool,
    offset: Option<i64>,
    limit: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/schemas/ids/{id}/subjects",
    tag = "schemas",
    operation_id = "schemas_subjects_of_id",
    summary = "Subjects holding a schema id",
    params(("id" = i64, Path, description = "The schema id"), ("subject" = Option<String>, Query, description = "Only this subject"), ("deleted" = Option<bool>, Query, description = "Include soft-deleted entries"), ("offset" = Option<i64>, Query, description = "Skip this many entries"), ("limit" = Option<i64>, Query, description = "At most this many entries")),
    responses((status = 200, description = "Subjects", body = Vec<String>), (status = 404, description = "40403: no such schema", body = crate::openapi::ErrorBody))
)]
async fn subjects_of_id(
    State(reg): State<AppState>,
    Accept(media): Accept,
    access: Access,
    Path(raw): Path<String>,
    Params(params): Params<ListParams>,
) -> Result<Response> {
    let id = schema_id(&raw)?;
    if reg.schema(id).await?.is_none() {
        return Err(Error::SchemaNotFound);
    }
    let mut subjects: Vec<String> = reg
        .versions_of_schema(id)
        .await?
        .into_iter()
        .filter(|sv| params.deleted || !sv.version.deleted)
        .filter(|sv| access.may_read_subject(&sv.subject))
        .map(|sv| sv.subject)
        .collect();
    subjects.dedup();
    Ok(ok(media, &paginate(subjects, params.offset, params.limit)))
}

#[utoipa::path(
    get,
    path = "/schemas/ids/{id}/versions",
    tag = "schemas",
    operation_id = "schemas_versions_of_id",
    summary = "Subject versions holding a schema id",
    params(("id" = i64, Path, description = "The schema id"), ("subject" = Option<String>, Query, description = "Only this subject"), ("deleted" = Option<bool>, Query, description = "Include soft-deleted entries"), ("offset" = Option<i64>, Query, description = "Skip this many entries"), ("limit" = Option<i64>, Query, description = "At most this many entries")),
    responses((status = 200, description = "Subject versions", body = Vec<crate::openapi::SubjectVersion>), (status = 404, description = "40403: no such schema", body = crate::openapi::ErrorBody))
)]
async fn versions_of_id(
    State(reg): State<AppState>,
    Accept(media): Accept,
    access: Access,
    Path(raw): Path<String>,
    Params(params): Params<ListParams>,
) -> Result<Response> {
    let id = schema_id(&raw)?;
    if reg.schema(id).await?.is_none() {
        return Err(Error::SchemaNotFound);
    }
    let list: Vec<SubjectVersionEntity> = reg
        .versions_of_schema(id)
        .await?
        .into_iter()
        .filter(|sv| params.deleted || !sv.version.deleted)
        .filter(|sv| access.may_read_subject(&sv.subject))
        .map(|sv| SubjectVersionEntity {
            subject: sv.subject,
            version: sv.version.version,
        })
        .collect();
    Ok(ok(media, &paginate(list, params.offset, params.limit)))
}

#[utoipa::path(
    get,
    path = "/schemas/guids/{guid}",
    tag = "schemas",
    operation_id = "schemas_by_guid",
    summary = "A schema by GUID",
    params(("guid" = String, Path, description = "The schema GUID"), ("format" = Option<String>, Query, description = "Schema format (e.g. `resolved` for Avro, `serialized` for Protobuf)")),
    responses((status = 200, description = "The schema", body = crate::openapi::SchemaById), (status = 404, description = "40403: no such schema", body = crate::openapi::ErrorBody))
)]
async fn by_guid(
    State(reg): State<AppState>,
    Accept(media): Accept,
    Path(guid): Path<String>,
    Params(params): Params<IdParams>,
) -> Result<Response> {
    let cached = reg
        .schema_by_guid(&guid)
        .await?
        .ok_or_else(|| Error::SchemaIdNotFound(guid.clone()))?;
    let text = formatted(&reg, cached.record.id, params.format.as_deref()).await?;
    Ok(ok(
        media,
        &SchemaStringEntity::new(
            &cached.record,
            text.as_deref().unwrap_or(&cached.record.schema),
        ),
    ))
}

#[utoipa::path(
    get,
    path = "/schemas/guids/{guid}/ids",
    tag = "schemas",
    operation_id = "schemas_ids_of_guid",
    summary = "The ids of a schema GUID",
    params(("guid" = String, Path, description = "The schema GUID")),
    responses((status = 200, description = "Ids", body = Object), (status = 404, description = "40403: no such schema", body = crate::openapi::ErrorBody))
)]
async fn ids_of_guid(
    State(reg): State<AppState>,
    Accept(media): Accept,
    access: Access,
    Path(guid): Path<String>,
) -> Result<Response> {
    let ids: Vec<serde_json::Value> = match reg.schema_by_guid(&guid).await? {
        // A schema only forbidden subjects hold is answered as a missing one.
        Some(c)
            if !crate::auth::middleware::may_read_schema(&reg, &access, c.record.id).await? =>
        {
            Vec::new()
        }
        Some(c) => vec![serde_json::json!({"context": ".", "id": c.record.id})],
        None => Vec::new(),
    };
    Ok(ok(media, &ids))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SchemasParams {
    subject_prefix: Option<String>,
    #[serde(default, deserialize_with = "super::params::flag")]
    deleted: bool,
    #[serde(default, deserialize_with = "super::params::flag")]
    latest_only: bool,
    offset: Option<i64>,
    limit: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/schemas",
    tag = "schemas",
    operation_id = "schemas_list",
    summary = "Every schema version",
    params(("subjectPrefix" = Option<String>, Query, description = "Only subjects starting with this"), ("deleted" = Option<bool>, Query, description = "Include soft-deleted entries"), ("latestOnly" = Option<bool>, Query, description = "Only the latest version of each subject"), ("offset" = Option<i64>, Query, description = "Skip this many entries"), ("limit" = Option<i64>, Query, description = "At most this many entries")),
    responses((status = 200, description = "Schema versions", body = Vec<crate::openapi::VersionBody>))
)]
async fn list(
    State(reg): State<AppState>,
    Accept(media): Accept,
    access: Access,
    Params(params): Params<SchemasParams>,
) -> Result<Response> {
    let prefix = subject_prefix(params.subject_prefix.as_deref());
    let mut rows: Vec<_> = reg
        .all_versions()
        .await?
        .into_iter()
        .filter(|sv| sv.subject.starts_with(prefix) && (params.deleted || !sv.version.deleted))
        .filter(|sv| access.may_read_subject(&sv.subject))
        .collect();
    if params.latest_only {
        // all_versions is ordered by subject then version: keep the last of each subject.
        let mut latest: Vec<_> = Vec::new();
        for sv in rows {
            if latest
                .last()
                .is_some_and(|l: &crate::storage::SubjectVersion| l.subject == sv.subject)
            {
                latest.pop();
            }
            latest.push(sv);
        }
        rows = latest;
    }
    // Confluent's schema.search.default.limit is 1000.
    let limit = params.limit.filter(|l| *l > 0).or(Some(1000));
    let rows = paginate(rows, params.offset, limit);
    let mut schemas = Vec::with_capacity(rows.len());
    for sv in &rows {
        if let Some(cached) = reg.schema(sv.version.schema_id).await? {
            schemas.push((sv, cached));
        }
    }
    let entities: Vec<SchemaEntity<'_>> = schemas
        .iter()
        .map(|(sv, c)| {
            SchemaEntity::new(
                &sv.subject,
                sv.version.version,
                &c.record,
                sv.version.deleted,
            )
        })
        .collect();
    Ok(ok(media, &entities))
}
