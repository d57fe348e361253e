//! strata-kafka: a Kafka wire-protocol front end over Strata's bundled broker (strata-broker),
//! so that any Kafka client (librdkafka and the clients built on it, kcat, …) can produce to and
//! fetch from the same log directory the `strata` CLI and strata-serde's bundled transport use.
//!
//! It owns the network side only: framing, limits, request dispatch and the translation between
//! Kafka messages and strata-broker calls. Message codecs come from the `kafka-protocol` crate
//! (generated from Kafka's own message definitions); nothing here encodes a message by hand. It
//! knows nothing of schemas: broker-side validation comes in through [`ProduceValidator`], which
//! the caller passes in, so that this crate never depends on the registry.
//!
//! ```no_run
//! # async fn run() -> Result<(), strata_kafka::Error> {
//! let broker = strata_broker::Broker::open_or_create("/tmp/strata-log")?;
//! let server = strata_kafka::KafkaServer::build(broker, strata_kafka::KafkaConfig::default()).await?;
//! println!("Kafka listener on {}", server.local_addr());
//! server.run_until(std::future::pending()).await;
//! # Ok(()) }
//! ```
//!
//! # What is served
//!
//! One broker (node id 0) that leads every partition. ApiVersions, Metadata, Produce, Fetch,
//! ListOffsets, FindCoordinator, OffsetCommit, OffsetFetch, the classic group protocol
//! (JoinGroup, SyncGroup, Heartbeat, LeaveGroup), InitProducerId for idempotent producers
//! (not transactions) and the admin APIs CreateTopics, DeleteTopics, CreatePartitions,
//! DescribeConfigs, IncrementalAlterConfigs, AlterConfigs, DeleteRecords, ListGroups,
//! DescribeGroups and DeleteGroups, at the versions in [`SUPPORTED_APIS`];
//! nothing else is advertised. Requests on one connection are answered in
//! order, one at a time, as Kafka does.
//!
//! # Untrusted input
//!
//! A frame longer than [`KafkaConfig::max_request_bytes`], a frame that does not decode, an API
//! key this server does not serve or a version outside the advertised range (other than
//! ApiVersions, which answers UNSUPPORTED_VERSION as Kafka does) closes that connection with a
//! log line; the process and other connections carry on. Connections are bounded in number
//! ([`KafkaConfig::max_connections`]) and idle time ([`KafkaConfig::idle_timeout`]).

#![forbid(unsafe_code)]

mod admin;
mod alter_configs;
mod api_versions;
mod config;
mod coordinator;
mod decompress;
mod delete_groups;
mod error;
mod fetch;
mod frame;
mod group_offsets;
mod groups;
mod idempotence;
mod list_offsets;
mod metadata;
mod produce;
mod server;
mod validate;

pub use crate::api_versions::SUPPORTED_APIS;
pub use crate::config::KafkaConfig;
pub use crate::error::{Error, Result};
pub use crate::server::KafkaServer;
pub use crate::validate::{InvalidRecord, ProduceValidator, RecordToValidate};
