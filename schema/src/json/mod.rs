//! JSON Schema: parsing (drafts 4, 6, 7, 2019-09 and 2020-12, chosen by `$schema`, draft 7 by
//! default as in Confluent), canonical text, normalisation, payload validation and Confluent's
//! `SchemaDiff` compatibility (STRICT and LENIENT).
//!
//! - [`parse`](parse.rs): JSON syntax, the draft's meta-schema, the referenced documents.
//! - [`loader`](loader.rs) and [`model`](model.rs): the document read as Confluent's schema
//!   library reads it, with `$ref` resolved within the document and into references.
//! - [`diff`](diff/mod.rs): every difference between two schemas, typed as Confluent types them.
//! - [`validate`](validate.rs): the payload validator, compiled once per schema.
//! - [`normalize`](normalize.rs): sorted keys.
//!
//! This module does no I/O: referenced schemas arrive as [`Dependency`] values whose `name`
//! is the `$ref` URL.
//!
//! ```
//! use strata_schema::json::{self, JsonSchema};
//! use strata_schema::{CompatibilityPolicy, FormatSchema, ParseOptions};
//!
//! let old = JsonSchema::parse(r#"{"type":"number"}"#, &[], ParseOptions::default())?;
//! let new = JsonSchema::parse(r#"{"type":"integer"}"#, &[], ParseOptions::default())?;
//! // Every difference, compatible or not, as Confluent's SchemaDiff lists them.
//! assert_eq!(json::diff(&old, &new)[0].to_string(), "TYPE_NARROWED #/");
//! // What stops the new schema from reading old data, with Confluent's message.
//! let found = new.backward_differences(&old, CompatibilityPolicy::Strict);
//! assert!(found[0].message.starts_with(r#"{errorType:"TYPE_NARROWED""#));
//! // Payloads are checked by a validator compiled once, at parse time.
//! assert!(new.validate(&serde_json::json!(3)).is_ok());
//! assert!(new.validate(&serde_json::json!(3.5)).is_err());
//! # Ok::<(), strata_schema::Error>(())
//! ```

mod canonical;
mod diff;
mod draft;
mod loader;
mod model;
mod normalize;
mod parse;
mod uri;
mod validate;

use serde_json::Value;

pub use diff::{Difference, DifferenceType};
pub use draft::Draft;
pub use validate::PayloadValidator;

use crate::{
    CompatibilityPolicy, Dependency, FormatSchema, Incompatibility, ParseOptions, Result,
    SchemaType,
};

/// A parsed, validated JSON schema with its references resolved.
#[derive(Debug)]
pub struct JsonSchema {
    canonical: String,
    dependencies: Vec<Dependency>,
    // Boxed so `ParsedSchema` stays small whichever format it holds.
    inner: Box<Inner>,
}

#[derive(Debug)]
struct Inner {
    value: Value,
    draft: Draft,
    model: model::Model,
    validator: PayloadValidator,
}

impl JsonSchema {
    /// The schema as JSON.
    pub fn value(&self) -> &Value {
        &self.inner.value
    }

    /// The draft the schema declares (draft 7 when `$schema` is absent or unknown).
    pub fn draft(&self) -> Draft {
        self.inner.draft
    }

    /// The payload validator, compiled when the schema was parsed.
    pub fn validator(&self) -> &PayloadValidator {
        &self.inner.validator
    }

    /// Validate a payload: `Ok` or one message per violation.
    pub fn validate(&self, value: &Value) -> std::result::Result<(), Vec<String>> {
        self.inner.validator.validate(value)
    }
}

/// Every difference, compatible ones included, between `original` (the writer, e.g. the
/// registered version) and `update` (the reader, e.g. the new schema), as Confluent's
/// `SchemaDiff.compare(original, update)` finds them under the STRICT policy.
pub fn diff(original: &JsonSchema, update: &JsonSchema) -> Vec<Difference> {
    diff_with_policy(original, update, CompatibilityPolicy::Strict)
}

/// [`diff`] under `policy` (the policy decides which branch of a union or which partial
/// content model counts as covering a value, so it can change the list).
pub fn diff_with_policy(
    original: &JsonSchema,
    update: &JsonSchema,
    policy: CompatibilityPolicy,
) -> Vec<Difference> {
    diff::compare_models(&original.inner.model, &update.inner.model, policy)
}

impl FormatSchema for JsonSchema {
    const TYPE: SchemaType = SchemaType::Json;

    fn parse(text: &str, dependencies: &[Dependency], _options: ParseOptions) -> Result<Self> {
        let value = parse::parse_json(text)?;
        let draft = Draft::detect(&value);
        parse::check_meta_schema(&value, draft, "The schema")?;
        let deps = parse::flatten_dependencies(dependencies)?;
        let base = parse::base_uri(&value, draft);
        let docs = parse::documents(&value, draft, &base, &deps);
        let model = loader::load(&docs)?;
        let validator = PayloadValidator::compile(&docs, draft)?;
        // Confluent's canonical string: compact JSON, key order preserved, numbers as Jackson
        // writes them.
        let canonical = canonical::canonical(text).unwrap_or_else(|| value.to_string());
        Ok(JsonSchema {
            canonical,
            dependencies: dependencies.to_vec(),
            inner: Box::new(Inner {
                value,
                draft,
                model,
                validator,
            }),
        })
    }

    fn canonical(&self) -> &str {
        &self.canonical
    }

    fn normalize(&self) -> Result<Self> {
        let text = canonical::sorted(&self.canonical)
            .unwrap_or_else(|| normalize::sort_keys(&self.inner.value).to_string());
        let dependencies = normalize::sort_dependencies(&self.dependencies);
        JsonSchema::parse(&text, &dependencies, ParseOptions::default())
    }

    fn backward_differences(
        &self,
        writer: &Self,
        policy: CompatibilityPolicy,
    ) -> Vec<Incompatibility> {
        let max_pairs = crate::limits::max_compared_pairs();
        let found = match diff::compare_models_bounded(
            &writer.inner.model,
            &self.inner.model,
            policy,
            max_pairs,
        ) {
            Ok(found) => found,
            Err(too_complex) => {
                return vec![Incompatibility {
                    kind: crate::limits::LIMIT_EXCEEDED.into(),
                    path: "#/".into(),
                    message: format!(
                        "The compatibility check compared more than {} pairs of subschemas \
                         (max_compared_pairs): nested allOf/anyOf/oneOf multiply the pairs \
                         to compare; simplify the schema or raise the limit",
                        too_complex.max_pairs
                    ),
                }]
            }
        };
        found
            .into_iter()
            .filter(|d| !d.is_compatible(policy))
            .map(|d| Incompatibility {
                kind: d.kind.as_str().to_string(),
                message: d.message(),
                path: d.path,
            })
            .collect()
    }

    fn record_name(&self) -> Option<String> {
        // Confluent: `getString("title")`, i.e. the title's text.
        match self.inner.value.get("title")? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    fn dependencies(&self) -> &[Dependency] {
        &self.dependencies
    }
}
