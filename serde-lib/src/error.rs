//! The crate's one error type. Messages are sentences a user can act on; registry errors keep
//! the registry's `error_code` and message.

/// What went wrong in strata-serde.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bytes are not a Confluent-framed payload (truncated, unknown magic byte, bad
    /// message indexes).
    #[error("The payload is not in the Confluent wire format: {0}")]
    Frame(String),

    /// The registry answered with an error body.
    #[error("The schema registry refused the request (HTTP {status}, error code {error_code}): {message}")]
    Registry {
        /// HTTP status.
        status: u16,
        /// Confluent's `error_code` (e.g. 40403 schema not found, 409 incompatible).
        error_code: i32,
        /// The registry's message.
        message: String,
    },

    /// No registry URL answered: connection refused, timeout, TLS failure.
    #[error("Could not reach the schema registry ({url}): {reason}. Check the URL, the network and the TLS settings")]
    Unreachable {
        /// The last URL tried.
        url: String,
        /// Why.
        reason: String,
    },

    /// The client or serializer is misconfigured.
    #[error("Invalid configuration: {0}")]
    Config(String),

    /// A schema from the registry or the caller does not parse.
    #[error("The schema cannot be used: {0}")]
    Schema(#[from] strata_schema::Error),

    /// The registry answered with schema references that form a cycle. A registry keeps
    /// references acyclic (a version can only reference versions registered before it), so
    /// this is the registry's fault, not the value's or the payload's, whether a serializer
    /// or a deserializer met it.
    #[error(
        "The schema registry answered with schema references that form a cycle: {}. A registry \
         keeps references acyclic, so check the registry these versions come from",
        .chain.join(" -> ")
    )]
    ReferenceCycle {
        /// The referenced versions (`subject vN`) followed from the schema, ending with the
        /// one named a second time.
        chain: Vec<String>,
    },

    /// The value could not be encoded with its schema.
    #[error("Could not serialize the value: {0}")]
    Serialize(String),

    /// The payload could not be decoded with its writer schema.
    #[error("Could not deserialize the payload: {0}")]
    Deserialize(String),

    /// The value does not validate against the schema; nothing was written.
    #[error("The value does not match schema {schema}: {}", .messages.join("; "))]
    Validation {
        /// The schema's id (or subject) the value was checked against.
        schema: String,
        /// One message per violation.
        messages: Vec<String>,
    },

    /// The bundled broker failed.
    #[error("The broker failed: {0}")]
    Broker(#[from] strata_broker::Error),

    /// Kafka (rdkafka) failed.
    #[error("Kafka failed: {0}")]
    Kafka(String),

    /// A blocking task was cancelled or panicked.
    #[error("A background task failed: {0}")]
    Task(String),
}

impl Error {
    /// Transient errors (the network, HTTP 5xx) may succeed on retry and are never cached.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Unreachable { .. } => true,
            Error::Registry { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// The registry's error code, if this is a registry error.
    pub fn error_code(&self) -> Option<i32> {
        match self {
            Error::Registry { error_code, .. } => Some(*error_code),
            _ => None,
        }
    }

    /// Whether the registry refused a schema as incompatible (409 / 40901).
    pub fn is_incompatible(&self) -> bool {
        matches!(self.error_code(), Some(409) | Some(40901))
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
