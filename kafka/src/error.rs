//! Errors of the Kafka front end: starting the listener, and why a connection was closed.

/// What can go wrong starting or serving the Kafka listener.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The listen address could not be bound.
    #[error("could not listen for Kafka clients on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// `--kafka-advertised-address` is not `HOST:PORT`.
    #[error(
        "`{0}` is not a valid advertised address; give HOST:PORT, e.g. kafka.example.com:9092"
    )]
    AdvertisedAddress(String),
    /// The bundled broker failed.
    #[error(transparent)]
    Broker(#[from] strata_broker::Error),
    /// The idempotent producers' journal (`<log-dir>/kafka/producers.journal`) could not be
    /// read or written.
    #[error("could not open the idempotent producers' journal in the log directory: {0}")]
    ProducerJournal(#[source] std::io::Error),
}

/// This crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why the server closed a connection (logged, never sent: Kafka has no way to say it).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Closed {
    #[error(
        "the request frame is {size} bytes, over the limit of {max} bytes (max_request_bytes)"
    )]
    TooLarge { size: i64, max: usize },
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("API key {0} is not served by this broker")]
    UnknownApi(i16),
    #[error("version {version} of {api} is not supported (supported: {min} to {max})")]
    UnsupportedVersion {
        api: &'static str,
        version: i16,
        min: i16,
        max: i16,
    },
    #[error("idle for longer than {0:?}")]
    Idle(std::time::Duration),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

/// Kafka's error codes used by this server (from Kafka's `Errors` enum).
pub(crate) mod code {
    pub const NONE: i16 = 0;
    pub const UNKNOWN_SERVER_ERROR: i16 = -1;
    pub const OFFSET_OUT_OF_RANGE: i16 = 1;
    pub const CORRUPT_MESSAGE: i16 = 2;
    pub const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
    pub const MESSAGE_TOO_LARGE: i16 = 10;
    pub const INVALID_TOPIC_EXCEPTION: i16 = 17;
    pub const INVALID_REQUIRED_ACKS: i16 = 21;
    pub const INVALID_GROUP_ID: i16 = 24;
    pub const UNSUPPORTED_VERSION: i16 = 35;
    pub const COORDINATOR_NOT_AVAILABLE: i16 = 15;
    pub const KAFKA_STORAGE_ERROR: i16 = 56;
    pub const INVALID_RECORD: i16 = 87;
}

/// The Kafka error code for a broker error. Server-side failures are logged here, once.
pub(crate) fn broker_error_code(e: &strata_broker::Error) -> i16 {
    use strata_broker::Error as E;
    match e {
        E::UnknownTopic { .. } | E::UnknownPartition { .. } => code::UNKNOWN_TOPIC_OR_PARTITION,
        E::InvalidTopicName { .. } => code::INVALID_TOPIC_EXCEPTION,
        E::RecordTooLarge { .. } => code::MESSAGE_TOO_LARGE,
        E::InvalidRecord { .. } => code::INVALID_RECORD,
        E::OffsetOutOfRange { .. } => code::OFFSET_OUT_OF_RANGE,
        E::DiskFull { .. } | E::Io { .. } | E::Corrupt { .. } | E::Directory { .. } => {
            tracing::error!(error = %e, "the bundled broker failed a Kafka request");
            code::KAFKA_STORAGE_ERROR
        }
        other => {
            tracing::error!(error = %other, "the bundled broker failed a Kafka request");
            code::UNKNOWN_SERVER_ERROR
        }
    }
}
