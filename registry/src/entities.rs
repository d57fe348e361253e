//! Confluent's request and response bodies (Jackson `NON_EMPTY`: empty fields are omitted,
//! unknown request fields ignored). Responses always carry `schemaType` (8.x shape).

use serde::{Deserialize, Serialize};
use strata_schema::SchemaReference;

use crate::storage::SchemaRecord;

/// `RegisterSchemaRequest`: the body of register, lookup and compatibility calls.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterSchemaRequest {
    /// The schema text; empty means "the latest version's schema" (register with new metadata).
    #[serde(default)]
    pub schema: Option<String>,
    /// `AVRO` (default), `PROTOBUF`, `JSON`.
    #[serde(default)]
    pub schema_type: Option<String>,
    /// References to other subjects' versions.
    #[serde(default)]
    pub references: Option<Vec<SchemaReference>>,
    /// Stored verbatim.
    #[serde(default)]
    pub metadata: Option<serde_json::Value>,
    /// Stored verbatim.
    #[serde(default)]
    pub rule_set: Option<serde_json::Value>,
    /// IMPORT mode only: the id to register under.
    #[serde(default)]
    pub id: Option<i64>,
    /// IMPORT mode only: the version to register as.
    #[serde(default)]
    pub version: Option<i32>,
}

/// `Schema`: a subject version (GET version, lookup, register response).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaEntity<'a> {
    /// The subject.
    pub subject: &'a str,
    /// The version.
    pub version: i32,
    /// The global id.
    pub id: i64,
    /// Confluent's GUID.
    pub guid: &'a str,
    /// Always present (8.x).
    pub schema_type: &'static str,
    /// Omitted when empty.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub references: &'a [SchemaReference],
    /// Omitted when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<&'a serde_json::Value>,
    /// Omitted when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_set: Option<&'a serde_json::Value>,
    /// The canonical text.
    pub schema: &'a str,
    /// Only when true (soft-deleted versions read with `deleted=true`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

impl<'a> SchemaEntity<'a> {
    /// The entity for `record` registered as `subject` `version`.
    pub fn new(subject: &'a str, version: i32, record: &'a SchemaRecord, deleted: bool) -> Self {
        SchemaEntity {
            subject,
            version,
            id: record.id,
            guid: &record.guid,
            schema_type: record.schema_type.as_str(),
            references: &record.references,
            metadata: record.metadata.as_ref(),
            rule_set: record.rule_set.as_ref(),
            schema: &record.schema,
            deleted,
        }
    }
}

/// `SchemaString`: the body of `/schemas/ids/{id}` and `/schemas/guids/{guid}`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaStringEntity<'a> {
    /// The schema text (canonical, or in the requested `format`).
    pub schema: &'a str,
    /// Always present (8.x).
    pub schema_type: &'static str,
    /// Omitted when empty.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub references: &'a [SchemaReference],
    /// Omitted when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<&'a serde_json::Value>,
    /// Omitted when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_set: Option<&'a serde_json::Value>,
    /// Confluent's GUID.
    pub guid: &'a str,
    /// With `fetchMaxId=true`: the largest id in use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_id: Option<i64>,
}

impl<'a> SchemaStringEntity<'a> {
    /// The entity for `record`, with `schema` as the text to show.
    pub fn new(record: &'a SchemaRecord, schema: &'a str) -> Self {
        SchemaStringEntity {
            schema,
            schema_type: record.schema_type.as_str(),
            references: &record.references,
            metadata: record.metadata.as_ref(),
            rule_set: record.rule_set.as_ref(),
            guid: &record.guid,
            max_id: None,
        }
    }
}

/// `{"subject": s, "version": v}`.
#[derive(Debug, Clone, Serialize)]
pub struct SubjectVersionEntity {
    /// The subject.
    pub subject: String,
    /// The version.
    pub version: i32,
}

/// `{"is_compatible": b, "messages": [...]}`.
#[derive(Debug, Clone, Serialize)]
pub struct CompatibilityCheckResponse {
    /// The verdict.
    pub is_compatible: bool,
    /// Confluent's messages, only with `verbose=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<String>>,
}
