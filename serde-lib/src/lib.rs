//! strata-serde: the Confluent wire format, a schema-registry client, serializers and
//! deserializers for Avro, JSON Schema and Protobuf, and a schema-validating producer and
//! consumer.
//!
//! Never depends on strata-registry: it talks to any Confluent-compatible registry over HTTP.
//!
//! - [`wire`]: the Confluent frame (magic `0x00` + id, magic `0x01` + GUID, GUID headers,
//!   Protobuf message indexes).
//! - [`client`]: [`RegistryClient`], with failover, auth and caches.
//! - [`avro`]: Avro serializers/deserializers (serde types and generic values), a writer
//!   schema compiled once per id, reader-schema resolution on read.
//! - [`json`]: JSON Schema serializers/deserializers, validating every payload.
//! - [`protobuf`]: Protobuf for prost-generated types and prost-reflect dynamic messages.
//! - [`serializer`]: the options Confluent clients name (`auto_register_schemas`,
//!   `use_latest_version`, `use_latest_with_metadata`, `use_schema_id`, `normalize_schemas`,
//!   `latest_compatibility_strict`, subject name strategies, the reference subject name
//!   strategy for Protobuf imports, prefix or header id placement) and
//!   the [`Serializer`] /
//!   [`Deserializer`] traits.
//! - [`producer`], [`consumer`]: typed [`Producer`] and [`Consumer`] over a
//!   [`transport`]: the bundled broker ([`BundledProducer`], [`BundledConsumer`]) or, with the
//!   `kafka` feature, Kafka through rdkafka (`KafkaProducer`, `KafkaConsumer`). Undecodable
//!   records follow an [`ErrorPolicy`]: fail, skip or dead-letter.
//!
//! Framing and decoding without a registry:
//!
//! ```
//! use strata_schema::{AvroSchema, FormatSchema, ParseOptions};
//! use strata_serde::wire::{self, SchemaId};
//! use strata_serde::AvroCodec;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let schema = AvroSchema::parse(
//!     r#"{"type":"record","name":"Greeting","fields":[{"name":"text","type":"string"}]}"#,
//!     &[],
//!     ParseOptions::default(),
//! )?;
//! let codec = AvroCodec::new(&schema)?;
//!
//! #[derive(serde::Serialize)]
//! struct Greeting { text: String }
//!
//! let mut bytes = Vec::new();
//! wire::write_prefix(&mut bytes, SchemaId::Id(7), None);
//! codec.encode_serde(&Greeting { text: "hi".into() }, &mut bytes)?;
//! assert_eq!(bytes, [0, 0, 0, 0, 7, 4, b'h', b'i']);
//!
//! let frame = wire::parse_prefix(&bytes, false)?;
//! assert_eq!(frame.schema, SchemaId::Id(7));
//! let value = codec.decode(frame.payload)?;
//! # let _ = value;
//! # Ok(()) }
//! ```

pub mod avro;
mod cache;
pub mod client;
pub mod consumer;
mod error;
pub mod error_code;
pub mod json;
#[cfg(feature = "kafka")]
pub mod kafka;
pub mod producer;
pub mod protobuf;
pub mod serializer;
pub mod transport;
pub mod wire;

pub use avro::{
    AvroCodec, AvroDeserializer, AvroSerializer, AvroValueDeserializer, AvroValueSerializer,
};
pub use client::{
    Auth, ClientIdentity, CompatibilityCheck, FetchedSchema, RegisteredSchema, RegistryClient,
    RegistryConfig, SchemaDef,
};
pub use consumer::{Consumer, ErrorPolicy, Message};
pub use error::{Error, Result};
pub use json::{JsonDeserializer, JsonSerializer};
#[cfg(feature = "kafka")]
pub use kafka::{KafkaConsumer, KafkaConsumerOptions, KafkaPipeline, KafkaProducer, StartAt};
pub use producer::{BytesSerde, Producer, Record, StringSerde};
pub use protobuf::{
    ProtoImport, ProtobufDeserializer, ProtobufDynamicDeserializer, ProtobufDynamicSerializer,
    ProtobufSerializer,
};
/// The HTTP method type of [`RegistryClient::call`].
pub use reqwest::Method;
pub use serializer::{
    Deserializer, ReferenceSubjectNameStrategy, SchemaIdPlacement, Serialized, Serializer,
    SerializerConfig, SubjectNameStrategy,
};
pub use transport::{
    BundledConsumer, BundledProducer, ConsumerTransport, EncodedBatch, EncodedRecord,
    ProducerTransport,
};
pub use wire::{Field, Frame, SchemaId};
