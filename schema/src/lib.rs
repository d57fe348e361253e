//! strata-schema: everything Strata knows about schemas, and nothing about I/O.
//!
//! One module per format ([`avro`], [`protobuf`], [`json`]), each implementing [`FormatSchema`]:
//! parse (with references resolved by the caller into [`Dependency`] values), the canonical text
//! that the registry stores, normalisation, and the differences that make one version unable to
//! read data written with another. [`ParsedSchema`] wraps the three behind one type, and
//! [`check_compatibility`] applies a [`CompatibilityLevel`] across a subject's history, producing
//! Confluent's verbose messages. [`guid::schema_guid`] computes Confluent's schema GUID.
//!
//! This crate does no I/O: no HTTP, no database, no files. The registry and the CLI load
//! referenced schemas and hand them in.

pub mod avro;
mod compat;
mod error;
pub mod guid;
pub mod json;
pub mod limits;
mod parsed;
pub mod protobuf;
mod types;

pub use avro::AvroSchema;
pub use compat::{check_compatibility, CompatibilityResult};
pub use error::{Error, Result};
pub use json::JsonSchema;
pub use parsed::{FormatSchema, Incompatibility, ParseOptions, ParsedSchema};
pub use protobuf::ProtobufSchema;
pub use types::{
    CompatibilityLevel, CompatibilityPolicy, Dependency, InvalidCompatibilityLevel,
    SchemaReference, SchemaType,
};
