//! The one error type of strata-schema.

/// Result with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a schema could not be parsed or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The schema text is empty.
    #[error("Empty schema")]
    Empty,
    /// The schema type is not one of AVRO, PROTOBUF, JSON.
    #[error("Invalid schema type {0}")]
    UnknownType(String),
    /// The schema text is not a valid schema of its type; the reason says where and why.
    #[error("{reason}")]
    Invalid {
        /// The format the text was parsed as.
        schema_type: crate::SchemaType,
        /// What is wrong, in words a user can act on.
        reason: String,
    },
    /// A reference names a schema that was not supplied.
    #[error("Reference '{0}' could not be resolved; register the referenced schema first and list it in `references`")]
    MissingReference(String),
    /// An option that does not apply to this format (e.g. `format=serialized` for Avro).
    #[error("{0}")]
    Unsupported(String),
}

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(schema_type: crate::SchemaType, reason: impl Into<String>) -> Self {
        Error::Invalid {
            schema_type,
            reason: reason.into(),
        }
    }
}
