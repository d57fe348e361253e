//! JSON Schema: parsing (drafts 4 to 2020-12), canonical text, normalisation,
//! Confluent's SchemaDiff compatibility (STRICT and LENIENT).

use crate::{CompatibilityPolicy, Dependency, Error, FormatSchema, Incompatibility, ParseOptions, Result, SchemaType};

/// A parsed JSON schema.
#[derive(Debug)]
pub struct JsonSchema {
    canonical: String,
    dependencies: Vec<Dependency>,
}

impl FormatSchema for JsonSchema {
    const TYPE: SchemaType = SchemaType::Json;

    fn parse(_text: &str, _dependencies: &[Dependency], _options: ParseOptions) -> Result<Self> {
        Err(Error::Unsupported("JSON schemas are not supported yet".into()))
    }
    fn canonical(&self) -> &str {
        &self.canonical
    }
    fn normalize(&self) -> Result<Self> {
        Err(Error::Unsupported("JSON schemas are not supported yet".into()))
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
