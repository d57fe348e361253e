//! Avro: parsing, canonical text, normalisation and reader/writer
//! compatibility following Java Avro's SchemaCompatibility.

use crate::{CompatibilityPolicy, Dependency, Error, FormatSchema, Incompatibility, ParseOptions, Result, SchemaType};

/// A parsed Avro schema.
#[derive(Debug)]
pub struct AvroSchema {
    canonical: String,
    dependencies: Vec<Dependency>,
}

impl FormatSchema for AvroSchema {
    const TYPE: SchemaType = SchemaType::Avro;

    fn parse(_text: &str, _dependencies: &[Dependency], _options: ParseOptions) -> Result<Self> {
        Err(Error::Unsupported("AVRO schemas are not supported yet".into()))
    }
    fn canonical(&self) -> &str {
        &self.canonical
    }
    fn normalize(&self) -> Result<Self> {
        Err(Error::Unsupported("AVRO schemas are not supported yet".into()))
    }
    fn backward_differences(&self, _writer: &Self, _policy: CompatibilityPolicy) -> Vec<Incompatibility> {
        Vec::new()
    }
    fn record_name(&self) -> Option<String> {
        None
    }
    fn dependencies(&self) -> &[Dependency] {
        &self.dependencies
    }
}
