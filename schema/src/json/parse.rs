//! From schema text and resolved references to a checked document: JSON syntax, the shape of
//! every keyword against its draft's meta-schema, and the documents `$ref` may reach.

use serde_json::Value;

use super::draft::Draft;
use super::loader::Document;
use super::uri;
use crate::{Dependency, Error, Result, SchemaType};

/// How many meta-schema violations a rejection lists.
const MAX_REASONS: usize = 5;

fn invalid(reason: impl Into<String>) -> Error {
    Error::invalid(SchemaType::Json, reason)
}

/// Parse JSON schema text: JSON syntax and an object or boolean at the top.
pub(crate) fn parse_json(text: &str) -> Result<Value> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| invalid(format!("Invalid JSON: {e}")))?;
    if !(value.is_object() || value.is_boolean()) {
        return Err(invalid("A JSON schema must be a JSON object or a boolean"));
    }
    Ok(value)
}

fn draft_name(draft: Draft) -> &'static str {
    match draft {
        Draft::Draft4 => "draft-04",
        Draft::Draft6 => "draft-06",
        Draft::Draft7 => "draft-07",
        Draft::Draft201909 => "2019-09",
        Draft::Draft202012 => "2020-12",
    }
}

/// Check `value` against the meta-schema of `draft` (wrong keyword types such as
/// `"type": 5` or `"required": "x"`).
pub(crate) fn check_meta_schema(value: &Value, draft: Draft, what: &str) -> Result<()> {
    let meta = match draft {
        Draft::Draft4 => &*jsonschema::draft4::meta::VALIDATOR,
        Draft::Draft6 => &*jsonschema::draft6::meta::VALIDATOR,
        Draft::Draft7 => &*jsonschema::draft7::meta::VALIDATOR,
        Draft::Draft201909 => &*jsonschema::draft201909::meta::VALIDATOR,
        Draft::Draft202012 => &*jsonschema::draft202012::meta::VALIDATOR,
    };
    let reasons: Vec<String> = meta
        .iter_errors(value)
        .take(MAX_REASONS)
        .map(|e| {
            let at = e.instance_path.to_string();
            format!("at '#{at}': {e}")
        })
        .collect();
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(invalid(format!(
            "{what} is not a valid {} JSON schema: {}",
            draft_name(draft),
            reasons.join("; ")
        )))
    }
}

/// A referenced schema, parsed.
#[derive(Debug)]
pub(crate) struct ParsedDependency {
    pub(crate) name: String,
    pub(crate) value: Value,
    pub(crate) draft: Draft,
}

/// Every dependency, transitively, once per name (Confluent hands the loader a flat map of
/// resolved references).
pub(crate) fn flatten_dependencies(dependencies: &[Dependency]) -> Result<Vec<ParsedDependency>> {
    let mut out: Vec<ParsedDependency> = Vec::new();
    let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let mut stack: Vec<&Dependency> = dependencies.iter().rev().collect();
    while let Some(dep) = stack.pop() {
        if !seen.insert(dep.name.as_str()) {
            continue;
        }
        if dep.schema_type != SchemaType::Json {
            return Err(invalid(format!(
                "Reference '{}' is a {} schema; a JSON schema can only reference JSON schemas",
                dep.name, dep.schema_type
            )));
        }
        let value = parse_json(&dep.schema)
            .map_err(|e| invalid(format!("Referenced schema '{}' is invalid: {e}", dep.name)))?;
        let draft = Draft::detect(&value);
        check_meta_schema(&value, draft, &format!("Referenced schema '{}'", dep.name))?;
        out.push(ParsedDependency {
            name: dep.name.clone(),
            value,
            draft,
        });
        stack.extend(dep.dependencies.iter().rev());
    }
    Ok(out)
}

/// The base URI of a root schema: its `$id` (`id` in draft 4), else the default base.
pub(crate) fn base_uri(value: &Value, draft: Draft) -> String {
    match value.get(draft.id_keyword()).and_then(Value::as_str) {
        Some(id) if !id.starts_with('#') => {
            uri::resolve(uri::DEFAULT_BASE, uri::split_fragment(id).0)
        }
        _ => uri::DEFAULT_BASE.to_string(),
    }
}

/// The root and its dependencies as documents for the loader. A dependency is known by its
/// reference name resolved against the root's base (Confluent: `ReferenceResolver.resolve(idUri,
/// name)` in `JsonSchema.rawSchema`).
pub(crate) fn documents<'a>(
    root: &'a Value,
    draft: Draft,
    base: &str,
    dependencies: &'a [ParsedDependency],
) -> Vec<Document<'a>> {
    let mut docs = vec![Document {
        value: root,
        uri: base.to_string(),
        name: None,
        draft,
    }];
    for dep in dependencies {
        docs.push(Document {
            value: &dep.value,
            uri: uri::resolve(base, uri::split_fragment(&dep.name).0),
            name: Some(&dep.name),
            draft: dep.draft,
        });
    }
    docs
}
