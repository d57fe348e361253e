//! JSON Schema drafts: which one a document declares through `$schema`, and the keyword
//! differences between them that parsing and comparison care about.

use serde_json::Value;

/// A JSON Schema specification version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Draft {
    /// Draft 4 (`id`, boolean `exclusiveMaximum`).
    Draft4,
    /// Draft 6.
    Draft6,
    /// Draft 7, the default when `$schema` is absent or unknown, as in Confluent.
    Draft7,
    /// Draft 2019-09 (`$defs`, `dependentRequired`, `unevaluatedProperties`, ...).
    Draft201909,
    /// Draft 2020-12 (`prefixItems`).
    Draft202012,
}

impl Draft {
    /// The draft `schema` declares through `$schema`; draft 7 when absent or unknown
    /// (Confluent: `JsonSchema.rawSchema` falls back to `SpecificationVersion.DRAFT_7`).
    pub fn detect(schema: &Value) -> Draft {
        schema
            .get("$schema")
            .and_then(Value::as_str)
            .and_then(Draft::from_meta_schema_url)
            .unwrap_or(Draft::Draft7)
    }

    /// The draft whose meta-schema URL is `url` (with or without `http(s)`, trailing `#`).
    pub fn from_meta_schema_url(url: &str) -> Option<Draft> {
        let trimmed = url.trim().trim_end_matches('#');
        let rest = trimmed
            .strip_prefix("https://")
            .or_else(|| trimmed.strip_prefix("http://"))
            .unwrap_or(trimmed);
        match rest {
            "json-schema.org/draft-04/schema" => Some(Draft::Draft4),
            "json-schema.org/draft-06/schema" => Some(Draft::Draft6),
            "json-schema.org/draft-07/schema" => Some(Draft::Draft7),
            "json-schema.org/draft/2019-09/schema" => Some(Draft::Draft201909),
            "json-schema.org/draft/2020-12/schema" => Some(Draft::Draft202012),
            _ => None,
        }
    }

    /// The keyword that carries a schema's identifier.
    pub fn id_keyword(self) -> &'static str {
        if self == Draft::Draft4 {
            "id"
        } else {
            "$id"
        }
    }

    /// Whether `$ref` is applied alongside sibling keywords (2019-09 on) instead of
    /// replacing them (up to draft 7).
    pub fn ref_has_siblings(self) -> bool {
        self >= Draft::Draft201909
    }

    /// Whether tuples are written with `prefixItems` rather than an `items` array: 2020-12,
    /// and 2019-09 too, which Confluent reads with json-sKema's 2020-12 rules.
    pub fn uses_prefix_items(self) -> bool {
        self >= Draft::Draft201909
    }

    /// Whether `dependentRequired`/`dependentSchemas` replace `dependencies`.
    pub fn uses_dependent_keywords(self) -> bool {
        self >= Draft::Draft201909
    }

    /// Whether `exclusiveMaximum`/`exclusiveMinimum` are numbers (draft 6 on), not flags.
    pub fn numeric_exclusive_bounds(self) -> bool {
        self >= Draft::Draft6
    }

    /// The matching draft of the `jsonschema` crate, used for payload validation.
    pub(crate) fn to_validator_draft(self) -> jsonschema::Draft {
        match self {
            Draft::Draft4 => jsonschema::Draft::Draft4,
            Draft::Draft6 => jsonschema::Draft::Draft6,
            Draft::Draft7 => jsonschema::Draft::Draft7,
            Draft::Draft201909 => jsonschema::Draft::Draft201909,
            Draft::Draft202012 => jsonschema::Draft::Draft202012,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn detect_reads_every_supported_meta_schema_url() {
        let cases = [
            ("http://json-schema.org/draft-04/schema#", Draft::Draft4),
            ("http://json-schema.org/draft-06/schema#", Draft::Draft6),
            ("http://json-schema.org/draft-07/schema", Draft::Draft7),
            (
                "https://json-schema.org/draft/2019-09/schema",
                Draft::Draft201909,
            ),
            (
                "https://json-schema.org/draft/2020-12/schema",
                Draft::Draft202012,
            ),
        ];
        for (url, draft) in cases {
            assert_eq!(Draft::detect(&json!({ "$schema": url })), draft, "{url}");
        }
    }

    #[test]
    fn detect_defaults_to_draft_7_like_confluent() {
        assert_eq!(Draft::detect(&json!({})), Draft::Draft7);
        assert_eq!(
            Draft::detect(&json!({"$schema": "urn:unknown"})),
            Draft::Draft7
        );
        assert_eq!(Draft::detect(&json!(true)), Draft::Draft7);
    }
}
