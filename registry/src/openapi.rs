//! `GET /openapi.json`: the OpenAPI 3.1 document of the REST API, generated with `utoipa` from
//! the route definitions themselves. Each handler carries `#[utoipa::path]` and each
//! `routes/*.rs` router is a `utoipa_axum` `OpenApiRouter` built with `routes!`, so the path
//! and methods that axum routes and those the document lists come from one declaration and
//! cannot drift apart.
//!
//! The body types here describe Confluent's JSON shapes for the document only; the handlers
//! read and write the types of `crate::entities`.

use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use utoipa::ToSchema;

/// Confluent's error body.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    /// Confluent's error code, e.g. 40401 (subject not found), 42201 (invalid schema).
    error_code: i32,
    /// What went wrong.
    message: String,
}

/// A reference to another subject's version.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Reference {
    /// The name the schema imports it by.
    name: String,
    /// The subject.
    subject: String,
    /// The version.
    version: i32,
}

/// The body of register, lookup and compatibility calls.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct SchemaRequest {
    /// The schema text (empty: the latest version's, with new metadata).
    schema: Option<String>,
    /// `AVRO` (default), `PROTOBUF` or `JSON`.
    schema_type: Option<String>,
    /// References to other subjects' versions.
    references: Option<Vec<Reference>>,
    /// Stored verbatim.
    #[schema(value_type = Option<Object>)]
    metadata: Option<Value>,
    /// Stored verbatim.
    #[schema(value_type = Option<Object>)]
    rule_set: Option<Value>,
    /// IMPORT mode only: the id to register under.
    id: Option<i64>,
    /// IMPORT mode only: the version to register as.
    version: Option<i32>,
}

/// A registered schema's id.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RegisteredId {
    /// The global id.
    id: i64,
}

/// A schema by id.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct SchemaById {
    /// The schema text.
    schema: String,
    /// `AVRO`, `PROTOBUF` or `JSON`.
    schema_type: String,
    /// Its references.
    references: Option<Vec<Reference>>,
    /// Metadata, as registered.
    #[schema(value_type = Option<Object>)]
    metadata: Option<Value>,
    /// Rule set, as registered.
    #[schema(value_type = Option<Object>)]
    rule_set: Option<Value>,
    /// With `fetchMaxId=true`: the largest id in use.
    max_id: Option<i64>,
}

/// A subject version.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct SubjectVersion {
    /// The subject.
    subject: String,
    /// The version.
    version: i32,
}

/// A subject version with its schema.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct VersionBody {
    /// The subject.
    subject: String,
    /// The version.
    version: i32,
    /// The global id.
    id: i64,
    /// Confluent's GUID.
    guid: Option<String>,
    /// `AVRO`, `PROTOBUF` or `JSON`.
    schema_type: String,
    /// Its references.
    references: Option<Vec<Reference>>,
    /// Metadata, as registered.
    #[schema(value_type = Option<Object>)]
    metadata: Option<Value>,
    /// Rule set, as registered.
    #[schema(value_type = Option<Object>)]
    rule_set: Option<Value>,
    /// The schema text.
    schema: String,
}

/// The result of a compatibility test.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CompatibilityResult {
    /// Whether the schema is compatible.
    is_compatible: bool,
    /// With `verbose=true`: why not.
    messages: Option<Vec<String>>,
}

/// A compatibility configuration (`compatibility` or `compatibilityLevel`, `normalize`,
/// `defaultMetadata`, `overrideMetadata`, `defaultRuleSet`, `overrideRuleSet`, ...).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct ConfigBody {
    /// `NONE`, `BACKWARD`, `BACKWARD_TRANSITIVE`, `FORWARD`, `FORWARD_TRANSITIVE`, `FULL`,
    /// `FULL_TRANSITIVE`.
    compatibility_level: Option<String>,
    /// Whether schemas are normalized before registration and lookup.
    normalize: Option<bool>,
}

/// A mode.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ModeBody {
    /// `READWRITE`, `READONLY`, `READONLY_OVERRIDE` or `IMPORT`.
    mode: String,
}

/// A health probe's answer.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct HealthBody {
    /// `UP` or `DOWN`.
    status: String,
    /// Why not ready.
    reason: Option<String>,
}

/// The document's title, version and description, which the routes do not say.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Strata Schema Registry",
        description = "A Confluent Schema Registry compatible REST API. Bodies use \
            application/vnd.schemaregistry.v1+json (application/json is accepted too). With a \
            users file, requests need HTTP Basic credentials or a bearer token, except the \
            root, /schemas/types, /health/*, /metrics and /openapi.json."
    ),
    components(schemas(ErrorBody)),
    modifiers(&Security)
)]
pub struct ApiInfo;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                utoipa::openapi::security::HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The document as served: `document` rendered once.
#[derive(Debug, Clone)]
pub struct Document(pub axum::body::Bytes);

impl Document {
    /// Render `openapi`.
    pub fn new(openapi: &utoipa::openapi::OpenApi) -> Self {
        Document(
            openapi
                .to_json()
                .expect("the OpenAPI document serializes")
                .into(),
        )
    }
}

/// The OpenAPI document of this API.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    operation_id = "operations_openapi",
    summary = "This document",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API",
        content_type = "application/json", body = Object))
)]
pub(crate) async fn serve(
    axum::extract::State(document): axum::extract::State<Document>,
) -> Response {
    let mut response = document.0.into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
