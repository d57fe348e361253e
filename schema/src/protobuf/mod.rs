//! Protobuf: parsing (.proto text or base64 FileDescriptorProto), canonical text, normalisation,
//! Confluent's SchemaDiff compatibility and the message-index helpers.

use crate::{CompatibilityPolicy, Dependency, Error, FormatSchema, Incompatibility, ParseOptions, Result, SchemaType};

/// A parsed Protobuf schema.
#[derive(Debug)]
pub struct ProtobufSchema {
    canonical: String,
    dependencies: Vec<Dependency>,
}

impl FormatSchema for ProtobufSchema {
    const TYPE: SchemaType = SchemaType::Protobuf;

    fn parse(_text: &str, _dependencies: &[Dependency], _options: ParseOptions) -> Result<Self> {
        Err(Error::Unsupported("PROTOBUF schemas are not supported yet".into()))
    }
    fn canonical(&self) -> &str {
        &self.canonical
    }
    fn normalize(&self) -> Result<Self> {
        Err(Error::Unsupported("PROTOBUF schemas are not supported yet".into()))
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
