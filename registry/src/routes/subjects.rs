//! `/subjects`: listing, lookup, registration, versions, references and deletes.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::params::{paginate, subject, subject_prefix, version, Params};
use super::schemas::formatted;
use super::AppState;
use crate::auth::Access;
use crate::cache::CachedVersion;
use crate::entities::{RegisterSchemaRequest, SchemaEntity};
use crate::http::{bytes_response, ok, Accept, JsonBody};
use crate::registry::RegisterOptions;
use crate::Result;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(lookup, delete_subject))
        .routes(routes!(versions, register))
        .routes(routes!(get_version, delete_version))
        .routes(routes!(raw_version))
        .routes(routes!(referenced_by))
        .routes(routes!(latest_with_metadata))
}

/// `GET /subjects/{subject}/metadata?key=K&value=V…[&deleted=true][&format=F]`: the latest
/// version whose schema metadata properties hold every pair (the n-th `key` goes with the n-th
/// `value`), as `GET /subjects/{subject}/versions/{version}` shows a version.
#[utoipa::path(
    get,
    path = "/subjects/{subject}/metadata",
    tag = "subjects",
    operation_id = "subjects_latest_with_metadata",
    summary = "The latest version whose metadata holds the given properties",
    params(("subject" = String, Path, description = "The subject"), ("key" = Option<String>, Query, description = "Metadata property name (repeatable)"), ("value" = Option<String>, Query, description = "Metadata property value (repeatable)"), ("deleted" = Option<bool>, Query, description = "Include soft-deleted entries"), ("format" = Option<String>, Query, description = "Schema format (e.g. `resolved` for Avro, `serialized` for Protobuf)")),
    responses((status = 200, description = "The version", body = crate::openapi::VersionBody), (status = 404, description = "40401: no such subject; 40403: none matches", body = crate::openapi::ErrorBody))
)]
async fn latest_with_metadata(
    State(reg): State<AppState>,
    Accept(media): Accept,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let subject = subject(&raw)?;
    let (mut keys, mut values) = (Vec::new(), Vec::new());
    let (mut deleted, mut format) = (false, None);
    for (name, value) in url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes()) {
        match &*name {
            "key" => keys.push(value.into_owned()),
            "value" => values.push(value.into_owned()),
            "deleted" => deleted = value.trim().eq_ignore_ascii_case("true"),
            "format" => format = Some(value.into_owned()),
            _ => {}
        }
    }
    if keys.len() != values.len() {
        return Err(crate::Error::BadRequest(format!(
            "Invalid query parameter: {} key(s) but {} value(s); give key=K&value=V in pairs",
            keys.len(),
            values.len()
        )));
    }
    let pairs: Vec<(String, String)> = keys.into_iter().zip(values).collect();
    let (v, schema) = reg.version_with_metadata(&subject, &pairs, deleted).await?;
    let text = formatted(&reg, v.schema_id, format.as_deref()).await?;
    let mut entity = SchemaEntity::new(subject.as_str(), v.version, &schema.record, v.deleted);
    if let Some(text) = &text {
        entity.schema = text;
    }
    Ok(ok(media, &entity))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListParams {
    subject_prefix: Option<String>,
    #[serde(default, deserialize_with = "super::params::flag")]
    deleted: bool,
    #[serde(default, deserialize_with = "super::params::flag")]
    deleted_only: bool,
    offset: Option<i64>,
    limit: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/subjects",
    tag = "subjects",
    operation_id = "subjects_list",
    summary = "Subjects",
    params(("subjectPrefix" = Option<String>, Query, description = "Only subjects starting with this"), ("deleted" = Option<bool>, Query, description = "Include soft-deleted entries"), ("deletedOnly" = Option<bool>, Query, description = "Only soft-deleted entries"), ("offset" = Option<i64>, Query, description = "Skip this many entries"), ("limit" = Option<i64>, Query, description = "At most this many entries")),
    responses((status = 200, description = "Subject names", body = Vec<String>))
)]
async fn list(
    State(reg): State<AppState>,
    Accept(media): Accept,
    access: Access,
    Params(params): Params<ListParams>,
) -> Result<Response> {
    let prefix = subject_prefix(params.subject_prefix.as_deref());
    let mut subjects: Vec<(String, bool, bool)> = Vec::new(); // (subject, any live, any deleted)
    for sv in reg.all_versions().await? {
        if !sv.subject.starts_with(prefix) || !access.may_read_subject(&sv.subject) {
            continue;
        }
        match subjects.last_mut() {
            Some(last) if last.0 == sv.subject => {
                last.1 |= !sv.version.deleted;
                last.2 |= sv.version.deleted;
            }
            _ => subjects.push((sv.subject, !sv.version.deleted, sv.version.deleted)),
        }
    }
    let names: Vec<String> = subjects
        .into_iter()
        .filter(|(_, any_live, _)| {
            if params.deleted_only {
                !any_live
            } else {
                params.deleted || *any_live
            }
        })
        .map(|(s, _, _)| s)
        .collect();
    Ok(ok(media, &paginate(names, params.offset, params.limit)))
}

#[derive(Debug, Default, Deserialize)]
struct LookupParams {
    #[serde(default, deserialize_with = "super::params::flag")]
    normalize: bool,
    #[serde(default, deserialize_with = "super::params::flag")]
    deleted: bool,
}

#[utoipa::path(
    post,
    path = "/subjects/{subject}",
    tag = "subjects",
    operation_id = "subjects_lookup",
    summary = "Look a schema up in a subject",
    params(("subject" = String, Path, description = "The subject"), ("normalize" = Option<bool>, Query, description = "Normalize the schema first"), ("deleted" = Option<bool>, Query, description = "Include soft-deleted entries")),
    request_body(content = crate::openapi::SchemaRequest, content_type = "application/vnd.schemaregistry.v1+json"),
    responses((status = 200, description = "The version holding it", body = crate::openapi::VersionBody), (status = 404, description = "40401: no such subject; 40403: no such schema", body = crate::openapi::ErrorBody))
)]
async fn lookup(
    State(reg): State<AppState>,
    Accept(media): Accept,
    Path(raw): Path<String>,
    Params(params): Params<LookupParams>,
    JsonBody(req): JsonBody<RegisterSchemaRequest>,
) -> Result<Response> {
    let subject = subject(&raw)?;
    let (v, schema) = reg
        .lookup(&subject, &req, params.normalize, params.deleted)
        .await?;
    Ok(ok(
        media,
        &SchemaEntity::new(subject.as_str(), v.version, &schema.record, v.deleted),
    ))
}

#[derive(Debug, Default, Deserialize)]
struct PermanentParams {
    #[serde(default, deserialize_with = "super::params::flag")]
    permanent: bool,
}

#[utoipa::path(
    delete,
    path = "/subjects/{subject}",
    tag = "subjects",
    operation_id = "subjects_delete_subject",
    summary = "Delete a subject (soft, or permanent)",
    params(("subject" = String, Path, description = "The subject"), ("permanent" = Option<bool>, Query, description = "Delete permanently (after a soft delete)")),
    responses((status = 200, description = "The deleted versions", body = Vec<i32>), (status = 404, description = "40401: no such subject", body = crate::openapi::ErrorBody))
)]
async fn delete_subject(
    State(reg): State<AppState>,
    Accept(media): Accept,
    Path(raw): Path<String>,
    Params(params): Params<PermanentParams>,
) -> Result<Response> {
    let subject = subject(&raw)?;
    let deleted = reg.delete_subject(&subject, params.permanent).await?;
    Ok(ok(media, &deleted))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VersionsParams {
    #[serde(default, deserialize_with = "super::params::flag")]
    deleted: bool,
    #[serde(default, deserialize_with = "super::params::flag")]
    deleted_only: bool,
    #[serde(default, deserialize_with = "super::params::flag")]
    deleted_as_negative: bool,
    offset: Option<i64>,
    limit: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/subjects/{subject}/versions",
    tag = "subjects",
    operation_id = "subjects_versions",
    summary = "A subject's versions",
    params(("subject" = String, Path, description = "The subject"), ("deleted" = Option<bool>, Query, description = "Include soft-deleted entries"), ("deletedOnly" = Option<bool>, Query, description = "Only soft-deleted entries"), ("deletedAsNegative" = Option<bool>, Query, description = "Soft-deleted versions as negative numbers"), ("offset" = Option<i64>, Query, description = "Skip this many entries"), ("limit" = Option<i64>, Query, description = "At most this many entries")),
    responses((status = 200, description = "Version numbers", body = Vec<i32>), (status = 404, description = "40401: no such subject", body = crate::openapi::ErrorBody))
)]
async fn versions(
    State(reg): State<AppState>,
    Accept(media): Accept,
    Path(raw): Path<String>,
    Params(params): Params<VersionsParams>,
) -> Result<Response> {
    let subject = subject(&raw)?;
    let all = reg.versions(&subject).await?;
    let visible: Vec<i32> = all
        .iter()
        .filter(|v| {
            if params.deleted_only {
                v.deleted
            } else {
                params.deleted || params.deleted_as_negative || !v.deleted
            }
        })
        .map(|v| {
            if params.deleted_as_negative && v.deleted {
                -v.version
            } else {
                v.version
            }
        })
        .collect();
    if all.is_empty() || (visible.is_empty() && !params.deleted_only) {
        return Err(crate::Error::SubjectNotFound(subject.to_string()));
    }
    Ok(ok(media, &paginate(visible, params.offset, params.limit)))
}

#[derive(Debug, Default, Deserialize)]
struct RegisterParams {
    #[serde(default, deserialize_with = "super::params::flag")]
    normalize: bool,
    #[serde(default, deserialize_with = "super::params::flag")]
    force: bool,
}

#[utoipa::path(
    post,
    path = "/subjects/{subject}/versions",
    tag = "subjects",
    operation_id = "subjects_register",
    summary = "Register a schema under a subject",
    params(("subject" = String, Path, description = "The subject"), ("normalize" = Option<bool>, Query, description = "Normalize the schema first")),
    request_body(content = crate::openapi::SchemaRequest, content_type = "application/vnd.schemaregistry.v1+json"),
    responses((status = 200, description = "Its id", body = crate::openapi::RegisteredId), (status = 409, description = "Incompatible with earlier versions", body = crate::openapi::ErrorBody), (status = 422, description = "42201: invalid schema", body = crate::openapi::ErrorBody))
)]
async fn register(
    State(reg): State<AppState>,
    Accept(media): Accept,
    Path(raw): Path<String>,
    Params(params): Params<RegisterParams>,
    JsonBody(req): JsonBody<RegisterSchemaRequest>,
) -> Result<Response> {
    let subject = subject(&raw)?;
    let registered = reg
        .register(
            &subject,
            &req,
            RegisterOptions {
                normalize: params.normalize,
                force: params.force,
            },
        )
        .await?;
    // Confluent 7.5+ answers with the whole schema, not only the id.
    let mut response = ok(
        media,
        &SchemaEntity::new(
            subject.as_str(),
            registered.version,
            &registered.schema.record,
            false,
        ),
    );
    response.extensions_mut().insert(crate::audit::Audited {
        id: registered.schema.record.id,
        version: registered.version,
    });
    Ok(response)
}

#[derive(Debug, Default, Deserialize)]
struct VersionParams {
    #[serde(default, deserialize_with = "super::params::flag")]
    deleted: bool,
    format: Option<String>,
}

#[utoipa::path(
    get,
    path = "/subjects/{subject}/versions/{version}",
    tag = "subjects",
    operation_id = "subjects_get_version",
    summary = "A subject version",
    params(("subject" = String, Path, description = "The subject"), ("version" = String, Path, description = "A version number, or `latest` (-1)"), ("deleted" = Option<bool>, Query, description = "Include soft-deleted entries"), ("format" = Option<String>, Query, description = "Schema format (e.g. `resolved` for Avro, `serialized` for Protobuf)")),
    responses((status = 200, description = "The version", body = crate::openapi::VersionBody), (status = 404, description = "40401: no such subject; 40402: no such version", body = crate::openapi::ErrorBody))
)]
async fn get_version(
    State(reg): State<AppState>,
    Accept(media): Accept,
    Path((raw, raw_version)): Path<(String, String)>,
    Params(params): Params<VersionParams>,
) -> Result<Response> {
    let subject = subject(&raw)?;
    let version = version(&raw_version)?;
    if params.format.is_none() {
        let cached = reg.version(&subject, version, params.deleted).await?;
        return Ok(bytes_response(
            StatusCode::OK,
            media,
            version_body(&cached)?,
        ));
    }
    let (v, schema) = reg
        .version_schema(&subject, version, params.deleted)
        .await?;
    let text = formatted(&reg, v.schema_id, params.format.as_deref()).await?;
    let mut entity = SchemaEntity::new(subject.as_str(), v.version, &schema.record, v.deleted);
    if let Some(text) = &text {
        entity.schema = text;
    }
    Ok(ok(media, &entity))
}

/// The body of `GET /subjects/{s}/versions/{v}` without `format`, rendered once per cached
/// version.
fn version_body(cached: &CachedVersion) -> Result<Bytes> {
    if let Some(body) = cached.rendered.get() {
        return Ok(body.clone());
    }
    let v = &cached.version;
    let body = serde_json::to_vec(&SchemaEntity::new(
        &cached.subject,
        v.version,
        &cached.schema.record,
        v.deleted,
    ))
    .map_err(|e| crate::Error::Internal(e.to_string()))?;
    Ok(cached.rendered.get_or_init(|| Bytes::from(body)).clone())
}

#[utoipa::path(
    get,
    path = "/subjects/{subject}/versions/{version}/schema",
    tag = "subjects",
    operation_id = "subjects_raw_version",
    summary = "The schema text alone of a subject version",
    params(("subject" = String, Path, description = "The subject"), ("version" = String, Path, description = "A version number, or `latest` (-1)"), ("deleted" = Option<bool>, Query, description = "Include soft-deleted entries"), ("format" = Option<String>, Query, description = "Schema format (e.g. `resolved` for Avro, `serialized` for Protobuf)")),
    responses((status = 200, description = "The schema text as JSON", body = Object), (status = 404, description = "40401: no such subject; 40402: no such version", body = crate::openapi::ErrorBody))
)]
async fn raw_version(
    State(reg): State<AppState>,
    Accept(media): Accept,
    Path((raw, raw_version)): Path<(String, String)>,
    Params(params): Params<VersionParams>,
) -> Result<Response> {
    let subject = subject(&raw)?;
    let version = version(&raw_version)?;
    let (v, schema) = reg
        .version_schema(&subject, version, params.deleted)
        .await?;
    let text = formatted(&reg, v.schema_id, params.format.as_deref())
        .await?
        .unwrap_or_else(|| schema.record.schema.clone());
    Ok(bytes_response(StatusCode::OK, media, text.into()))
}

#[derive(Debug, Default, Deserialize)]
struct ReferencedByParams {
    #[serde(default, deserialize_with = "super::params::flag")]
    deleted: bool,
    offset: Option<i64>,
    limit: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/subjects/{subject}/versions/{version}/referencedby",
    tag = "subjects",
    operation_id = "subjects_referenced_by",
    summary = "Ids of schemas referencing a subject version",
    params(("subject" = String, Path, description = "The subject"), ("version" = String, Path, description = "A version number, or `latest` (-1)"), ("deleted" = Option<bool>, Query, description = "Include soft-deleted entries"), ("offset" = Option<i64>, Query, description = "Skip this many entries"), ("limit" = Option<i64>, Query, description = "At most this many entries")),
    responses((status = 200, description = "Schema ids", body = Vec<i64>), (status = 404, description = "40401: no such subject; 40402: no such version", body = crate::openapi::ErrorBody))
)]
async fn referenced_by(
    State(reg): State<AppState>,
    Accept(media): Accept,
    Path((raw, raw_version)): Path<(String, String)>,
    Params(params): Params<ReferencedByParams>,
) -> Result<Response> {
    let subject = subject(&raw)?;
    let version = version(&raw_version)?;
    let v = reg.find_version(&subject, version, params.deleted).await?;
    let ids = reg
        .referenced_by(&subject, v.version, params.deleted)
        .await?;
    Ok(ok(media, &paginate(ids, params.offset, params.limit)))
}

#[utoipa::path(
    delete,
    path = "/subjects/{subject}/versions/{version}",
    tag = "subjects",
    operation_id = "subjects_delete_version",
    summary = "Delete a subject version (soft, or permanent)",
    params(("subject" = String, Path, description = "The subject"), ("version" = String, Path, description = "A version number, or `latest` (-1)"), ("permanent" = Option<bool>, Query, description = "Delete permanently (after a soft delete)")),
    responses((status = 200, description = "The deleted version", body = i32), (status = 404, description = "40401: no such subject; 40402: no such version", body = crate::openapi::ErrorBody))
)]
async fn delete_version(
    State(reg): State<AppState>,
    Accept(media): Accept,
    Path((raw, raw_version)): Path<(String, String)>,
    Params(params): Params<PermanentParams>,
) -> Result<Response> {
    let subject = subject(&raw)?;
    let version = version(&raw_version)?;
    let deleted = reg
        .delete_version(&subject, version, params.permanent)
        .await?;
    Ok(ok(media, &json!(deleted)))
}
