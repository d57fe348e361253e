//! [`FormatSchema`], the interface every format implements, and [`ParsedSchema`], the one type
//! the registry, the serde library and the CLI hold.

use std::fmt;

use crate::{
    avro::AvroSchema, json::JsonSchema, protobuf::ProtobufSchema, CompatibilityPolicy, Dependency,
    Result, SchemaType,
};

/// Options for parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseOptions {
    /// Validate as a schema being registered now (Avro: field defaults must match their type).
    /// Schemas already stored are parsed leniently, as Confluent does.
    pub validate_as_new: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            validate_as_new: true,
        }
    }
}

/// One difference that makes a reader schema unable to read data written with a writer schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incompatibility {
    /// Confluent's error/difference type, e.g. `READER_FIELD_MISSING_DEFAULT_VALUE`,
    /// `FIELD_KIND_CHANGED`, `TYPE_NARROWED`.
    pub kind: String,
    /// Where: Avro a JSON pointer (`/fields/1/type`), Protobuf `#/Message/3`, JSON `#/properties/a`.
    pub path: String,
    /// The entry exactly as Confluent renders it in verbose messages and 409 details, e.g.
    /// `{errorType:'TYPE_MISMATCH', description:'...', additionalInfo:'...'}`.
    pub message: String,
}

/// What a format module implements. `Self` is a parsed, validated schema with its references
/// resolved; it is immutable and cheap to share behind an `Arc`.
pub trait FormatSchema: Sized + Send + Sync + fmt::Debug {
    /// The format.
    const TYPE: SchemaType;

    /// Parse and validate `text`, resolving references through `dependencies`.
    fn parse(text: &str, dependencies: &[Dependency], options: ParseOptions) -> Result<Self>;

    /// The canonical text stored by the registry and returned to clients (Confluent's
    /// `canonicalString()`: Avro compact JSON, Protobuf re-printed .proto, JSON compact JSON).
    fn canonical(&self) -> &str;

    /// The normalised form (`normalize=true`): schemas that differ only in ways the format
    /// ignores normalise to the same text.
    fn normalize(&self) -> Result<Self>;

    /// The differences that stop `self` (the reader, e.g. the new schema under BACKWARD) from
    /// reading data written with `writer`. Empty means compatible.
    fn backward_differences(
        &self,
        writer: &Self,
        policy: CompatibilityPolicy,
    ) -> Vec<Incompatibility>;

    /// The fully-qualified name used by the Record subject name strategies (Avro: the named
    /// type's full name; Protobuf: `package.FirstMessage`; JSON: `title`), if any.
    fn record_name(&self) -> Option<String>;

    /// The dependencies this schema was parsed with.
    fn dependencies(&self) -> &[Dependency];

    /// The schema text in a named `format` (Confluent's `format` query parameter, e.g.
    /// Protobuf's `serialized`). Formats a type does not know are refused.
    fn formatted(&self, format: &str) -> Result<String> {
        Err(crate::Error::Unsupported(format!(
            "Unsupported format '{format}' for {} schemas",
            Self::TYPE
        )))
    }
}

/// A parsed schema of any format.
#[derive(Debug)]
pub enum ParsedSchema {
    /// Avro.
    Avro(AvroSchema),
    /// Protobuf.
    Protobuf(ProtobufSchema),
    /// JSON Schema.
    Json(JsonSchema),
}

macro_rules! dispatch {
    ($self:expr, $s:ident => $e:expr) => {
        match $self {
            ParsedSchema::Avro($s) => $e,
            ParsedSchema::Protobuf($s) => $e,
            ParsedSchema::Json($s) => $e,
        }
    };
}

impl ParsedSchema {
    /// Parse `text` as `schema_type`, refusing schemas nested deeper than
    /// [`crate::limits::DEFAULT_MAX_NESTING_DEPTH`].
    pub fn parse(
        schema_type: SchemaType,
        text: &str,
        dependencies: &[Dependency],
        options: ParseOptions,
    ) -> Result<Self> {
        Self::parse_with_limits(
            schema_type,
            text,
            dependencies,
            options,
            crate::limits::TextLimits::default(),
        )
    }

    /// [`ParsedSchema::parse`] with other text limits. With a nesting limit above the default,
    /// call it only on a thread whose stack is large enough (the registry's schema work pool).
    pub fn parse_with_limits(
        schema_type: SchemaType,
        text: &str,
        dependencies: &[Dependency],
        options: ParseOptions,
        limits: crate::limits::TextLimits,
    ) -> Result<Self> {
        if text.trim().is_empty() {
            return Err(crate::Error::Empty);
        }
        // Bound before recursing: every parser below recurses over the nesting.
        crate::limits::check_text(schema_type, text, dependencies, limits)?;
        Ok(match schema_type {
            SchemaType::Avro => ParsedSchema::Avro(AvroSchema::parse(text, dependencies, options)?),
            SchemaType::Protobuf => {
                ParsedSchema::Protobuf(ProtobufSchema::parse(text, dependencies, options)?)
            }
            SchemaType::Json => ParsedSchema::Json(JsonSchema::parse(text, dependencies, options)?),
        })
    }

    /// The format.
    pub fn schema_type(&self) -> SchemaType {
        match self {
            ParsedSchema::Avro(_) => SchemaType::Avro,
            ParsedSchema::Protobuf(_) => SchemaType::Protobuf,
            ParsedSchema::Json(_) => SchemaType::Json,
        }
    }

    /// See [`FormatSchema::canonical`].
    pub fn canonical(&self) -> &str {
        dispatch!(self, s => s.canonical())
    }

    /// See [`FormatSchema::normalize`].
    pub fn normalize(&self) -> Result<Self> {
        Ok(match self {
            ParsedSchema::Avro(s) => ParsedSchema::Avro(s.normalize()?),
            ParsedSchema::Protobuf(s) => ParsedSchema::Protobuf(s.normalize()?),
            ParsedSchema::Json(s) => ParsedSchema::Json(s.normalize()?),
        })
    }

    /// See [`FormatSchema::record_name`].
    pub fn record_name(&self) -> Option<String> {
        dispatch!(self, s => s.record_name())
    }

    /// See [`FormatSchema::formatted`].
    pub fn formatted(&self, format: &str) -> Result<String> {
        dispatch!(self, s => s.formatted(format))
    }

    /// See [`FormatSchema::dependencies`].
    pub fn dependencies(&self) -> &[Dependency] {
        dispatch!(self, s => s.dependencies())
    }

    /// The differences that stop `self` (reader) from reading data written with `writer`.
    /// Schemas of different types get Confluent's single message for that case.
    pub fn backward_differences(
        &self,
        writer: &ParsedSchema,
        policy: CompatibilityPolicy,
    ) -> Vec<Incompatibility> {
        match (self, writer) {
            (ParsedSchema::Avro(r), ParsedSchema::Avro(w)) => r.backward_differences(w, policy),
            (ParsedSchema::Protobuf(r), ParsedSchema::Protobuf(w)) => {
                r.backward_differences(w, policy)
            }
            (ParsedSchema::Json(r), ParsedSchema::Json(w)) => r.backward_differences(w, policy),
            _ => vec![Incompatibility {
                kind: "TYPE_MISMATCH".into(),
                path: String::new(),
                // Confluent: AbstractSchemaRegistry / CompatibilityChecker.
                message: "Incompatible because of different schema type".into(),
            }],
        }
    }
}
