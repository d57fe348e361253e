//! The listener's settings. Every limit is named here with its default.

use std::time::Duration;

/// Settings of the Kafka listener.
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    /// Address to bind, e.g. `0.0.0.0:9092` (port 0 picks a free port).
    pub listen: String,
    /// `HOST:PORT` that Metadata and FindCoordinator return to clients; `None` means the bound
    /// address (with `0.0.0.0` replaced by `127.0.0.1`), which suits local use only.
    pub advertised_address: Option<String>,
    /// The largest request frame accepted, in bytes (Kafka's `socket.request.max.bytes`,
    /// default 100 MiB). A larger frame closes the connection.
    pub max_request_bytes: usize,
    /// The most bytes the record batches of one partition in a Produce request may
    /// decompress to (default 256 MiB); more is refused with MESSAGE_TOO_LARGE, before the
    /// memory is taken.
    pub max_uncompressed_batch_bytes: usize,
    /// Connections served at once; one more is closed on accept. Default 1,000.
    pub max_connections: usize,
    /// A connection that sends nothing for this long is closed (Kafka's
    /// `connections.max.idle.ms`, default 10 minutes).
    pub idle_timeout: Duration,
    /// Create a topic named in a Metadata request that asks for auto-creation (Kafka's
    /// `auto.create.topics.enable`, default true).
    pub auto_create_topics: bool,
    /// Partitions of an auto-created topic (Kafka's `num.partitions`, default 1).
    pub default_partitions: u32,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        KafkaConfig {
            listen: "0.0.0.0:9092".into(),
            advertised_address: None,
            max_request_bytes: 100 * 1024 * 1024,
            max_uncompressed_batch_bytes: 256 * 1024 * 1024,
            max_connections: 1000,
            idle_timeout: Duration::from_secs(600),
            auto_create_topics: true,
            default_partitions: 1,
        }
    }
}
