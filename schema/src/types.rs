//! Small typed values shared by every format: schema type, compatibility level and policy,
//! references. Built only through `FromStr` at the edge.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The three schema formats Confluent's registry speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum SchemaType {
    /// Apache Avro (the default when `schemaType` is absent).
    #[default]
    Avro,
    /// Protocol Buffers (proto2 and proto3).
    Protobuf,
    /// JSON Schema (drafts 4 to 2020-12).
    Json,
}

impl SchemaType {
    /// The name used on the wire: `AVRO`, `PROTOBUF`, `JSON`.
    pub fn as_str(self) -> &'static str {
        match self {
            SchemaType::Avro => "AVRO",
            SchemaType::Protobuf => "PROTOBUF",
            SchemaType::Json => "JSON",
        }
    }

    /// All types, in the order `/schemas/types` lists them.
    pub const ALL: [SchemaType; 3] = [SchemaType::Avro, SchemaType::Json, SchemaType::Protobuf];
}

impl fmt::Display for SchemaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SchemaType {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "AVRO" => Ok(SchemaType::Avro),
            "PROTOBUF" => Ok(SchemaType::Protobuf),
            "JSON" => Ok(SchemaType::Json),
            _ => Err(crate::Error::UnknownType(s.to_string())),
        }
    }
}

/// A subject's compatibility level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CompatibilityLevel {
    /// No check.
    None,
    /// The new schema reads data written with the latest version.
    #[default]
    Backward,
    /// ... with every live version.
    BackwardTransitive,
    /// The latest version reads data written with the new schema.
    Forward,
    /// Every live version reads data written with the new schema.
    ForwardTransitive,
    /// Backward and forward against the latest version.
    Full,
    /// Backward and forward against every live version.
    FullTransitive,
}

impl CompatibilityLevel {
    /// The upper-case name Confluent uses.
    pub fn as_str(self) -> &'static str {
        match self {
            CompatibilityLevel::None => "NONE",
            CompatibilityLevel::Backward => "BACKWARD",
            CompatibilityLevel::BackwardTransitive => "BACKWARD_TRANSITIVE",
            CompatibilityLevel::Forward => "FORWARD",
            CompatibilityLevel::ForwardTransitive => "FORWARD_TRANSITIVE",
            CompatibilityLevel::Full => "FULL",
            CompatibilityLevel::FullTransitive => "FULL_TRANSITIVE",
        }
    }

    /// Whether every live version is compared, not only the latest.
    pub fn is_transitive(self) -> bool {
        matches!(
            self,
            CompatibilityLevel::BackwardTransitive
                | CompatibilityLevel::ForwardTransitive
                | CompatibilityLevel::FullTransitive
        )
    }

    /// Whether the new schema must read old data.
    pub fn checks_backward(self) -> bool {
        matches!(
            self,
            CompatibilityLevel::Backward
                | CompatibilityLevel::BackwardTransitive
                | CompatibilityLevel::Full
                | CompatibilityLevel::FullTransitive
        )
    }

    /// Whether old schemas must read new data.
    pub fn checks_forward(self) -> bool {
        matches!(
            self,
            CompatibilityLevel::Forward
                | CompatibilityLevel::ForwardTransitive
                | CompatibilityLevel::Full
                | CompatibilityLevel::FullTransitive
        )
    }
}

impl fmt::Display for CompatibilityLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The level name was not one of Confluent's seven (case-insensitive).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive")]
pub struct InvalidCompatibilityLevel;

impl FromStr for CompatibilityLevel {
    type Err = InvalidCompatibilityLevel;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Confluent's CompatibilityLevel.forName is case-insensitive.
        Ok(match s.trim().to_ascii_uppercase().as_str() {
            "NONE" => CompatibilityLevel::None,
            "BACKWARD" => CompatibilityLevel::Backward,
            "BACKWARD_TRANSITIVE" => CompatibilityLevel::BackwardTransitive,
            "FORWARD" => CompatibilityLevel::Forward,
            "FORWARD_TRANSITIVE" => CompatibilityLevel::ForwardTransitive,
            "FULL" => CompatibilityLevel::Full,
            "FULL_TRANSITIVE" => CompatibilityLevel::FullTransitive,
            _ => return Err(InvalidCompatibilityLevel),
        })
    }
}

/// How strictly JSON Schema changes are judged (`compatibilityPolicy`, Confluent 8.2+).
/// Avro and Protobuf ignore it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CompatibilityPolicy {
    /// Confluent's default rule set.
    #[default]
    Strict,
    /// Confluent's `COMPATIBLE_CHANGES_LENIENT` additions allowed.
    Lenient,
}

impl CompatibilityPolicy {
    /// The upper-case name Confluent uses.
    pub fn as_str(self) -> &'static str {
        match self {
            CompatibilityPolicy::Strict => "STRICT",
            CompatibilityPolicy::Lenient => "LENIENT",
        }
    }
}

impl FromStr for CompatibilityPolicy {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "STRICT" => Ok(CompatibilityPolicy::Strict),
            "LENIENT" => Ok(CompatibilityPolicy::Lenient),
            other => Err(crate::Error::Unsupported(format!(
                "Invalid compatibility policy '{other}'. Valid values are STRICT and LENIENT"
            ))),
        }
    }
}

/// A reference from one schema to a schema registered under another subject, as it appears in
/// Confluent's request and response bodies.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SchemaReference {
    /// Avro: the referenced named type's full name; Protobuf: the import path; JSON: the `$ref` URL.
    pub name: String,
    /// The subject the referenced schema is registered under.
    pub subject: String,
    /// The referenced version of that subject.
    pub version: i32,
}

/// A referenced schema, resolved by the caller (the registry loads the subject version, the CLI
/// reads a file), with its own references resolved recursively.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Dependency {
    /// The reference name (see [`SchemaReference::name`]).
    pub name: String,
    /// Subject and version the text came from (the CLI uses the file name and 0 offline).
    pub subject: String,
    /// See `subject`.
    pub version: i32,
    /// The referenced schema's format.
    pub schema_type: SchemaType,
    /// The referenced schema's text.
    pub schema: String,
    /// Its own references.
    pub dependencies: Vec<Dependency>,
}
