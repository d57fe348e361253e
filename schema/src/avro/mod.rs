//! Avro: parsing, canonical text, normalisation and reader/writer compatibility, each following
//! what Confluent Schema Registry 8.x does with the Java Avro it ships (1.12.1 since 8.0.3,
//! 8.1.1 and 8.2; new schemas get 1.12.1's strict rules, stored ones load as before).
//!
//! - `parse`: our own model and parser, Java's `Schema.Parser` rule for rule.
//! - `canonical`: `Schema.toString(referencedSchemas, false)`, the stored text.
//! - `normalize`: Confluent's `AvroSchemaUtils.toNormalizedString`.
//! - `compat`: Java's `SchemaCompatibility`, rendered as Confluent's `Difference`.
//! - `default`: default-value validation and Java's value conversion.
//! - `jackson`: JSON bytes as Jackson writes them.
//!
//! This module owns Avro semantics only: no I/O; referenced schemas arrive as [`Dependency`]
//! values resolved by the caller.

mod canonical;
mod compat;
mod default;
mod jackson;
mod model;
mod normalize;
mod parse;

use std::collections::HashSet;

use crate::{
    CompatibilityPolicy, Dependency, Error, FormatSchema, Incompatibility, ParseOptions, Result,
    SchemaType,
};

use model::{Model, Node, NodeId};

/// A parsed, validated Avro schema with its references resolved. Immutable; share it behind an
/// `Arc`.
///
/// ```
/// use strata_schema::{AvroSchema, CompatibilityPolicy, FormatSchema, ParseOptions};
///
/// let old = AvroSchema::parse(
///     r#"{"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]}"#,
///     &[],
///     ParseOptions::default(),
/// )?;
/// assert_eq!(old.canonical(), r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}"#);
///
/// let new = AvroSchema::parse(
///     r#"{"type": "record", "name": "R", "fields": [{"name": "a", "type": "long"}]}"#,
///     &[],
///     ParseOptions::default(),
/// )?;
/// // int is promoted to long, so the new schema reads old data.
/// assert!(new.backward_differences(&old, CompatibilityPolicy::Strict).is_empty());
/// # Ok::<(), strata_schema::Error>(())
/// ```
#[derive(Debug)]
pub struct AvroSchema {
    model: Model,
    root: NodeId,
    canonical: String,
    dependencies: Vec<Dependency>,
    /// Full names of the referenced schemas' top-level types: written by name, never inlined.
    referenced: Vec<String>,
    validate_as_new: bool,
}

impl AvroSchema {
    /// The schema with every referenced type inlined (Java's plain `Schema.toString()`, what
    /// Confluent returns for `format=resolved`).
    pub fn resolved(&self) -> String {
        let mut out = String::new();
        canonical::write_inline(&self.model, self.root, &mut out);
        out
    }

    /// The differences that stop `self` (reader) from reading data written with `writer`, with
    /// Confluent's `%s` roles filled by `reader_role` and `writer_role` (Confluent passes
    /// `"new"`/`"old"` for the backward direction and `"old"`/`"new"` for the forward one).
    pub fn differences_with_roles(
        &self,
        writer: &AvroSchema,
        reader_role: &str,
        writer_role: &str,
    ) -> Vec<Incompatibility> {
        match compat::check(&self.model, self.root, &writer.model, writer.root) {
            Ok(found) => found
                .iter()
                .map(|i| compat::render(i, reader_role, writer_role))
                .collect(),
            // Confluent catches the exception and reports it as a single message.
            Err(e) => vec![compat::unexpected(&e)],
        }
    }
}

/// Referenced schemas in the order Confluent parses them: each one after its own references,
/// each reference name once.
fn flatten<'a>(deps: &'a [Dependency], seen: &mut HashSet<&'a str>, out: &mut Vec<&'a Dependency>) {
    for d in deps {
        if !seen.insert(d.name.as_str()) {
            continue;
        }
        flatten(&d.dependencies, seen, out);
        out.push(d);
    }
}

impl FormatSchema for AvroSchema {
    const TYPE: SchemaType = SchemaType::Avro;

    fn parse(text: &str, dependencies: &[Dependency], options: ParseOptions) -> Result<Self> {
        let mut model = Model::default();
        let mut referenced = Vec::new();
        let mut flat = Vec::new();
        flatten(dependencies, &mut HashSet::new(), &mut flat);
        let root = {
            // Confluent's AvroSchema parses the referenced schemas into the same parser first,
            // with the same default validation as the schema itself.
            let mut parser = parse::Parser::new(&mut model, options.validate_as_new);
            for dep in flat {
                let id = parser.parse(&dep.schema).map_err(|e| {
                    Error::invalid(
                        SchemaType::Avro,
                        format!(
                            "Referenced schema '{}' (subject '{}', version {}) is invalid: {e}",
                            dep.name, dep.subject, dep.version
                        ),
                    )
                })?;
                referenced.push(id);
            }
            parser
                .parse(text)
                .map_err(|e| Error::invalid(SchemaType::Avro, e))?
        };
        let referenced: Vec<String> = referenced
            .into_iter()
            .filter_map(|id| model.node(id).name().map(|n| n.full.clone()))
            .collect();
        let mut known: HashSet<String> = referenced.iter().cloned().collect();
        let mut canonical = String::new();
        canonical::write(&model, root, &mut known, None, &mut canonical);
        Ok(AvroSchema {
            model,
            root,
            canonical,
            dependencies: dependencies.to_vec(),
            referenced,
            validate_as_new: options.validate_as_new,
        })
    }

    fn canonical(&self) -> &str {
        &self.canonical
    }

    fn normalize(&self) -> Result<Self> {
        // Confluent re-parses its normalised text (with the same references and validation), so
        // the stored form is the canonical text of that re-parse.
        let text = normalize::normalized_text(&self.model, self.root, &self.referenced);
        AvroSchema::parse(
            &text,
            &self.dependencies,
            ParseOptions {
                validate_as_new: self.validate_as_new,
            },
        )
    }

    fn backward_differences(
        &self,
        writer: &Self,
        _policy: CompatibilityPolicy,
    ) -> Vec<Incompatibility> {
        self.differences_with_roles(writer, "new", "old")
    }

    fn formatted(&self, format: &str) -> Result<String> {
        // Confluent's AvroSchema.formattedString: `resolved` inlines referenced types.
        match format {
            "resolved" => Ok(self.resolved()),
            other => Err(Error::Unsupported(format!(
                "Unsupported format '{other}' for AVRO schemas; use 'resolved'"
            ))),
        }
    }

    fn record_name(&self) -> Option<String> {
        // Confluent's AvroSchema.name(): only a record (or error) has a name here; a top-level
        // enum or fixed gives null, and the record name strategies then fail.
        match self.model.node(self.root) {
            Node::Record { name, .. } => Some(name.full.clone()),
            _ => None,
        }
    }

    fn dependencies(&self) -> &[Dependency] {
        &self.dependencies
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> AvroSchema {
        AvroSchema::parse(text, &[], ParseOptions::default()).expect("schema parses")
    }

    #[test]
    fn a_primitive_canonicalises_to_its_name() {
        assert_eq!(parse(r#"{"type": "string"}"#).canonical(), r#""string""#);
    }

    #[test]
    fn record_name_is_the_full_name_of_a_top_level_record() {
        let s = parse(r#"{"type":"record","name":"R","namespace":"a.b","fields":[]}"#);
        assert_eq!(s.record_name().as_deref(), Some("a.b.R"));
        assert_eq!(parse(r#""int""#).record_name(), None);
    }

    #[test]
    fn a_missing_field_without_default_is_reported_as_confluent_does() {
        let old = parse(r#"{"type":"record","name":"R","fields":[{"name":"f1","type":"int"}]}"#);
        let new = parse(
            r#"{"type":"record","name":"R","fields":[{"name":"f1","type":"int"},{"name":"f2","type":"string"}]}"#,
        );
        let diffs = new.backward_differences(&old, CompatibilityPolicy::Strict);
        assert_eq!(diffs.len(), 1);
        assert_eq!(
            diffs[0].message,
            "{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'f2' at path '/fields/1' in the new schema has no default value and is missing in the old schema', additionalInfo:'f2'}"
        );
        assert_eq!(diffs[0].path, "/fields/1");
    }
}
