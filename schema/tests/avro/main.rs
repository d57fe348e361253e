//! Integration tests for the Avro side of strata-schema: compatibility rules and Confluent's
//! messages, canonical text, invalid schemas, defaults, references, normalisation and the
//! level/message-list logic. Expected texts are what Confluent 8.x (Java Avro 1.12.1 since
//! 8.0.3 / 8.1.1 / 8.2) produces, derived from its source.

mod canonical;
mod compatibility;
mod defaults;
mod invalid;
mod levels;
mod names;
mod normalize;
mod references;
mod wide;

use strata_schema::avro::AvroSchema;
use strata_schema::{Dependency, FormatSchema, ParseOptions, SchemaType};

/// Parse `text` as a new schema (defaults validated), panicking with the reason on failure.
pub fn avro(text: &str) -> AvroSchema {
    match AvroSchema::parse(text, &[], ParseOptions::default()) {
        Ok(s) => s,
        Err(e) => panic!("{text} should parse: {e}"),
    }
}

/// Parse `text` with references.
pub fn avro_with(text: &str, deps: &[Dependency]) -> AvroSchema {
    match AvroSchema::parse(text, deps, ParseOptions::default()) {
        Ok(s) => s,
        Err(e) => panic!("{text} should parse: {e}"),
    }
}

/// The reason a schema is rejected.
pub fn rejection(text: &str, options: ParseOptions) -> String {
    match AvroSchema::parse(text, &[], options) {
        Ok(s) => panic!("{text} should be rejected, got {}", s.canonical()),
        Err(strata_schema::Error::Invalid {
            schema_type,
            reason,
        }) => {
            assert_eq!(schema_type, SchemaType::Avro);
            reason
        }
        Err(other) => panic!("{text}: unexpected error kind {other:?}"),
    }
}

/// A resolved Avro reference.
pub fn dep(name: &str, schema: &str, dependencies: Vec<Dependency>) -> Dependency {
    Dependency {
        name: name.into(),
        subject: name.into(),
        version: 1,
        schema_type: SchemaType::Avro,
        schema: schema.into(),
        dependencies,
    }
}
