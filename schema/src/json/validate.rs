//! Validating payloads (JSON documents) against a schema, for the serde library. The
//! validator is compiled once per parsed schema, with the referenced subjects registered at
//! the URIs their `$ref`s resolve to, and never fetches anything remote.

use serde_json::Value;

use super::draft::Draft;
use super::loader::Document;
use crate::{Error, Result, SchemaType};

/// `value` as the validator should read it. Without a `$schema` naming no known draft:
/// Confluent reads such schemas as draft 7, while the validator would try to fetch the
/// unknown meta-schema. A 2019-09 document declares 2020-12 instead: Confluent validates
/// 2019-09 payloads with json-sKema, which applies 2020-12 rules (`prefixItems`), as its
/// compatibility check reads the schema.
fn known_meta_schema(value: &Value) -> Value {
    let declared = value
        .get("$schema")
        .and_then(Value::as_str)
        .map(Draft::from_meta_schema_url);
    let mut value = value.clone();
    if let Value::Object(map) = &mut value {
        match declared {
            Some(None) => {
                map.shift_remove("$schema");
            }
            Some(Some(Draft::Draft201909)) => {
                map.insert("$schema".into(), Value::String(DRAFT_2020_12.into()));
            }
            _ => {}
        }
    }
    value
}

const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";

/// The rules the validator applies to a document of `draft` (2019-09 is read as 2020-12).
fn validator_draft(draft: Draft) -> jsonschema::Draft {
    match draft {
        Draft::Draft201909 => jsonschema::Draft::Draft202012,
        other => other.to_validator_draft(),
    }
}

/// A compiled payload validator.
pub struct PayloadValidator {
    inner: jsonschema::Validator,
}

impl std::fmt::Debug for PayloadValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayloadValidator").finish_non_exhaustive()
    }
}

impl PayloadValidator {
    /// Compile the validator for `docs[0]`, with the other documents available to `$ref`.
    pub(crate) fn compile(docs: &[Document<'_>], draft: Draft) -> Result<Self> {
        let mut options = jsonschema::options().with_draft(validator_draft(draft));
        for doc in docs.iter().skip(1) {
            let resource = validator_draft(doc.draft).create_resource(known_meta_schema(doc.value));
            options = options.with_resource(doc.uri.clone(), resource);
        }
        let root = docs
            .first()
            .map(|d| known_meta_schema(d.value))
            .unwrap_or(Value::Bool(true));
        let inner = options.build(&root).map_err(|e| {
            Error::invalid(
                SchemaType::Json,
                format!("The schema cannot be compiled: {e}"),
            )
        })?;
        Ok(PayloadValidator { inner })
    }

    /// `Ok` if `value` is valid, else one message per violation (`<path>: <reason>`).
    pub fn validate(&self, value: &Value) -> std::result::Result<(), Vec<String>> {
        let errors: Vec<String> = self
            .inner
            .iter_errors(value)
            .map(|e| format!("#{}: {e}", e.instance_path))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Whether `value` is valid (cheaper than [`PayloadValidator::validate`]).
    pub fn is_valid(&self, value: &Value) -> bool {
        self.inner.is_valid(value)
    }
}
